import { execFile } from 'node:child_process'
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { promisify } from 'node:util'
import { beforeAll, describe, expect, test } from 'vitest'
import { root, typecheck, userProject } from './typescript.js'

/** The oldest TypeScript the package's declarations support. */
const OLDEST = '5.0.4'

/** A project of its own holding that compiler, kept under node_modules/.cache so a rerun installs nothing. */
const compilerProject = join(root, 'node_modules/.cache/typescript', OLDEST)
const tsc = join(compilerProject, 'node_modules/typescript/bin/tsc')

describe(`TypeScript ${OLDEST}`, () => {
  beforeAll(async () => {
    const installed = join(compilerProject, 'node_modules/typescript/package.json')
    if (existsSync(installed) && JSON.parse(readFileSync(installed, 'utf8')).version === OLDEST) return
    mkdirSync(compilerProject, { recursive: true })
    writeFileSync(join(compilerProject, 'package.json'), JSON.stringify({ private: true, dependencies: { typescript: OLDEST } }))
    await promisify(execFile)('npm', ['install', '--prefer-offline', '--no-audit', '--no-fund', '--loglevel=error'], { cwd: compilerProject })
  }, 120_000)

  test("parses every .d.ts it reads from the package's entries, and a config using each entry type-checks (with skipLibCheck, as the README asks)", async () => {
    const dir = userProject()
    writeFileSync(
      join(dir, 'config.ts'),
      [
        '/// <reference types="unplugin-asyncify/client" />',
        "import { unplugin } from 'unplugin-asyncify'",
        ...['vite', 'rollup', 'rolldown', 'webpack', 'rspack', 'esbuild'].map((bundler) => `import ${bundler} from 'unplugin-asyncify/${bundler}'`),
        "import type { InstantiateOptions } from 'unplugin-asyncify/runtime'",
        "import type { TransformOptions } from 'unplugin-asyncify/transform'",
        "const options = { imports: ['env.sleep'], dts: true }",
        'export const plugins = [unplugin.vite(options), vite(options), rollup(options), rolldown(), webpack(options), rspack(), esbuild(options)]',
        "export const runtime: InstantiateOptions = { mode: 'auto' }",
        "export const transform: TransformOptions = { imports: ['env.sleep'] }",
      ].join('\n'),
    )
    // skipLibCheck skips the declarations' types, never their syntax.
    expect(await typecheck(dir, ['config.ts'], { skipLibCheck: true }, tsc)).toEqual({ ok: true, output: '' })
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
