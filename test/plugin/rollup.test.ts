import { join } from 'node:path'
import { rollup } from 'rollup'
import asyncify from 'unplugin-asyncify/rollup'
import { describe, expect, test } from 'vitest'
import { appOptions, expectedResult, makeApp, runMain } from './helpers.js'

describe('rollup', () => {
  test('an app built by Rollup runs its async wasm imports in Node', async () => {
    const dir = makeApp('rollup')
    const bundle = await rollup({ input: join(dir, 'main.js'), plugins: [asyncify(appOptions())] })
    const { output } = await bundle.write({ dir: join(dir, 'dist'), format: 'es' })
    await bundle.close()
    const assets = output.filter((file) => file.type === 'asset').map((file) => file.fileName)
    expect(assets).toEqual(expect.arrayContaining([expect.stringMatching(/^assets\/app-.+\.wasm$/), expect.stringMatching(/^assets\/other-.+\.wasm$/)]))
    expect(await runMain(join(dir, 'dist/main.js'))).toEqual(expectedResult())
  })
})
