/*
 * A source map for a wasm module from the input's line table (line-table.ts). Browsers read source maps for wasm natively, without the
 * DWARF extension DevTools needs: a mapping's generated column is a byte
 * offset in the module, the generated line always 0.
 */
import { existsSync, readFileSync } from 'node:fs'
import { encode, type SourceMapSegment } from '@jridgewell/sourcemap-codec'
import { concatBytes, encodeName, section } from '../runtime-shim/wasm-writer.js'
import type { LineRow } from './dwarf-lines.js'
import { SOURCE_MAPPING_URL, type LineTable } from './line-table.js'
import { codeContentsStart, customSectionNames, withoutCustomSection } from './wasm-sections.js'

export interface WasmSourceMap {
  version: 3
  sources: string[]
  sourcesContent: (string | null)[]
  names: string[]
  mappings: string
}

/** A map as Binaryen or DWARF gives it, before the sources are read into it. */
export type SourceMapWithoutSources = Omit<WasmSourceMap, 'sourcesContent'>

/**
 * `wasm` with `map` as a data URL in its `sourceMappingURL` section (so the
 * map travels with the module into workers, bundles and caches), the sources
 * in its `sourcesContent` (from `contents`, else read where the build runs,
 * so the map works wherever the module is served), and no other debug
 * section. The map's columns are code offsets, which sections after the code
 * do not move.
 */
export function embedSourceMap(wasm: Uint8Array, map: SourceMapWithoutSources, contents: ReadonlyMap<string, string>): Uint8Array {
  const sourceMap: WasmSourceMap = {
    version: 3,
    sources: map.sources,
    // Paths are absolute when the compiler recorded an absolute directory; a relative
    // one is looked for from where the build runs, usually where it was compiled.
    sourcesContent: map.sources.map((path) => contents.get(path) ?? (existsSync(path) ? readFileSync(path, 'utf8') : null)),
    names: map.names,
    mappings: map.mappings,
  }
  const url = `data:application/json;base64,${Buffer.from(JSON.stringify(sourceMap)).toString('base64')}`
  return concatBytes(withoutDebugSections(wasm), section(0, concatBytes(encodeName(SOURCE_MAPPING_URL), encodeName(url))))
}

/** `wasm` without the input's source map URL, whose offsets count from the start of a module laid out differently. */
export function withoutSourceMapUrl(wasm: Uint8Array): Uint8Array {
  return withoutCustomSection(wasm, SOURCE_MAPPING_URL) ?? wasm
}

/** `wasm` without DWARF and without a source map URL. */
export function withoutDebugSections(wasm: Uint8Array): Uint8Array {
  let stripped = wasm
  for (const name of customSectionNames(wasm)) {
    if (name.startsWith('.debug_') || name === SOURCE_MAPPING_URL) stripped = withoutCustomSection(stripped, name) ?? stripped
  }
  return stripped
}

/**
 * A JSPI build as shipped. With `debug` (a line table), the input's lines,
 * still true of its unchanged code, as an embedded source map, and no DWARF.
 * Without, it keeps the input's DWARF (code-relative, so still true) but not
 * a source map URL of the input's: that map's offsets count from the start
 * of the module, and the JSPI build's code sits elsewhere. The asyncified
 * build's rows are moved first (direct/addresses.ts), or Binaryen writes its
 * map (debug-locations.ts).
 */
export function withDebugInfo<Build extends { wasm: Uint8Array }>(build: Build, lines: LineTable | null): Build {
  if (lines === null) return { ...build, wasm: withoutSourceMapUrl(build.wasm) }
  const stripped = withoutDebugSections(build.wasm)
  const map = sourceMapFor(stripped, lines.rows)
  return { ...build, wasm: map ? embedSourceMap(stripped, map, lines.contents) : stripped }
}

/** The map of `rows` onto `wasm`, whose code section they describe; null without any source line. */
function sourceMapFor(wasm: Uint8Array, rows: readonly LineRow[]): SourceMapWithoutSources | null {
  const codeStart = codeContentsStart(wasm)
  if (codeStart === null) return null
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
  return { version: 3, sources, names: [], mappings: encode([segments]) }
}
