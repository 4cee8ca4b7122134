import { createHash } from 'node:crypto'
import { existsSync, mkdirSync, readFileSync } from 'node:fs'
import { dirname, join, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'
import { clangVersion, compileWasm } from '../../scripts/clang-env.js'

const root = resolve(dirname(fileURLToPath(import.meta.url)), '../..')
const cacheDir = join(root, 'test/.cache/c')

/**
 * Compiles a C file from test/fixtures/c with Debian's clang for wasm32-wasi (a
 * reactor: exports are called from JS, no _start), with include/ on the
 * include path, at -O2 unless `flags` say
 * otherwise; the module keeps its name section. Output is cached by the
 * source, flags and clang version so a second run of the suite compiles nothing.
 */
export function compileC(name: string, flags: string[] = []): Uint8Array {
  const source = join(root, 'test/fixtures/c', name)
  // The package's own headers (include/asyncify.h) are on the include path, as a user adds them.
  const compileFlags = ['-O2', '-I', join(root, 'include'), ...flags]
  const linkFlags = ['-mexec-model=reactor']
  const key = createHash('sha256')
    .update(readFileSync(source))
    .update(JSON.stringify([compileFlags, linkFlags]))
    .update(readFileSync(join(root, 'include/asyncify.h')))
    .update(clangVersion())
    .digest('hex')
    .slice(0, 16)
  const output = join(cacheDir, `${name.replace(/\W/g, '_')}-${key}.wasm`)
  if (!existsSync(output)) {
    mkdirSync(cacheDir, { recursive: true })
    compileWasm({ source, output, compileFlags, linkFlags })
  }
  return new Uint8Array(readFileSync(output))
}
