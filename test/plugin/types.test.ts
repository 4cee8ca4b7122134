import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { dirname, join, relative } from 'node:path'
import { rollup } from 'rollup'
import rollupPlugin from 'unplugin-asyncify/rollup'
import { describe, expect, onTestFinished, test } from 'vitest'
import { bundlers } from './bundlers.js'
import { appOptions, makeApp } from './helpers.js'
import { typecheck, userProject } from './typescript.js'

describe('types', () => {
  test('dts writes x.wasm.d.ts with the real export signatures', async () => {
    const dir = makeApp('dts')
    await bundlers.rollup(dir, 'main', { ...appOptions(), dts: true })
    const dts = readFileSync(join(dir, 'app.wasm.d.ts'), 'utf8')
    expect(dts).toContain('readonly "run": (p0: number) => Promise<number>')
    expect(dts).toContain('readonly "add": (p0: number, p1: number) => number')
    expect(dts).toContain('readonly "scale": (p0: bigint, p1: number) => number')
    expect(dts).toContain('readonly "memory": WebAssembly.Memory')
    // Its imports: the async ones (by the build's list) may answer with a Promise, the others may not.
    expect(dts).toContain('readonly "sleep": (p0: number) => number | PromiseLike<number>')
    expect(dts).toContain('readonly "read": (p0: number) => number | PromiseLike<number>')
    expect(dts).toContain('declare function init(imports: Imports, options?: InstantiateOptions): Promise<Instance>')
    expect(dts).not.toContain('asyncify_')
    // other.wasm: only env.fetch is async there, so double_logged stays synchronous.
    const other = readFileSync(join(dir, 'other.wasm.d.ts'), 'utf8')
    expect(other).toContain('readonly "fetch_twice": (p0: number) => Promise<number>')
    expect(other).toContain('readonly "double_logged": (p0: number) => number')
  })

  test('dts writes nothing inside node_modules or outside the project root, and warns once per module saying why', async () => {
    // Rollup's project root is the working directory: this repository.
    const outside = mkdtempSync(join(tmpdir(), 'asyncify-outside-'))
    onTestFinished(() => rmSync(outside, { recursive: true, force: true }))
    const dir = makeApp('dts-refused')
    const inPackage = join(dir, 'node_modules/wasm-pkg/lib.wasm')
    mkdirSync(dirname(inPackage), { recursive: true })
    copyFileSync(join(dir, 'app.wasm'), inPackage)
    copyFileSync(join(dir, 'app.wasm'), join(outside, 'far.wasm'))
    writeFileSync(
      join(dir, 'refused.js'),
      [
        "import app from './app.wasm?asyncify'",
        "import lib from './node_modules/wasm-pkg/lib.wasm?asyncify'",
        `import far from ${JSON.stringify(join(outside, 'far.wasm?asyncify'))}`,
        'export { app, lib, far }',
      ].join('\n'),
    )
    const warnings: string[] = []
    // One plugin instance, two builds (a watch rebuild): still one warning per module.
    const plugin = rollupPlugin({ ...appOptions(), dts: true, inline: true })
    for (let build = 0; build < 2; build++) {
      const bundle = await rollup({ input: join(dir, 'refused.js'), plugins: [plugin], onwarn: (warning) => warnings.push(warning.message) })
      await bundle.close()
    }
    expect(existsSync(join(dir, 'app.wasm.d.ts'))).toBe(true)
    expect(existsSync(`${inPackage}.d.ts`)).toBe(false)
    expect(existsSync(join(outside, 'far.wasm.d.ts'))).toBe(false)
    const advice = '; declare its types in a .d.ts of the project instead'
    expect(warnings.filter((message) => message.includes('dts:')).sort()).toEqual([
      expect.stringContaining(
        `${join(outside, 'far.wasm')}: dts: not writing far.wasm.d.ts beside it, because it is outside the project root (${process.cwd()})${advice}`,
      ),
      expect.stringContaining(
        `${relative(process.cwd(), inPackage)}: dts: not writing lib.wasm.d.ts beside it, because it is inside node_modules, which belongs to the package manager${advice}`,
      ),
    ])
  })

  test('the d.ts is the same when the module is built for JSPI only', async () => {
    const auto = makeApp('dts-auto')
    const jspi = makeApp('dts-jspi')
    await bundlers.rollup(auto, 'main', { ...appOptions(), dts: true })
    await bundlers.rollup(jspi, 'main', { ...appOptions(), dts: true, mode: 'jspi' })
    for (const file of ['app.wasm.d.ts', 'other.wasm.d.ts']) {
      expect(readFileSync(join(jspi, file), 'utf8')).toBe(readFileSync(join(auto, file), 'utf8'))
    }
  })

  test('a dts module keeps its exact export types: suspending exports return Promises, the others do not', async () => {
    const app = makeApp('dts-check')
    await bundlers.rollup(app, 'main', { ...appOptions(), dts: true })
    const dir = userProject()
    for (const file of ['app.wasm.d.ts', 'other.wasm.d.ts']) copyFileSync(join(app, file), join(dir, file))
    const sources = {
      'good.ts': [
        "import initOther from './other.wasm'",
        'const other = await initOther({ env: { fetch: async (key) => key, log: (value: number) => value } })',
        'const fetched: number = await other.exports.fetch_twice(1)',
        'const doubled: number = other.exports.double_logged(1)',
        'export { fetched, doubled }',
      ],
      'bad.ts': [
        "import initOther from './other.wasm'",
        'const other = await initOther({ env: { fetch: async (key) => key, log: async (value: number) => value } })',
        'const wrong: number = other.exports.fetch_twice(1)',
        'other.exports.missing()',
        "await initOther({ env: { fetch: async (key) => String(key), log: (value: number) => value } })",
        'await initOther()',
        'export { wrong }',
      ],
    }
    for (const [file, lines] of Object.entries(sources)) writeFileSync(join(dir, file), lines.join('\n'))
    const { output } = await typecheck(dir, Object.keys(sources))
    // Only bad.ts fails: a plain import answered with a Promise, the suspending export's Promise
    // taken as a number, no export "missing", an async import answering the wrong type, no imports at all.
    const errors = output.trim().split('\n').filter((line) => /error TS/.test(line))
    expect(errors).toEqual([
      expect.stringMatching(/(^|\/)bad\.ts\(2,\d+\): error TS2322: Type '\(value: number\) => Promise<number>' is not assignable to type '\(p0: number\) => number'/),
      expect.stringMatching(/(^|\/)bad\.ts\(3,7\): error TS2322: Type 'Promise<number>' is not assignable to type 'number'/),
      expect.stringMatching(/(^|\/)bad\.ts\(4,15\): error TS2339: Property 'missing' does not exist on type 'Exports'/),
      expect.stringMatching(/(^|\/)bad\.ts\(5,\d+\): error TS2322: Type 'Promise<string>' is not assignable to type 'number \| PromiseLike<number>'/),
      expect.stringMatching(/(^|\/)bad\.ts\(6,7\): error TS2554: Expected 1-2 arguments, but got 0/),
    ])
  })

  test('init() from the client types lets any export be used; init<Exports>() checks calls against Exports', async () => {
    const dir = userProject()
    const sources = {
      'untyped.ts': [
        '/// <reference types="unplugin-asyncify/client" />',
        "import init from './prog.wasm?asyncify'",
        'const instance = await init({ env: { sleep: (ms) => new Promise((resolve) => setTimeout(resolve, ms)) } }, { stackSize: 4096 })',
        'const result: number = await instance.exports.run(5)',
        'export { result }',
      ],
      'typed.ts': [
        '/// <reference types="unplugin-asyncify/client" />',
        "import init from './prog.wasm?asyncify'",
        'const instance = await init<{ run(x: number): Promise<number>; memory: WebAssembly.Memory }>()',
        'const result: number = await instance.exports.run(5)',
        "await instance.exports.run('5')",
        'const bytes: number = instance.exports.memory.buffer.byteLength',
        'export { result, bytes }',
      ],
    }
    for (const [file, lines] of Object.entries(sources)) writeFileSync(join(dir, file), lines.join('\n'))
    const { output } = await typecheck(dir, Object.keys(sources))
    expect(output.trim().split('\n')).toEqual([
      expect.stringMatching(/(^|\/)typed\.ts\(5,28\): error TS2345: Argument of type 'string' is not assignable to parameter of type 'number'/),
    ])
  })

  test('instantiate() lets any export be used; instantiate<Exports>() checks calls; AsyncImports<Spec> lets each import answer through a Promise', async () => {
    const dir = userProject()
    const lines = [
      "import { asyncifyStats, instantiate, type AsyncImports } from 'unplugin-asyncify/runtime'",
      'declare const bytes: Uint8Array',
      'const untyped = await instantiate(bytes, { env: { sleep: (ms) => new Promise((resolve) => setTimeout(resolve, ms)) } })',
      'const first: number = await untyped.instance.exports.run(5)',
      'const imports: AsyncImports<{ env: { sleep(ms: number): void; read(key: number): number } }> = {',
      '  env: { sleep: (ms) => new Promise((resolve) => setTimeout(resolve, ms)), read: async (key) => key * 10 },',
      '}',
      'const { instance } = await instantiate<{ run(x: number): Promise<number> }>(bytes, imports)',
      'const second: number = await instance.exports.run(5)',
      'asyncifyStats(instance)',
      "const wrong: AsyncImports<{ env: { read(key: number): number } }> = { env: { read: async (key) => String(key) } }",
      'const unawaited: number = instance.exports.run(5)',
      'export { first, second, wrong, unawaited }',
    ]
    writeFileSync(join(dir, 'runtime.ts'), lines.join('\n'))
    const { output } = await typecheck(dir, ['runtime.ts'])
    // Errors only (tsc explains each on indented lines): an import answering the wrong type, an export used without await.
    expect(output.split('\n').filter((line) => line.includes('error TS'))).toEqual([
      expect.stringMatching(/(^|\/)runtime\.ts\(11,\d+\): error TS2322: Type 'Promise<string>' is not assignable to type 'number \| PromiseLike<number>'/),
      expect.stringMatching(/(^|\/)runtime\.ts\(12,7\): error TS2322: Type 'Promise<number>' is not assignable to type 'number'/),
    ])
  })

  test("a CommonJS config type-checks with require() of an entry, which Node answers with the plugin itself (TypeScript >= 5.6's declarations)", async () => {
    const dir = userProject(['webpack'])
    writeFileSync(join(dir, 'package.json'), JSON.stringify({ type: 'commonjs' }))
    writeFileSync(
      join(dir, 'webpack.config.cts'),
      ["import asyncify = require('unplugin-asyncify/webpack')", "export = { plugins: [asyncify({ imports: ['env.sleep'] })] }"].join('\n'),
    )
    writeFileSync(
      join(dir, 'rspack.config.js'),
      ["const asyncify = require('unplugin-asyncify/rspack')", "module.exports = { plugins: [asyncify({ imports: ['env.sleep'] })] }"].join('\n'),
    )
    const options = { module: 'nodenext', moduleResolution: 'nodenext', allowJs: true, checkJs: true, skipLibCheck: true }
    expect(await typecheck(dir, ['webpack.config.cts', 'rspack.config.js'], options)).toEqual({ ok: true, output: '' })
  })

  test("the root export type-checks: import { unplugin } from 'unplugin-asyncify', each bundler's plugin typed by its bundler", async () => {
    // A Vite and esbuild user has them installed.
    const dir = userProject(['vite', 'esbuild'])
    writeFileSync(
      join(dir, 'root.ts'),
      [
        "import asyncify, { unplugin, type AsyncifyPluginOptions } from 'unplugin-asyncify'",
        "import type { Plugin as VitePlugin } from 'vite'",
        "import type { Plugin as EsbuildPlugin } from 'esbuild'",
        "const options: AsyncifyPluginOptions = { imports: ['env.sleep'], dts: true }",
        'const vite: VitePlugin | VitePlugin[] = unplugin.vite(options)',
        'const esbuild: EsbuildPlugin = asyncify.esbuild()',
        'const others = [unplugin.rollup(options), unplugin.rolldown(options), unplugin.webpack(options), unplugin.rspack(options)]',
        'export { vite, esbuild, others }',
      ].join('\n'),
    )
    // unplugin's own types name every bundler it knows (Farm, Bun, ...), which only skipLibCheck (tsc --init's default) lets a project lack.
    expect(await typecheck(dir, ['root.ts'], { skipLibCheck: true })).toEqual({ ok: true, output: '' })
  })
})
