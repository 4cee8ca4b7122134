/*
 * Code metadata sections (`metadata.code.*`, such as branch hints) attach
 * data to instructions by their byte offset in a function's body. Instrumented
 * bodies are rewritten, so their entries would point into other
 * instructions. Such data only ever guides an engine's compiler: losing it
 * never changes what a module computes, so what cannot be kept true is
 * dropped. Branch hints, the one kind whose meaning is known, are kept in
 * instrumented bodies too, moved with the instructions they describe; the
 * direct engine adds its own for the code it adds (`RARELY_TAKEN`).
 */
import { concatBytes, encodeName, leb, section, vector } from '../runtime-shim/wasm-writer.js'
import { WasmReader } from './wasm-reader.js'
import { customSectionNames, withoutCustomSection } from './wasm-sections.js'

export const CODE_METADATA_PREFIX = 'metadata.code.'

/** The one kind Binaryen reads into its IR and writes back for the code it emits; the direct engine writes it too. */
export const BRANCH_HINTS = `${CODE_METADATA_PREFIX}branch_hint`

/** One entry of a code metadata section: its instruction's offset from the body's first byte, and its data as encoded (size, then bytes). */
export interface CodeMetadataEntry {
  offset: number
  data: Uint8Array
}

/** A branch hint's data: one byte, 0: the branch is not taken, the if's condition false. */
export const RARELY_TAKEN = new Uint8Array([1, 0])

/**
 * The entries of a code metadata section whose payload (after its name) is
 * `bytes[from, to)`, per function index, in the section's order; null when it
 * cannot be read.
 */
export function readCodeMetadata(bytes: Uint8Array, from: number, to: number): Map<number, CodeMetadataEntry[]> | null {
  const functions = new Map<number, CodeMetadataEntry[]>()
  try {
    const reader = new WasmReader(bytes, from)
    for (let count = reader.u32(); count > 0; count--) {
      const index = reader.u32()
      const entries: CodeMetadataEntry[] = []
      for (let instances = reader.u32(); instances > 0; instances--) {
        const offset = reader.u32()
        const start = reader.offset
        const length = reader.u32()
        reader.offset += length
        if (reader.offset > to) return null
        entries.push({ offset, data: bytes.subarray(start, reader.offset) })
      }
      if (functions.has(index)) return null
      functions.set(index, entries)
    }
    if (reader.offset !== to) return null
  } catch {
    return null
  }
  return functions
}

/** The code metadata section `name` with these entries (functions by index, each one's entries by offset, as engines expect); null when there are none. */
export function codeMetadataSection(name: string, functions: ReadonlyMap<number, CodeMetadataEntry[]>): Uint8Array | null {
  const listed = [...functions].filter(([, entries]) => entries.length > 0).sort(([a], [b]) => a - b)
  if (listed.length === 0) return null
  const encoded = listed.map(([index, entries]) =>
    concatBytes(leb(index), vector([...entries].sort((a, b) => a.offset - b.offset).map((entry) => concatBytes(leb(entry.offset), entry.data)))),
  )
  return section(0, concatBytes(encodeName(name), vector(encoded)))
}

/**
 * Binaryen's output without the code metadata it passed through unread:
 * their entries still describe the input's bodies and function indices.
 * Binaryen writes such sections after the code section (where engines do
 * not read code metadata), so removing them moves no code offset.
 */
export function withoutUnmaintainedCodeMetadata(wasm: Uint8Array): Uint8Array {
  let kept = wasm
  for (const name of customSectionNames(wasm)) {
    if (name.startsWith(CODE_METADATA_PREFIX) && name !== BRANCH_HINTS) kept = withoutCustomSection(kept, name) ?? kept
  }
  return kept
}

/**
 * For the direct engine, which keeps every index and every body it does not
 * instrument: the section `name` (payload `bytes[from, to)`, after its name)
 * without the entries of `rewritten` functions, the others as they were;
 * null when none is left or it cannot be read.
 */
export function codeMetadataKept(name: string, bytes: Uint8Array, from: number, to: number, rewritten: ReadonlySet<number>): Uint8Array | null {
  const functions = readCodeMetadata(bytes, from, to)
  if (functions === null) return null
  for (const index of rewritten) functions.delete(index)
  return codeMetadataSection(name, functions)
}
