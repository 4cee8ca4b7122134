import { execFileSync } from 'node:child_process'
import { readFileSync, renameSync, rmSync } from 'node:fs'

/*
 * How C becomes wasm here: compile with `-c` (optimized), then link without
 * `-O`. clang's wasm driver runs `wasm-opt` after any link given `-O`, when
 * one is on PATH: binaryen's from node_modules/.bin under npm scripts, or
 * Debian's /usr/bin/wasm-opt when the `binaryen` package is installed. That
 * run strips the name section (and target_features) and optimizes behind the
 * build's back, so results would depend on what else the machine has.
 * A link without `-O` never runs it; the name-section check says so loudly if
 * a future clang finds another way.
 */

export const CLANG_TARGET = ['--target=wasm32-wasi', '--sysroot=/usr']

export interface WasmBuild {
  source: string
  output: string
  /** Flags of the compile step: optimization level, warnings, code generation (`-O2`, `-Wall`, `-mtail-call`). */
  compileFlags?: readonly string[]
  /** Flags of the link step, never `-O` (`-mexec-model=reactor`, `-Wl,...`). */
  linkFlags?: readonly string[]
}

/**
 * Compiles one C file to `output` (written whole or not at all). Throws
 * clang's own error (with `stderr`) when a step fails, and an Error naming the
 * file when the linked module has no name section.
 */
export function compileWasm({ source, output, compileFlags = [], linkFlags = [] }: WasmBuild): void {
  if (linkFlags.some((flag) => /^-O/.test(flag))) {
    throw new Error(`${source}: link flags must not hold -O (clang would run wasm-opt and strip the name section); pass it as a compile flag`)
  }
  const object = `${output}.${process.pid}.o`
  const linked = `${output}.${process.pid}.tmp`
  const run = (args: string[]) => execFileSync('clang', [...CLANG_TARGET, ...args], { stdio: ['ignore', 'pipe', 'pipe'] })
  try {
    run([...compileFlags, '-c', '-o', object, source])
    run([...linkFlags, '-o', linked, object])
    if (WebAssembly.Module.customSections(new WebAssembly.Module(readFileSync(linked)), 'name').length === 0) {
      throw new Error(
        `${source}: the linked module has no name section (something stripped it after wasm-ld: a wasm-opt run by clang's driver, ` +
          `or --strip-all/--strip-debug in the link flags); tests and the transform need function and global names: ` +
          `link without -O and without stripping`,
      )
    }
    renameSync(linked, output)
  } finally {
    rmSync(object, { force: true })
    rmSync(linked, { force: true })
  }
}

/** `clang --version`, for cache keys. */
export function clangVersion(): string {
  return execFileSync('clang', ['--version'], { encoding: 'utf8' })
}
