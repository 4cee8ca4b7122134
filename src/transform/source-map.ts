/*
 * A source map for a wasm module from the DWARF line tables it carries
 * (dwarf-lines.ts). Browsers read source maps for wasm natively, without the
 * DWARF extension DevTools needs: a mapping's generated column is a byte
 * offset in the module, the generated line always 0. The C sources go into
 * `sourcesContent` when they can be read where the build runs, so the map
 * works wherever the module is served.
 */
import { existsSync, readFileSync } from 'node:fs'
import { encode, type SourceMapSegment } from '@jridgewell/sourcemap-codec'
import { concatBytes, encodeName, section } from '../runtime-shim/wasm-writer.js'
import { readLineRows, type DwarfSections } from './dwarf-lines.js'
import { customSectionNames, customSectionPayloads, withoutCustomSection } from './wasm-sections.js'
import { WasmReader } from './wasm-reader.js'

export interface WasmSourceMap {
  version: 3
  sources: string[]
  sourcesContent: (string | null)[]
  names: string[]
  mappings: string
}

/**
 * The build as shipped with debug info: its DWARF line tables turned into a
 * source map, embedded as a data URL in its `sourceMappingURL` section (so
 * the map travels with the module into workers, bundles and caches), and the
 * DWARF dropped. A module without line tables comes back without DWARF and
 * without a map.
 */
export function withEmbeddedSourceMap(wasm: Uint8Array): { wasm: Uint8Array; sourceMap: WasmSourceMap | null } {
  const [line] = customSectionPayloads(wasm, '.debug_line')
  const payload = (name: string) => customSectionPayloads(wasm, name)[0]
  const dwarf: DwarfSections | null = line
    ? { line, lineStr: payload('.debug_line_str'), str: payload('.debug_str'), info: payload('.debug_info'), abbrev: payload('.debug_abbrev') }
    : null
  let stripped = wasm
  for (const name of customSectionNames(wasm)) {
    if (name.startsWith('.debug_') || name === SOURCE_MAPPING_URL) stripped = withoutCustomSection(stripped, name) ?? stripped
  }
  const sourceMap = dwarf && sourceMapFor(stripped, dwarf)
  if (!sourceMap) return { wasm: stripped, sourceMap: null }
  const url = `data:application/json;base64,${Buffer.from(JSON.stringify(sourceMap)).toString('base64')}`
  return { wasm: concatBytes(stripped, section(0, concatBytes(encodeName(SOURCE_MAPPING_URL), encodeName(url)))), sourceMap }
}

const SOURCE_MAPPING_URL = 'sourceMappingURL'

/**
 * A JSPI build as shipped: with `debug`, its DWARF (the input's, still true
 * of its unchanged code) as an embedded source map. Only this build gets one:
 * binaryen.js reads DWARF as opaque sections and cannot move its addresses
 * through Asyncify (native wasm-opt can), so a map of the asyncified code
 * would point at wrong lines.
 */
export function withDebugInfo<Build extends { wasm: Uint8Array }>(build: Build, debug: boolean): Build {
  return debug ? { ...build, wasm: withEmbeddedSourceMap(build.wasm).wasm } : build
}

/** The map of `dwarf`'s line tables onto `wasm`, whose code section they describe; null without any source line. */
function sourceMapFor(wasm: Uint8Array, dwarf: DwarfSections): WasmSourceMap | null {
  const codeStart = codeContentsStart(wasm)
  if (codeStart === null) return null
  const rows = readLineRows(dwarf)
  rows.sort((a, b) => a.address - b.address || Number(b.endSequence) - Number(a.endSequence))
  const sources: string[] = []
  const index = new Map<string, number>()
  const segments: SourceMapSegment[] = []
  let last = -1
  for (const row of rows) {
    const column = codeStart + row.address
    // One mapping per offset: the first row there, or the end of a sequence (a mapping to no source).
    if (column === last) continue
    last = column
    if (row.endSequence || row.line === 0) {
      segments.push([column])
      continue
    }
    let source = index.get(row.file)
    if (source === undefined) {
      source = sources.length
      index.set(row.file, source)
      sources.push(row.file)
    }
    segments.push([column, source, row.line - 1, Math.max(0, row.column - 1)])
  }
  if (sources.length === 0) return null
  return {
    version: 3,
    sources,
    // Paths are absolute when the compiler recorded an absolute directory; a relative
    // one is looked for from where the build runs, usually where it was compiled.
    sourcesContent: sources.map((path) => (existsSync(path) ? readFileSync(path, 'utf8') : null)),
    names: [],
    mappings: encode([segments]),
  }
}

/** Where the code section's contents start in the module (DWARF addresses count from there). */
function codeContentsStart(wasm: Uint8Array): number | null {
  const reader = new WasmReader(wasm, 8)
  while (reader.offset < wasm.length) {
    const id = reader.byte()
    const size = reader.u32()
    if (id === 10) return reader.offset
    reader.offset += size
  }
  return null
}
