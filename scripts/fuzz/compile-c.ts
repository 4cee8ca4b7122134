import { createHash } from 'node:crypto'
import { existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs'
import { dirname, join, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'
import { clangVersion, compileWasm } from '../clang-env.js'
import type { OptimizeLevel } from './fuzz-case.js'
import { STATE_EXPORT } from './generate-c.js'

const root = resolve(dirname(fileURLToPath(import.meta.url)), '../..')
const cacheDir = join(root, 'test/.cache/fuzz-c')
let version: string | undefined

/**
 * Compiles a generated program with the project's clang recipe (optimized
 * `-c`, then a link without `-O`, so clang never runs a wasm-opt that would
 * strip the name section; compileWasm checks the section is there) into a
 * reactor that exports `exports`; for the memory comparison the address of
 * the program's globals, where static data ends (`__data_end`) and where the
 * heap begins (`__heap_base`); and the C stack pointer, whose final value is
 * compared and which the reference resets where the runtime does. Cached
 * under test/.cache/fuzz-c by the source, the flags and clang's version, so a
 * seeded campaign compiles each program once.
 */
export function compileC(source: string, exports: string[], level: OptimizeLevel): Uint8Array {
  version ??= clangVersion()
  // Exporting the (mutable) stack pointer needs the mutable-globals feature.
  const compileFlags = [`-O${level}`, '-w', '-mmutable-globals']
  const linkFlags = ['-mexec-model=reactor', ...['__heap_base', '__data_end', '__stack_pointer', STATE_EXPORT, ...exports].map((name) => `-Wl,--export=${name}`)]
  const key = createHash('sha256').update(source).update(JSON.stringify([compileFlags, linkFlags])).update(version).digest('hex').slice(0, 20)
  const output = join(cacheDir, `${key}.wasm`)
  if (!existsSync(output)) {
    mkdirSync(cacheDir, { recursive: true })
    const file = join(cacheDir, `${key}.c`)
    // Campaigns running side by side compile the same programs: clang must never read a half-written file.
    const partial = `${file}.${process.pid}.tmp`
    writeFileSync(partial, source)
    renameSync(partial, file)
    compileWasm({ source: file, output, compileFlags, linkFlags })
  }
  return new Uint8Array(readFileSync(output))
}
