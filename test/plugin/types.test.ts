import { execFile } from 'node:child_process'
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { createRequire } from 'node:module'
import { dirname, join, relative, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'
import { promisify } from 'node:util'
import { rollup } from 'rollup'
import rollupPlugin from 'unplugin-asyncify/rollup'
import { describe, expect, onTestFinished, test } from 'vitest'
import { bundlers } from './bundlers.js'
import { appOptions, makeApp } from './helpers.js'

const root = resolve(fileURLToPath(import.meta.url), '../../..')
const tsc = createRequire(import.meta.url).resolve('typescript/bin/tsc')

/** A user's project, outside this repository's own tsconfig, with the package installed; removed after the test. */
function userProject(): string {
  const dir = mkdtempSync(join(tmpdir(), 'asyncify-types-'))
  onTestFinished(() => rmSync(dir, { recursive: true, force: true }))
  mkdirSync(join(dir, 'node_modules'))
  symlinkSync(root, join(dir, 'node_modules/unplugin-asyncify'), 'dir')
  return dir
}

/** Type-checks `files` in `dir` as a user's strict project would (plus `extra` compiler options); resolves to tsc's output. */
async function typecheck(dir: string, files: string[], extra: Record<string, unknown> = {}): Promise<{ ok: boolean; output: string }> {
  const compilerOptions = { noEmit: true, strict: true, target: 'es2022', module: 'esnext', moduleResolution: 'bundler', lib: ['es2022', 'dom'], types: [], ...extra }
  writeFileSync(join(dir, 'tsconfig.json'), JSON.stringify({ compilerOptions, files }))
  try {
    await promisify(execFile)(process.execPath, [tsc, '-p', dir])
    return { ok: true, output: '' }
  } catch (error) {
    return { ok: false, output: String((error as { stdout?: string }).stdout) }
  }
}

describe('types', () => {
  test('dts writes x.wasm.d.ts with the real export signatures', async () => {
    const dir = makeApp('dts')
    await bundlers.rollup(dir, 'main', { ...appOptions(), dts: true })
    const dts = readFileSync(join(dir, 'app.wasm.d.ts'), 'utf8')
    expect(dts).toContain('readonly "run": (p0: number) => Promise<number>')
    expect(dts).toContain('readonly "add": (p0: number, p1: number) => number')
    expect(dts).toContain('readonly "scale": (p0: bigint, p1: number) => number')
    expect(dts).toContain('readonly "memory": WebAssembly.Memory')
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

  test("a user's TypeScript type-checks against the generated d.ts and the client types", async () => {
    const app = makeApp('dts-check')
    await bundlers.rollup(app, 'main', { ...appOptions(), dts: true })
    const dir = userProject()
    for (const file of ['app.wasm.d.ts', 'other.wasm.d.ts']) copyFileSync(join(app, file), join(dir, file))
    const sources = {
      'good.ts': [
        "import initOther from './other.wasm'",
        'const other = await initOther({ env: { fetch: async (key: number) => key, log: (value: number) => value } })',
        'const fetched: number = await other.exports.fetch_twice(1)',
        'const doubled: number = other.exports.double_logged(1)',
        'export { fetched, doubled }',
      ],
      'bad.ts': [
        "import initOther from './other.wasm'",
        'const other = await initOther()',
        'const wrong: number = other.exports.fetch_twice(1)',
        'export { wrong }',
      ],
      'client.ts': [
        '/// <reference types="unplugin-asyncify/client" />',
        "import init from './app.wasm?asyncify'",
        'const instance = await init({ env: { sleep: (ms: number) => new Promise((resolve) => setTimeout(resolve, ms)) } }, { stackSize: 4096 })',
        'const exports: Record<string, unknown> = instance.exports',
        'export { exports }',
      ],
    }
    for (const [file, lines] of Object.entries(sources)) writeFileSync(join(dir, file), lines.join('\n'))
    const { ok, output } = await typecheck(dir, Object.keys(sources))
    expect(ok).toBe(false)
    // Exactly one error, in bad.ts: the suspending export returns a Promise.
    expect(output.trim().split('\n')).toEqual([
      expect.stringMatching(/(^|\/)bad\.ts\(3,7\): error TS2322: Type 'Promise<number>' is not assignable to type 'number'/),
    ])
  })

  test("the root export type-checks: import { unplugin } from 'unplugin-asyncify', each bundler's plugin typed by its bundler", async () => {
    const dir = userProject()
    // A Vite and esbuild user has them installed.
    for (const bundler of ['vite', 'esbuild']) symlinkSync(join(root, 'node_modules', bundler), join(dir, 'node_modules', bundler), 'dir')
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
