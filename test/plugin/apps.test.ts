import { createHash } from 'node:crypto'
import { readdirSync, readFileSync } from 'node:fs'
import { basename, dirname, join } from 'node:path'
import { describe, expect, test } from 'vitest'
import { asyncifyWasm } from '../../dist/transform/index.js'
import { compileC } from '../helpers/compile-c.js'
import { bundlerNames, bundlers, otherTarget, serverOnly } from './bundlers.js'
import {
  appOptions,
  buildOf,
  ENGINE_ENTRY,
  expectedResult,
  fixtures,
  jspiNode,
  makeApp,
  runMain,
  type EngineResult,
} from './helpers.js'

const wasmFiles = (file: string): string[] =>
  readdirSync(dirname(file), { recursive: true, encoding: 'utf8' }).filter((name) => name.endsWith('.wasm'))

describe.each(bundlerNames)('%s', (name) => {
  const build = bundlers[name]

  test('the fixture app runs its async wasm imports in Node with and without JSPI, each build of each module a hashed .wasm asset', async () => {
    const dir = makeApp(`app-${name}`)
    const bundle = await build(dir, 'main', appOptions())
    // Two modules, each built for Asyncify and for JSPI.
    const files = wasmFiles(bundle)
    expect(files).toHaveLength(4)
    expect(files.map((file) => buildOf(readFileSync(join(dirname(bundle), file)))).sort()).toEqual(['asyncify', 'asyncify', 'jspi', 'jspi'])
    expect(await runMain(bundle)).toEqual(expectedResult())
    expect(await runMain(bundle, jspiNode)).toEqual(expectedResult())
    // No path of the build machine in the code (esbuild's module comments name them, like any module's).
    const code = readFileSync(bundle, 'utf8').split('\n').filter((line) => !line.trimStart().startsWith('//'))
    expect(code.join('\n')).not.toContain(dir)
  })

  test('the runtime takes the Asyncify build in Node 20 and the JSPI build in Node 26, from the same bundle', async () => {
    const dir = makeApp(`engine-${name}`, { 'engine.js': ENGINE_ENTRY })
    const bundle = await build(dir, 'engine', appOptions())
    const run = expectedResult().run
    expect(await runMain<EngineResult>(bundle)).toEqual({ engine: 'asyncify', run, paths: ['asyncify', 'jspi'] })
    expect(await runMain<EngineResult>(bundle, jspiNode)).toEqual({ engine: 'jspi', run, paths: ['asyncify', 'jspi'] })
  })

  test('with debug, each build\'s source map is a file beside its .wasm, which names it; the app still runs', async () => {
    const dir = makeApp(`debug-${name}`, { 'app.wasm': compileC('../plugin/app.c', ['-g']) })
    const bundle = await build(dir, 'main', { ...appOptions(), debug: true })
    const out = dirname(bundle)
    const maps = readdirSync(out, { recursive: true, encoding: 'utf8' }).filter((file) => file.endsWith('.wasm.map'))
    // Each build of both modules: wasi-libc's own objects carry line tables, and app.wasm's C does too.
    expect(maps).toHaveLength(4)
    let withApp = 0
    for (const map of maps) {
      const wasm = readFileSync(join(out, map.slice(0, -'.map'.length)))
      const [section] = WebAssembly.Module.customSections(new WebAssembly.Module(wasm), 'sourceMappingURL')
      expect(new TextDecoder().decode(new Uint8Array(section!).subarray(1))).toBe(basename(map))
      const json = JSON.parse(readFileSync(join(out, map), 'utf8')) as { sources: string[]; sourcesContent: string[] }
      const index = json.sources.findIndex((source) => source.endsWith('/app.c'))
      if (index < 0) continue
      withApp++
      expect(json.sourcesContent[index]).toBe(readFileSync(join(fixtures, 'app.c'), 'utf8'))
    }
    expect(withApp).toBe(2)
    expect(await runMain(bundle)).toEqual(expectedResult())
    expect(await runMain(bundle, jspiNode)).toEqual(expectedResult())
  })

  test("optimize 'auto' (the default): the Asyncify builds are level 3's where the bundle runs only on a server, the default level's elsewhere", async () => {
    const dir = makeApp(`optimize-${name}`)
    const digest = (bytes: Uint8Array) => createHash('sha256').update(bytes).digest('hex')
    // What the transform makes of both modules at a level, with the app's options.
    const expected = async (optimize: 2 | 3) => {
      const { imports, overrides } = appOptions()
      const app = await asyncifyWasm(readFileSync(join(dir, 'app.wasm')), { imports, optimize })
      const other = await asyncifyWasm(readFileSync(join(dir, 'other.wasm')), { ...overrides['**/other.wasm'], optimize })
      return [digest(app.wasm!), digest(other.wasm!)].sort()
    }
    const levels = { 2: await expected(2), 3: await expected(3) }
    expect(levels[2]).not.toEqual(levels[3])
    const emitted = (out: string) =>
      readdirSync(out, { recursive: true, encoding: 'utf8' })
        .filter((file) => file.endsWith('.wasm'))
        .map((file) => readFileSync(join(out, file)))
        .filter((bytes) => buildOf(bytes) === 'asyncify')
        .map(digest)
        .sort()
    const builds = [{ server: serverOnly[name], out: dirname(await build(dir, 'main', appOptions())) }]
    const other = otherTarget[name]
    if (other) builds.push({ server: !serverOnly[name], out: await other(dir, 'main', appOptions()) })
    for (const { server, out } of builds) expect(emitted(out), server ? 'a server bundle' : 'a bundle for browsers').toEqual(levels[server ? 3 : 2])
  })

  test('with inline, the modules are embedded and no .wasm is emitted', async () => {
    const dir = makeApp(`inline-${name}`)
    const bundle = await build(dir, 'main', { ...appOptions(), inline: true })
    expect(wasmFiles(bundle)).toEqual([])
    expect(await runMain(bundle)).toEqual(expectedResult())
    expect(await runMain(bundle, jspiNode)).toEqual(expectedResult())
  })

  test('a .wasm that is not WebAssembly fails the build with a message naming the file', async () => {
    const dir = makeApp(`not-wasm-${name}`, {
      'not-wasm.wasm': readFileSync(join(fixtures, 'not-wasm.wasm')),
      'bad.js': "import init from './not-wasm.wasm?asyncify'\nexport const main = init\n",
    })
    await expect(build(dir, 'bad', appOptions())).rejects.toThrow(/not-wasm\.wasm: not a WebAssembly module/)
  })

  test("in mode 'asyncify', a module with a feature Asyncify cannot handle fails the build with a message naming the file", async () => {
    const dir = makeApp(`unsupported-${name}`, {
      'shared-memory.wasm': readFileSync(join(fixtures, 'shared-memory.wasm')),
      'bad.js': "import init from './shared-memory.wasm?asyncify'\nexport const main = init\n",
    })
    await expect(build(dir, 'bad', { ...appOptions(), mode: 'asyncify' })).rejects.toThrow(
      /shared-memory\.wasm: the module uses a shared memory/,
    )
  })
})
