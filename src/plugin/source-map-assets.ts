/*
 * A build made with `debug` carries its source map embedded, as a data URL
 * (transform/source-map.ts): that is how the dev server serves it and how the
 * CLI writes it. A bundler's build ships the map as a file of its own
 * instead, so the module stays small and DevTools fetches the map only when
 * it is opened. The map is taken out before the bundler names the .wasm;
 * once the bundler has named it, the .wasm gets the map's URL, relative to
 * itself (the runtime streams the module from its URL, which DevTools
 * resolves the map's against), and the map is emitted beside it as
 * `<final name>.map`. The .wasm is recognised by its bytes: the one thing
 * every bundler shows of an asset at that point.
 */
import { createHash } from 'node:crypto'
import { basename } from 'node:path'
import { encodeName } from '../runtime-shim/wasm-writer.js'
import { SOURCE_MAPPING_URL } from '../transform/line-table.js'
import { WasmReader } from '../transform/wasm-reader.js'
import { customSectionPayloads, withCustomSection, withoutCustomSection } from '../transform/wasm-sections.js'

export interface PlacedSourceMap {
  /** The .wasm, naming its map by a URL relative to itself. */
  wasm: Uint8Array
  /** Where the map goes: beside the .wasm, in the bundler's output. */
  mapFileName: string
  map: Uint8Array
}

export class SourceMapAssets {
  /** By the hash of a .wasm without its map: the map, as JSON. */
  private readonly detached = new Map<string, Uint8Array>()

  /** `wasm` without its embedded map, which `place` gives back once the bundler has named the .wasm; unchanged without one. */
  detach(wasm: Uint8Array): Uint8Array {
    const [payload] = customSectionPayloads(wasm, SOURCE_MAPPING_URL)
    if (!payload) return wasm
    const url = new WasmReader(payload).name()
    if (!url.startsWith('data:application/json;base64,')) return wasm
    const stripped = withoutCustomSection(wasm, SOURCE_MAPPING_URL) ?? wasm
    this.detached.set(hash(stripped), new Uint8Array(Buffer.from(url.slice(url.indexOf(',') + 1), 'base64')))
    return stripped
  }

  /** Whether any build of this bundler run had its map detached. */
  get any(): boolean {
    return this.detached.size > 0
  }

  /** For an emitted asset `fileName` with `bytes`: the .wasm pointing at its map, and the map; null when it is not a detached build. */
  place(fileName: string, bytes: Uint8Array): PlacedSourceMap | null {
    if (!fileName.endsWith('.wasm')) return null
    const map = this.detached.get(hash(bytes))
    if (!map) return null
    const mapFileName = `${fileName}.map`
    return { wasm: withCustomSection(bytes, SOURCE_MAPPING_URL, encodeName(basename(mapFileName))), mapFileName, map }
  }
}

function hash(bytes: Uint8Array): string {
  return createHash('sha256').update(bytes).digest('hex')
}
