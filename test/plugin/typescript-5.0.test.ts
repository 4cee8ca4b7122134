import { execFile } from 'node:child_process'
import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs'
import { join, relative } from 'node:path'
import { promisify } from 'node:util'
import { beforeAll, describe, expect, test } from 'vitest'
import { root, typecheck, userProject } from './typescript.js'

/** The oldest TypeScript the package's declarations support. */
const OLDEST = '5.0.4'

/** A project of its own holding that compiler, kept under node_modules/.cache so a rerun installs nothing. */
const compilerProject = join(root, 'node_modules/.cache/typescript', OLDEST)
const tsc = join(compilerProject, 'node_modules/typescript/bin/tsc')

/** Every declaration file the package ships (`files`: dist and client.d.ts), relative to the package. */
function shippedDeclarations(): string[] {
  const dist = readdirSync(join(root, 'dist'), { recursive: true, encoding: 'utf8' }).filter((file) => file.endsWith('.d.ts'))
  return [...dist.map((file) => join('dist', file)), 'client.d.ts']
}

describe(`TypeScript ${OLDEST}`, () => {
  beforeAll(async () => {
    const installed = join(compilerProject, 'node_modules/typescript/package.json')
    if (existsSync(installed) && JSON.parse(readFileSync(installed, 'utf8')).version === OLDEST) return
    mkdirSync(compilerProject, { recursive: true })
    writeFileSync(join(compilerProject, 'package.json'), JSON.stringify({ private: true, dependencies: { typescript: OLDEST } }))
    await promisify(execFile)('npm', ['install', '--prefer-offline', '--no-audit', '--no-fund', '--loglevel=error'], { cwd: compilerProject })
  }, 120_000)

  test('parses every .d.ts the package ships, and a config using each entry type-checks (with skipLibCheck, as the README asks)', async () => {
    const dir = userProject()
    writeFileSync(
      join(dir, 'config.ts'),
      [
        "import { unplugin } from 'unplugin-asyncify'",
        ...['vite', 'rollup', 'rolldown', 'webpack', 'rspack', 'esbuild'].map((bundler) => `import ${bundler} from 'unplugin-asyncify/${bundler}'`),
        "const options = { imports: ['env.sleep'], dts: true }",
        'export const plugins = [unplugin.vite(options), vite(options), rollup(options), rolldown(), webpack(options), rspack(), esbuild(options)]',
      ].join('\n'),
    )
    // Declaration files given as root files: skipLibCheck skips their types, never their syntax.
    const declarations = shippedDeclarations().map((file) => relative(dir, join(dir, 'node_modules/unplugin-asyncify', file)))
    expect(declarations).toContain('node_modules/unplugin-asyncify/dist/plugin/webpack.d.ts')
    expect(await typecheck(dir, ['config.ts', ...declarations], { skipLibCheck: true }, tsc)).toEqual({ ok: true, output: '' })
  })

  test('the runtime, transform and client types type-check in full (no skipLibCheck)', async () => {
    const dir = userProject()
    writeFileSync(
      join(dir, 'app.ts'),
      [
        '/// <reference types="unplugin-asyncify/client" />',
        "import init, { report } from './prog.wasm?asyncify'",
        "import { asyncifyStats, instantiate, type AsyncImports } from 'unplugin-asyncify/runtime'",
        "import { asyncifyWasm } from 'unplugin-asyncify/transform'",
        'declare const bytes: Uint8Array',
        "const { wasm } = await asyncifyWasm(bytes, { imports: ['env.sleep'] })",
        'const imports: AsyncImports<{ env: { sleep(ms: number): void } }> = { env: { sleep: (ms) => new Promise((resolve) => setTimeout(resolve, ms)) } }',
        'const { instance } = await instantiate<{ run(x: number): Promise<number> }>(wasm ?? bytes, imports)',
        'const fromInit = await init(imports)',
        'export const results: number[] = [await instance.exports.run(5), await fromInit.exports.run(5), asyncifyStats(instance).suspendedCalls, report.size.after]',
      ].join('\n'),
    )
    expect(await typecheck(dir, ['app.ts'], {}, tsc)).toEqual({ ok: true, output: '' })
  })
})
