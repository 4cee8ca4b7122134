/*
 * Code metadata sections (`metadata.code.*`, such as branch hints) attach
 * data to instructions by their byte offset in a function's body. The bodies
 * this engine instruments are rewritten, so their entries would point into
 * other instructions: they are dropped, and every other function's entries,
 * whose bodies and indices are the input's, are kept as they were. Such data
 * only ever guides an engine's compiler; losing it never changes what a
 * module computes, so a section that cannot be read is dropped whole.
 */
import { concatBytes, encodeName, leb, section } from '../../runtime-shim/wasm-writer.js'
import { WasmReader } from '../wasm-reader.js'

export const CODE_METADATA_PREFIX = 'metadata.code.'

/**
 * The section `name` (payload `bytes[from, to)`, after its name) without the
 * entries of `rewritten` functions; null when none is left or it cannot be read.
 */
export function codeMetadataKept(name: string, bytes: Uint8Array, from: number, to: number, rewritten: ReadonlySet<number>): Uint8Array | null {
  const kept: Uint8Array[] = []
  try {
    const reader = new WasmReader(bytes, from)
    for (let functions = reader.u32(); functions > 0; functions--) {
      const start = reader.offset
      const index = reader.u32()
      for (let instances = reader.u32(); instances > 0; instances--) {
        reader.u32()
        const length = reader.u32()
        reader.offset += length
      }
      if (reader.offset > to) return null
      if (!rewritten.has(index)) kept.push(bytes.subarray(start, reader.offset))
    }
    if (reader.offset !== to) return null
  } catch {
    return null
  }
  return kept.length === 0 ? null : section(0, concatBytes(encodeName(name), leb(kept.length), ...kept))
}
