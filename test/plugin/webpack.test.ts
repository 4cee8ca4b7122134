import { describe, expect, test } from 'vitest'
import { bundlers } from './bundlers.js'
import { appOptions, makeApp, runMain } from './helpers.js'

describe.each(['webpack', 'rspack'] as const)('%s', (name) => {
  test('experiments.asyncWebAssembly keeps loading the modules the plugin does not claim', async () => {
    const dir = makeApp(`coexist-${name}`)
    const bundle = await bundlers[name](dir, 'webpack-coexist', appOptions(), { experiments: { asyncWebAssembly: true } })
    expect(await runMain(bundle)).toEqual({ triple: 42, run: 0 * 1 + 1 * 2 + 2 * 3 })
  })
})
