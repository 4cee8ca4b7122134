/*
 * Code metadata sections (`metadata.code.*`, such as branch hints) attach
 * data to instructions by their byte offset in a function's body. Instrumented
 * bodies are rewritten, so their entries would point into other
 * instructions. Such data only ever guides an engine's compiler: losing it
 * never changes what a module computes, so what cannot be kept true is
 * dropped. The direct engine writes branch hints of its own for the code it
 * adds (`rarelyTakenHints`) when the input has none.
 */
import { concatBytes, encodeName, leb, section, vector } from '../runtime-shim/wasm-writer.js'
import { WasmReader } from './wasm-reader.js'
import { customSectionNames, withoutCustomSection } from './wasm-sections.js'

export const CODE_METADATA_PREFIX = 'metadata.code.'

/** The one kind Binaryen reads into its IR and writes back for the code it emits; the direct engine writes it too. */
export const BRANCH_HINTS = `${CODE_METADATA_PREFIX}branch_hint`

/**
 * A branch hint section saying that each listed branch (`if`, `br_if`) is
 * rarely taken: per function index, the offsets of its branches from the
 * body's first byte, in order.
 */
export function rarelyTakenHints(functions: { index: number; offsets: number[] }[]): Uint8Array {
  // Each hint: its offset, its size (1 byte), and 0: the branch is not taken, the if's condition false.
  const entries = functions.map(({ index, offsets }) => concatBytes(leb(index), vector(offsets.map((offset) => concatBytes(leb(offset), [1, 0])))))
  return section(0, concatBytes(encodeName(BRANCH_HINTS), vector(entries)))
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
 * without the entries of `rewritten` functions, the others byte for byte;
 * null when none is left or it cannot be read.
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
