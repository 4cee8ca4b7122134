/**
 * Compiles the playground's C programs (playground/c/*.c) to wasm with Debian's
 * clang, into playground/wasm/, where the app imports them with `?asyncify`.
 * A program is recompiled only when it, a header or the compile recipe is newer than its output.
 * Run directly (`tsx scripts/playground/compile.ts`) or through `compilePrograms()`.
 */
import { mkdirSync, readdirSync, statSync } from 'node:fs'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { compileWasm } from '../clang-env.js'
import { playgroundDir } from './paths.js'

const sourceDir = join(playgroundDir, 'c')
const outputDir = join(playgroundDir, 'wasm')

// The package's include/ holds asyncify.h, as node_modules/unplugin-asyncify/include does in a user's project.
const COMPILE_FLAGS = ['-O2', '-Wall', '-Wextra', '-Werror', '-I', fileURLToPath(new URL('../../include', import.meta.url))]
// A reactor: no main(); the page calls the exports, named in the source with export_name.
const LINK_FLAGS = ['-mexec-model=reactor']
// Outputs older than the recipe are rebuilt: a change of flags or steps must reach them.
const RECIPE = [
  fileURLToPath(import.meta.url),
  fileURLToPath(new URL('../clang-env.ts', import.meta.url)),
  fileURLToPath(new URL('../../include/asyncify.h', import.meta.url)),
]

export class CompileError extends Error {
  readonly code = 'PLAYGROUND_COMPILE_FAILED'
}

/** Compiles what changed; returns the paths of every program's wasm. */
export function compilePrograms(log: (line: string) => void = () => {}): string[] {
  const files = readdirSync(sourceDir)
  const headersChanged = Math.max(0, ...files.filter((f) => f.endsWith('.h')).map((f) => mtime(join(sourceDir, f))))
  const recipeChanged = Math.max(...RECIPE.map(mtime))
  mkdirSync(outputDir, { recursive: true })
  return files
    .filter((file) => file.endsWith('.c'))
    .map((file) => {
      const source = join(sourceDir, file)
      const output = join(outputDir, file.replace(/\.c$/, '.wasm'))
      if (mtime(output) > Math.max(mtime(source), headersChanged, recipeChanged)) return output
      log(`clang ${file} -> wasm/${file.replace(/\.c$/, '.wasm')}`)
      try {
        compileWasm({ source, output, compileFlags: COMPILE_FLAGS, linkFlags: LINK_FLAGS })
      } catch (error) {
        const { code, stderr } = error as { code?: string; stderr?: Buffer }
        if (code === 'ENOENT') {
          throw new CompileError(
            `playground/c/${file}: clang is not installed; run "bash scripts/ensure-system-deps.sh" (installs clang, lld, wasi-libc)`,
          )
        }
        if (!stderr) throw new CompileError(`playground/c/${file}: ${(error as Error).message}`)
        throw new CompileError(`playground/c/${file}: clang failed; fix the source:\n${stderr.toString()}`)
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
