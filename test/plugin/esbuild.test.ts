import { readdirSync } from 'node:fs'
import { join } from 'node:path'
import { build } from 'esbuild'
import asyncify from 'unplugin-asyncify/esbuild'
import { describe, expect, test } from 'vitest'
import { appOptions, expectedResult, makeApp, runMain } from './helpers.js'

describe('esbuild', () => {
  test('an app built by esbuild runs its async wasm imports in Node', async () => {
    const dir = makeApp('esbuild')
    await build({
      entryPoints: [join(dir, 'main.js')],
      bundle: true,
      format: 'esm',
      platform: 'node',
      outdir: join(dir, 'dist'),
      absWorkingDir: dir,
      logLevel: 'silent',
      plugins: [asyncify(appOptions())],
    })
    expect(readdirSync(join(dir, 'dist'))).toEqual(expect.arrayContaining([expect.stringMatching(/^app-.+\.wasm$/), expect.stringMatching(/^other-.+\.wasm$/)]))
    expect(await runMain(join(dir, 'dist/main.js'))).toEqual(expectedResult())
  })
})
