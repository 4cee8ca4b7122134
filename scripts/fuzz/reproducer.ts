import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs'
import { join, relative } from 'node:path'
import type { BuiltCase } from './build-case.js'
import type { FuzzCase } from './fuzz-case.js'

/*
 * A reproducer is a directory: case.json (everything that decides the test
 * besides the bytes), module.wasm (reduced when reduction helped),
 * original.wasm (before reduction), what the original was made from
 * (program.c for C modules, module.wat for wat modules), and verdict.txt
 * (what differed, and the command that replays it).
 */

export function saveReproducer(directory: string, reduced: BuiltCase, original: BuiltCase, differences: string[]): string {
  mkdirSync(directory, { recursive: true })
  writeFileSync(join(directory, 'case.json'), `${JSON.stringify(reduced.fuzzCase, null, 2)}\n`)
  writeFileSync(join(directory, 'module.wasm'), reduced.wasm)
  if (reduced.wasm !== original.wasm) writeFileSync(join(directory, 'original.wasm'), original.wasm)
  if (original.source) writeFileSync(join(directory, original.source.file), original.source.text)
  const replay = replayCommand(directory)
  writeFileSync(join(directory, 'verdict.txt'), [...differences, '', `replay: ${replay}`, ''].join('\n'))
  return replay
}

export function loadReproducer(directory: string): BuiltCase {
  const fuzzCase = JSON.parse(readFileSync(join(directory, 'case.json'), 'utf8')) as FuzzCase
  const wasm = new Uint8Array(readFileSync(join(directory, 'module.wasm')))
  const file = (['program.c', 'module.wat'] as const).find((name) => existsSync(join(directory, name)))
  return { fuzzCase, wasm, source: file ? { file, text: readFileSync(join(directory, file), 'utf8') } : null }
}

function replayCommand(directory: string): string {
  return `npm run fuzz -- --replay ${relative(process.cwd(), directory)}`
}
