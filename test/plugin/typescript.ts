import { execFile } from 'node:child_process'
import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs'
import { createRequire } from 'node:module'
import { tmpdir } from 'node:os'
import { dirname, join, resolve } from 'node:path'
import { promisify } from 'node:util'
import { onTestFinished } from 'vitest'

export const root = resolve(import.meta.dirname, '../..')
/** This repository's TypeScript; `typecheck` takes another compiler's `tsc` too. */
export const tsc = createRequire(import.meta.url).resolve('typescript/bin/tsc')

/**
 * A user's project, outside this repository's own tsconfig, with the package
 * installed and `packages` (from this repository's node_modules) beside it;
 * removed after the test.
 */
export function userProject(packages: string[] = []): string {
  const dir = mkdtempSync(join(tmpdir(), 'asyncify-types-'))
  onTestFinished(() => rmSync(dir, { recursive: true, force: true }))
  for (const name of ['unplugin-asyncify', ...packages]) {
    const installed = join(dir, 'node_modules', name)
    mkdirSync(dirname(installed), { recursive: true })
    symlinkSync(name === 'unplugin-asyncify' ? root : join(root, 'node_modules', name), installed, 'dir')
  }
  return dir
}

/**
 * Type-checks `files` in `dir` as a user's strict project would (plus `extra`
 * compiler options), with `compiler` (a `tsc` script); resolves to its output.
 */
export async function typecheck(
  dir: string,
  files: string[],
  extra: Record<string, unknown> = {},
  compiler: string = tsc,
): Promise<{ ok: boolean; output: string }> {
  const compilerOptions = { noEmit: true, strict: true, target: 'es2022', module: 'esnext', moduleResolution: 'bundler', lib: ['es2022', 'dom'], types: [], ...extra }
  writeFileSync(join(dir, 'tsconfig.json'), JSON.stringify({ compilerOptions, files }))
  try {
    await promisify(execFile)(process.execPath, [compiler, '-p', dir])
    return { ok: true, output: '' }
  } catch (error) {
    return { ok: false, output: String((error as { stdout?: string }).stdout) }
  }
}
