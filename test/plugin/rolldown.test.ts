import { join } from 'node:path'
import { rolldown } from 'rolldown'
import asyncify from 'unplugin-asyncify/rolldown'
import { describe, expect, test } from 'vitest'
import { appOptions, expectedResult, makeApp, runMain } from './helpers.js'

describe('rolldown', () => {
  test('an app built by Rolldown runs its async wasm imports in Node', async () => {
    const dir = makeApp('rolldown')
    const bundle = await rolldown({ input: join(dir, 'main.js'), plugins: [asyncify(appOptions())] })
    const { output } = await bundle.write({ dir: join(dir, 'dist'), format: 'es' })
    await bundle.close()
    const assets = output.filter((file) => file.type === 'asset').map((file) => file.fileName)
    expect(assets).toEqual(expect.arrayContaining([expect.stringMatching(/app-.+\.wasm$/), expect.stringMatching(/other-.+\.wasm$/)]))
    expect(await runMain(join(dir, 'dist/main.js'))).toEqual(expectedResult())
  })
})
