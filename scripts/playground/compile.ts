/**
 * Compiles the playground's C programs (playground/c/*.c) to wasm with Debian's
 * clang, into playground/wasm/, where the app imports them with `?asyncify`.
 * A program is recompiled only when it or a header is newer than its output.
 * Run directly (`tsx scripts/playground/compile.ts`) or through `compilePrograms()`.
 */
import { execFileSync } from 'node:child_process'
import { mkdirSync, readdirSync, statSync } from 'node:fs'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { clangEnv } from '../clang-env.js'
import { playgroundDir } from './paths.js'

const sourceDir = join(playgroundDir, 'c')
const outputDir = join(playgroundDir, 'wasm')

// A reactor: no main(); the page calls the exports, named in the source with export_name.
const CLANG_ARGS = ['--target=wasm32-wasi', '--sysroot=/usr', '-O2', '-mexec-model=reactor', '-Wall', '-Wextra', '-Werror']

export class CompileError extends Error {
  readonly code = 'PLAYGROUND_COMPILE_FAILED'
}

/** Compiles what changed; returns the paths of every program's wasm. */
export function compilePrograms(log: (line: string) => void = () => {}): string[] {
  const files = readdirSync(sourceDir)
  const headersChanged = Math.max(0, ...files.filter((f) => f.endsWith('.h')).map((f) => mtime(join(sourceDir, f))))
  mkdirSync(outputDir, { recursive: true })
  return files
    .filter((file) => file.endsWith('.c'))
    .map((file) => {
      const source = join(sourceDir, file)
      const output = join(outputDir, file.replace(/\.c$/, '.wasm'))
      if (mtime(output) > Math.max(mtime(source), headersChanged)) return output
      log(`clang ${file} -> wasm/${file.replace(/\.c$/, '.wasm')}`)
      try {
        execFileSync('clang', [...CLANG_ARGS, '-o', output, source], { stdio: ['ignore', 'pipe', 'pipe'], env: clangEnv() })
      } catch (error) {
        const { code, stderr } = error as { code?: string; stderr?: Buffer }
        if (code === 'ENOENT') {
          throw new CompileError(
            `playground/c/${file}: clang is not installed; run "bash scripts/ensure-system-deps.sh" (installs clang, lld, wasi-libc)`,
          )
        }
        throw new CompileError(`playground/c/${file}: clang failed; fix the source:\n${stderr?.toString() ?? error}`)
      }
      return output
    })
}

function mtime(path: string): number {
  try {
    return statSync(path).mtimeMs
  } catch {
    return 0
  }
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  compilePrograms((line) => console.log(line))
}
