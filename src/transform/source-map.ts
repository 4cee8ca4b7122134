/*
 * A source map for a wasm module from the DWARF line tables it carries
 * (dwarf-lines.ts). Browsers read source maps for wasm natively, without the
 * DWARF extension DevTools needs: a mapping's generated column is a byte
 * offset in the module, the generated line always 0.
 */
import { existsSync, readFileSync } from 'node:fs'
import { encode, type SourceMapSegment } from '@jridgewell/sourcemap-codec'
import { concatBytes, encodeName, section } from '../runtime-shim/wasm-writer.js'
import { dwarfSections, readLineRows, type DwarfSections } from './dwarf-lines.js'
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
 * The build as shipped with debug info: its DWARF line tables turned into a
 * source map, embedded (see embedSourceMap), and the DWARF dropped. A module
 * without line tables comes back without DWARF and without a map.
 */
export function withEmbeddedSourceMap(wasm: Uint8Array): Uint8Array {
  const dwarf = dwarfSections(wasm)
  const stripped = withoutDebugSections(wasm)
  const sourceMap = dwarf && sourceMapFor(stripped, dwarf)
  return sourceMap ? embedSourceMap(stripped, sourceMap) : stripped
}

/**
 * `wasm` with `map` as a data URL in its `sourceMappingURL` section (so the
 * map travels with the module into workers, bundles and caches), the C
 * sources in its `sourcesContent` when they can be read where the build runs
 * (so the map works wherever the module is served), and no other debug
 * section. The map's columns are code offsets, which sections after the code
 * do not move.
 */
export function embedSourceMap(wasm: Uint8Array, map: SourceMapWithoutSources): Uint8Array {
  const sourceMap: WasmSourceMap = {
    version: 3,
    sources: map.sources,
    // Paths are absolute when the compiler recorded an absolute directory; a relative
    // one is looked for from where the build runs, usually where it was compiled.
    sourcesContent: map.sources.map((path) => (existsSync(path) ? readFileSync(path, 'utf8') : null)),
    names: map.names,
    mappings: map.mappings,
  }
  const url = `data:application/json;base64,${Buffer.from(JSON.stringify(sourceMap)).toString('base64')}`
  return concatBytes(withoutDebugSections(wasm), section(0, concatBytes(encodeName(SOURCE_MAPPING_URL), encodeName(url))))
}

/** The name of the custom section that holds a module's source map URL. */
export const SOURCE_MAPPING_URL = 'sourceMappingURL'

function withoutDebugSections(wasm: Uint8Array): Uint8Array {
  let stripped = wasm
  for (const name of customSectionNames(wasm)) {
    if (name.startsWith('.debug_') || name === SOURCE_MAPPING_URL) stripped = withoutCustomSection(stripped, name) ?? stripped
  }
  return stripped
}

/**
 * A JSPI build as shipped: with `debug`, its DWARF (the input's, still true
 * of its unchanged code) as an embedded source map. The asyncified build gets
 * its map from Binaryen, which carries each instruction's line through
 * Asyncify (debug-locations.ts).
 */
export function withDebugInfo<Build extends { wasm: Uint8Array }>(build: Build, debug: boolean): Build {
  return debug ? { ...build, wasm: withEmbeddedSourceMap(build.wasm) } : build
}

/** The map of `dwarf`'s line tables onto `wasm`, whose code section they describe; null without any source line. */
function sourceMapFor(wasm: Uint8Array, dwarf: DwarfSections): SourceMapWithoutSources | null {
  const codeStart = codeContentsStart(wasm)
  if (codeStart === null) return null
  const rows = readLineRows(dwarf)
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
