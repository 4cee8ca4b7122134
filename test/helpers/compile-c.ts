import { execFileSync } from 'node:child_process'
import { createHash } from 'node:crypto'
import { existsSync, mkdirSync, readFileSync, renameSync } from 'node:fs'
import { dirname, join, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'
import { clangEnv } from '../../scripts/clang-env.js'

const root = resolve(dirname(fileURLToPath(import.meta.url)), '../..')
const cacheDir = join(root, 'test/.cache/c')

/**
 * Compiles a C file from test/fixtures/c with Debian's clang for wasm32-wasi (a
 * reactor: exports are called from JS, no _start). Output is cached by the
 * source, flags and clang version so a second run of the suite compiles nothing.
 */
export function compileC(name: string, flags: string[] = []): Uint8Array {
  const source = join(root, 'test/fixtures/c', name)
  const args = [
    '--target=wasm32-wasi',
    '--sysroot=/usr',
    '-O2',
    '-mexec-model=reactor',
    ...flags,
    '-o',
  ]
  const version = execFileSync('clang', ['--version'], { encoding: 'utf8', env: clangEnv() })
  const key = createHash('sha256')
    .update('no-wasm-opt')
    .update(readFileSync(source))
    .update(JSON.stringify(args))
    .update(version)
    .digest('hex')
    .slice(0, 16)
  const output = join(cacheDir, `${name.replace(/\W/g, '_')}-${key}.wasm`)
  if (!existsSync(output)) {
    mkdirSync(cacheDir, { recursive: true })
    const temporary = `${output}.${process.pid}.tmp`
    execFileSync('clang', [...args, temporary, source], { stdio: 'pipe', env: clangEnv() })
    renameSync(temporary, output)
  }
  return new Uint8Array(readFileSync(output))
}
