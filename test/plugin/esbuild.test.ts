/*
 * esbuild's own asset model for the builds of a module: its file loader
 * names, places and addresses them (entryNames, assetNames, outbase,
 * publicPath), and lists them in `outputFiles` and the metafile, also with
 * `write: false`.
 */
import { build, type BuildOptions } from 'esbuild'
import { existsSync, readdirSync } from 'node:fs'
import { basename, join } from 'node:path'
import esbuildPlugin from 'unplugin-asyncify/esbuild'
import { describe, expect, test } from 'vitest'
import { appOptions, expectedResult, jspiNode, makeApp, runMain } from './helpers.js'

function options(dir: string, extra: BuildOptions): BuildOptions {
  return {
    entryPoints: [join(dir, 'main.js')],
    bundle: true,
    format: 'esm',
    platform: 'node',
    absWorkingDir: dir,
    logLevel: 'silent',
    plugins: [esbuildPlugin(appOptions())],
    ...extra,
  }
}

describe('esbuild assets', () => {
  test('entryNames and assetNames in subdirectories: the bundle finds its builds wherever esbuild put them', async () => {
    const dir = makeApp('esbuild-names')
    await build(options(dir, { outdir: join(dir, 'dist'), entryNames: 'js/[name]', assetNames: 'wasm/[name]-[hash]' }))
    expect(readdirSync(join(dir, 'dist/wasm')).sort()).toEqual([
      expect.stringMatching(/^app-\w+\.wasm$/),
      expect.stringMatching(/^app\.jspi-\w+\.wasm$/),
      expect.stringMatching(/^other-\w+\.wasm$/),
      expect.stringMatching(/^other\.jspi-\w+\.wasm$/),
    ])
    expect(await runMain(join(dir, 'dist/js/main.js'))).toEqual(expectedResult())
    expect(await runMain(join(dir, 'dist/js/main.js'), jspiNode)).toEqual(expectedResult())
  })

  test('write: false writes nothing, and the builds are in outputFiles and the metafile', async () => {
    const dir = makeApp('esbuild-memory')
    const result = await build(options(dir, { outdir: join(dir, 'dist'), write: false, metafile: true }))
    expect(existsSync(join(dir, 'dist'))).toBe(false)
    const wasm = result.outputFiles!.filter((file) => file.path.endsWith('.wasm'))
    expect(wasm).toHaveLength(4)
    expect(Object.keys(result.metafile!.outputs).filter((path) => path.endsWith('.wasm'))).toHaveLength(4)
  })

  test('with debug and write: false, each source map is an output file beside its .wasm, which names it', async () => {
    const dir = makeApp('esbuild-debug-memory')
    const result = await build({ ...options(dir, { outdir: join(dir, 'dist'), write: false }), plugins: [esbuildPlugin({ ...appOptions(), debug: true })] })
    expect(existsSync(join(dir, 'dist'))).toBe(false)
    const files = new Map(result.outputFiles!.map((file) => [file.path, file]))
    const wasm = [...files.keys()].filter((path) => path.endsWith('.wasm'))
    expect(wasm).toHaveLength(4)
    for (const path of wasm) {
      const map = files.get(`${path}.map`)
      expect(map, path).toBeDefined()
      expect(JSON.parse(map!.text).version).toBe(3)
      const [section] = WebAssembly.Module.customSections(new WebAssembly.Module(files.get(path)!.contents as Uint8Array<ArrayBuffer>), 'sourceMappingURL')
      expect(new TextDecoder().decode(new Uint8Array(section!).subarray(1))).toBe(basename(`${path}.map`))
    }
  })

  test('with debug and no output directory, the builds are inlined with their source maps embedded', async () => {
    const dir = makeApp('esbuild-debug-inline')
    const result = await build({ ...options(dir, { write: false }), plugins: [esbuildPlugin({ ...appOptions(), debug: true })] })
    const code = result.outputFiles![0]!.text
    // Each inlined build: base64 that starts with "\0asm".
    const inlined = [...code.matchAll(/"(AGFzbQ[A-Za-z0-9+/=]+)"/g)].map(([, base64]) => new Uint8Array(Buffer.from(base64!, 'base64')))
    expect(inlined).toHaveLength(4)
    for (const bytes of inlined) {
      const [section] = WebAssembly.Module.customSections(new WebAssembly.Module(bytes), 'sourceMappingURL')
      expect(new TextDecoder().decode(new Uint8Array(section!))).toContain('data:application/json;base64,')
    }
  })

  test('publicPath addresses the builds', async () => {
    const dir = makeApp('esbuild-public')
    const result = await build(options(dir, { outdir: join(dir, 'dist'), publicPath: 'https://cdn.example/app', write: false }))
    const code = result.outputFiles!.find((file) => file.path.endsWith('main.js'))!.text
    expect(code).toMatch(/"https:\/\/cdn\.example\/app\/app-\w+\.wasm"/)
  })
})
