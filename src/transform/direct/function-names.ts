/*
 * The name section's subsections keyed by function index (function names,
 * and the local and label names of each function), written again for a
 * module whose functions moved or were copied: each entry goes to every
 * index `places` gives it, each map sorted by index again. The other
 * subsections are kept as they were.
 */
import { concatBytes, leb, vector } from '../../runtime-shim/wasm-writer.js'
import { WasmReader } from '../wasm-reader.js'

const FUNCTION_NAMES = 1
/** Subsections whose entries are each a name map of their own, for one function (locals, labels). */
const FUNCTION_MAPS = new Set([2, 3])

/**
 * The subsections of a name section whose contents (after the section's own
 * name) are `bytes[start, end)`, each function's entries at `places(index)`.
 * Null when a subsection does not end where its size says.
 */
export function functionNamesPlaced(bytes: Uint8Array, start: number, end: number, places: (index: number) => number[]): Uint8Array | null {
  const reader = new WasmReader(bytes, start)
  const parts: Uint8Array[] = []
  while (reader.offset < end) {
    const subsection = reader.offset
    const id = reader.byte()
    const size = reader.u32()
    const stop = reader.offset + size
    if (id === FUNCTION_NAMES || FUNCTION_MAPS.has(id)) {
      const entries: { index: number; rest: Uint8Array }[] = []
      for (let n = reader.u32(); n > 0; n--) {
        const index = reader.u32()
        const first = reader.offset
        if (id === FUNCTION_NAMES) reader.name()
        else
          for (let m = reader.u32(); m > 0; m--) {
            reader.u32()
            reader.name()
          }
        const rest = bytes.subarray(first, reader.offset)
        for (const place of places(index)) entries.push({ index: place, rest })
      }
      if (reader.offset !== stop) return null
      entries.sort((a, b) => a.index - b.index)
      const payload = vector(entries.map((entry) => concatBytes(leb(entry.index), entry.rest)))
      parts.push(concatBytes([id], leb(payload.length), payload))
    } else parts.push(bytes.subarray(subsection, stop))
    reader.offset = stop
  }
  return concatBytes(...parts)
}
