import { execFile } from 'node:child_process'
import { cpSync, mkdirSync, rmSync, writeFileSync } from 'node:fs'
import { dirname, join, resolve } from 'node:path'
import { fileURLToPath, pathToFileURL } from 'node:url'
import { promisify } from 'node:util'
import { compileC } from '../helpers/compile-c.js'

const execFileAsync = promisify(execFile)
const root = resolve(dirname(fileURLToPath(import.meta.url)), '../..')
export const fixtures = join(root, 'test/fixtures/plugin')
const artifacts = join(root, 'test/artifacts/plugin')

/** The cache shared by the suite, so each module runs Binaryen once per run; the cache tests use their own. */
export const sharedCacheDir = join(artifacts, '.cache')

/** Plugin options of the fixture app: `app.wasm` by query, `other.wasm` by `include` with its own async imports. */
export function appOptions(cacheDir: string | false = sharedCacheDir) {
  return {
    imports: ['env.sleep', 'env.read'],
    include: ['**/other.wasm'],
    overrides: { '**/other.wasm': { imports: ['env.fetch'] } },
    cacheDir,
  }
}

/**
 * A fresh copy of the fixture app in test/artifacts/plugin/<name>, with the C
 * modules compiled by clang (cached), plus `extra` files. Returns its directory.
 */
export function makeApp(name: string, extra: Record<string, string | Uint8Array> = {}): string {
  const dir = join(artifacts, name)
  rmSync(dir, { recursive: true, force: true })
  mkdirSync(dir, { recursive: true })
  cpSync(join(fixtures, 'app'), dir, { recursive: true })
  for (const module of ['app', 'other', 'plain']) writeFileSync(join(dir, `${module}.wasm`), compileC(`../plugin/${module}.c`))
  for (const [file, content] of Object.entries(extra)) writeFileSync(join(dir, file), content)
  return dir
}

export interface AppResult {
  run: number
  add: number
  fetchTwice: number
  doubled: number
  doubledIsPromise: boolean
  /** The build report the module exports, as the page would read it. */
  reportedSuspending: string[]
}

/** What main() must return, computed from the imports main.js passes and the C sources. */
export function expectedResult(): AppResult {
  const read = (key: number) => key * 10
  let run = 0
  for (let i = 0; i < 5; i++) run += read(i) * (i + 1)
  const fetch = (key: number) => key + 100
  return {
    run,
    add: 5,
    fetchTwice: fetch(20) + fetch(21),
    doubled: (20 + 1) * 2,
    doubledIsPromise: false,
    reportedSuspending: ['run'],
  }
}

/** Node 26, whose WebAssembly has JSPI (installed by scripts/setup.sh); the suite itself runs on Node 20, which has not. */
export const jspiNode = join(root, 'tools/nodes/node_modules/node26/bin/node')

/**
 * Runs main() of a built bundle in a fresh Node process (`node`, default the
 * one running the tests), as a user's server would: ES modules are imported,
 * CommonJS bundles required.
 */
export async function runMain<T = AppResult>(file: string, node: string = process.execPath): Promise<T> {
  const load = file.endsWith('.cjs') ? `require(${JSON.stringify(file)})` : `await import(${JSON.stringify(pathToFileURL(file).href)})`
  // A CommonJS bundle with async modules (webpack asyncWebAssembly) exports a Promise of its exports.
  const script = `const { main } = await (${load}); console.log(JSON.stringify(await main()))`
  const { stdout } = await execFileAsync(node, ['--input-type=module', '-e', `import { createRequire } from 'node:module'; const require = createRequire(${JSON.stringify(file)}); ${script}`])
  return JSON.parse(stdout) as T
}

/**
 * An entry (`engine.js`) whose main() says which build of `app.wasm` the
 * runtime picked (`asyncifyStats(instance).mode`), what it computes and which
 * builds its report lists. It imports the runtime by the same file the
 * plugin's loader does, so the bundle holds one copy of it.
 */
export const ENGINE_ENTRY = [
  "import init, { report } from './app.wasm?asyncify'",
  `import { asyncifyStats } from ${JSON.stringify(join(root, 'dist/runtime-shim/index.js'))}`,
  'export async function main() {',
  '  const app = await init({ env: { sleep: async () => {}, read: async (key) => key * 10 } })',
  '  return { engine: asyncifyStats(app).mode, run: await app.exports.run(5), paths: report.paths }',
  '}',
  '',
].join('\n')

export interface EngineResult {
  engine: 'asyncify' | 'jspi'
  run: number
  paths: ('asyncify' | 'jspi')[]
}

/** Which build a `.wasm` file is, from its metadata section. */
export function buildOf(bytes: Uint8Array): 'asyncify' | 'jspi' {
  const [section] = WebAssembly.Module.customSections(new WebAssembly.Module(bytes as Uint8Array<ArrayBuffer>), 'unplugin-asyncify')
  return (JSON.parse(new TextDecoder().decode(section)) as { engine: 'asyncify' | 'jspi' }).engine
}
