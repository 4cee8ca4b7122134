import { execFileSync } from 'node:child_process'
import { readFileSync } from 'node:fs'
import { cpus, release, totalmem } from 'node:os'
import { join } from 'node:path'
import { CHROMIUM } from '../scripts/playground/browser.js'
import { WASM_OPT, nodeBinary, repoDir } from './paths.js'

/** Where and with what the figures were measured: the header of BENCHMARKS.md. */
export interface Machine {
  date: string
  commit: string
  cpu: string
  cores: number
  memoryGb: number
  kernel: string
  node: string
  node22: string
  node24: string
  node26: string
  binaryenJs: string
  wasmOpt: string
  clang: string
  chromium: string
}

function firstLine(command: string, args: string[], pattern = /./): string {
  try {
    const output = execFileSync(command, args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'], cwd: repoDir })
    return output.split('\n').find((line) => pattern.test(line))?.trim() ?? 'unknown'
  } catch {
    return 'not installed'
  }
}

export function describeMachine(): Machine {
  const binaryen = JSON.parse(readFileSync(join(repoDir, 'node_modules/binaryen/package.json'), 'utf8')) as { version: string }
  return {
    date: new Date().toISOString(),
    commit: firstLine('git', ['rev-parse', '--short', 'HEAD']),
    cpu: cpus()[0]?.model ?? 'unknown',
    cores: cpus().length,
    memoryGb: Math.round(totalmem() / 2 ** 30),
    kernel: `Linux ${release()}`,
    node: process.version,
    node22: firstLine(nodeBinary(22), ['--version']),
    node24: firstLine(nodeBinary(24), ['--version']),
    node26: firstLine(nodeBinary(26), ['--version']),
    binaryenJs: binaryen.version,
    wasmOpt: firstLine(WASM_OPT, ['--version']),
    clang: firstLine('clang', ['--version']),
    // Debian's wrapper script prints a shell warning on some machines before the version.
    chromium: firstLine(CHROMIUM, ['--version'], /Chromium/),
  }
}
