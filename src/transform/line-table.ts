/*
 * The input's line information, whichever form it came in: DWARF line tables
 * (clang and Rust `-g`), else the source map its `sourceMappingURL` section
 * names (Emscripten's `-gsource-map`, wasm-opt's `--output-source-map`),
 * embedded as a data URL or a file beside the input. Both become rows of code
 * addresses (offsets into the code section's contents), so they stay true of
 * any build whose code is the input's, wherever its code section sits.
 */
import { existsSync, readFileSync } from 'node:fs'
import { dirname, isAbsolute, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'
import { decode } from '@jridgewell/sourcemap-codec'
import { dwarfSections, readLineRows, type LineRow } from './dwarf-lines.js'
import { WasmReader } from './wasm-reader.js'
import { codeContentsStart, customSectionPayloads } from './wasm-sections.js'

export interface LineTable {
  /** Sorted by address, as readLineRows gives them. */
  rows: LineRow[]
  /** Sources the input's map carried, by path: they need not exist where the build runs. */
  contents: Map<string, string>
}

/** A URL's scheme: two letters or more, since `C:` starts a Windows path. */
const URL_SCHEME = /^[a-z][a-z0-9+.-]+:/i

/** The custom section that holds a module's source map URL. */
export const SOURCE_MAPPING_URL = 'sourceMappingURL'

/**
 * Null when the input has no line information. A source map that is named
 * but cannot be read or used adds a warning (naming it, why, and the fix).
 */
export function readLineTable(input: Uint8Array, filename: string, warnings: string[]): LineTable | null {
  const dwarf = dwarfSections(input)
  if (dwarf) return { rows: readLineRows(dwarf), contents: new Map() }
  const [payload] = customSectionPayloads(input, SOURCE_MAPPING_URL)
  const codeStart = codeContentsStart(input)
  if (!payload || codeStart === null) return null
  const url = new WasmReader(payload).name()
  const problem = (why: string) => {
    warnings.push(`debug: the input's source map (${url.length > 80 ? `${url.slice(0, 77)}...` : url}) ${why}, so the builds carry no lines`)
    return null
  }
  let text: string
  let base: string
  if (url.startsWith('data:')) {
    const comma = url.indexOf(',')
    const body = url.slice(comma + 1)
    text = url.slice(0, comma).endsWith(';base64') ? Buffer.from(body, 'base64').toString('utf8') : decodeURIComponent(body)
    base = dirname(resolve(filename))
  } else if (URL_SCHEME.test(url) && !url.startsWith('file:')) {
    return problem('is a URL the transform cannot read; put the map beside the .wasm file and name it by a relative path')
  } else {
    const path = url.startsWith('file:') ? fileURLToPath(url) : isAbsolute(url) ? url : resolve(dirname(resolve(filename)), url)
    if (!existsSync(path)) return problem(`was not found at ${path}; keep the .map file beside the .wasm file`)
    text = readFileSync(path, 'utf8')
    base = dirname(path)
  }
  let map: { sources?: unknown; sourcesContent?: unknown; sourceRoot?: unknown; mappings?: unknown }
  try {
    map = JSON.parse(text)
  } catch {
    return problem('is not JSON')
  }
  if (!Array.isArray(map.sources) || typeof map.mappings !== 'string') return problem('has no sources or mappings')
  const root = typeof map.sourceRoot === 'string' ? map.sourceRoot : ''
  const sources = (map.sources as unknown[]).map((source) => {
    const path = `${root}${String(source)}`
    return isAbsolute(path) || URL_SCHEME.test(path) ? path : resolve(base, path)
  })
  const contents = new Map<string, string>()
  const carried = Array.isArray(map.sourcesContent) ? (map.sourcesContent as unknown[]) : []
  sources.forEach((source, i) => {
    if (typeof carried[i] === 'string') contents.set(source, carried[i])
  })
  // A wasm map has one generated line; its columns are byte offsets in the module.
  const rows: LineRow[] = []
  for (const segment of decode(map.mappings)[0] ?? []) {
    const address = segment[0] - codeStart
    // A mapping outside the code section describes no instruction.
    if (address < 0) continue
    if (segment.length < 4) rows.push({ address, file: '', line: 0, column: 0, endSequence: false })
    else rows.push({ address, file: sources[segment[1]!] ?? '', line: segment[2]! + 1, column: segment[3]! + 1, endSequence: false })
  }
  rows.sort((a, b) => a.address - b.address)
  return { rows, contents }
}
