import { AsyncifyError } from '../runtime-shim/errors.js'
import { METADATA_SECTION, STACK_POINTER_IMPORT } from '../runtime-shim/metadata.js'
import { concatBytes, encodeName, leb, section } from '../runtime-shim/wasm-writer.js'
import { WasmReader } from './wasm-reader.js'

const MAGIC = [0x00, 0x61, 0x73, 0x6d]

/** Rejects bytes that are not a wasm module before Binaryen sees them. */
export function checkWasmHeader(bytes: Uint8Array, filename: string): void {
  if (bytes.length < 8 || MAGIC.some((byte, i) => bytes[i] !== byte)) {
    throw new AsyncifyError(
      'ASYNCIFY_NOT_WASM',
      `${filename}: not a WebAssembly module (it does not start with "\\0asm"); ` +
        `check that the path points at a .wasm file and not at JavaScript, HTML or text`,
    )
  }
  const version = bytes[4]! | (bytes[5]! << 8) | (bytes[6]! << 16) | (bytes[7]! << 24)
  if (version !== 1) {
    throw new AsyncifyError(
      'ASYNCIFY_INVALID_WASM',
      `${filename}: unsupported WebAssembly binary version ${version} (only version 1 exists); ` +
        `it is probably a component or a corrupted file: pass a core module`,
    )
  }
  if (customSectionNames(bytes).includes(METADATA_SECTION)) {
    throw new AsyncifyError(
      'ASYNCIFY_ALREADY_TRANSFORMED',
      `${filename}: this module was already transformed by unplugin-asyncify; instrumenting it twice would break it. ` +
        `Pass the original module, or load this one directly with instantiate() from unplugin-asyncify/runtime`,
    )
  }
}

interface CustomSection {
  name: string
  payload: Uint8Array
  /** Where the whole section (id, size, name, payload) starts and ends in the module. */
  start: number
  end: number
}

/** The top-level custom sections; stops quietly at a truncated section (Binaryen reports those). */
function customSections(bytes: Uint8Array): CustomSection[] {
  const sections: CustomSection[] = []
  const reader = new WasmReader(bytes, 8)
  try {
    while (reader.offset < bytes.length) {
      const start = reader.offset
      const id = reader.byte()
      const end = reader.u32() + reader.offset
      if (end > bytes.length) break
      if (id === 0) {
        const name = reader.name()
        if (reader.offset <= end) sections.push({ name, payload: bytes.subarray(reader.offset, end), start, end })
      }
      reader.offset = end
    }
  } catch {
    // Truncated: what was read stands.
  }
  return sections
}

export function customSectionNames(bytes: Uint8Array): string[] {
  return customSections(bytes).map((section) => section.name)
}

/** The payloads of the custom sections called `name`, in module order. */
export function customSectionPayloads(bytes: Uint8Array, name: string): Uint8Array[] {
  return customSections(bytes)
    .filter((section) => section.name === name)
    .map((section) => section.payload)
}

/** The module without its custom sections called `name`; null when it has none. */
export function withoutCustomSection(bytes: Uint8Array, name: string): Uint8Array | null {
  const dropped = customSections(bytes).filter((section) => section.name === name)
  if (dropped.length === 0) return null
  const kept: Uint8Array[] = []
  let from = 0
  for (const section of dropped) {
    kept.push(bytes.subarray(from, section.start))
    from = section.end
  }
  kept.push(bytes.subarray(from))
  return concatBytes(...kept)
}

/** Name-section subsections that map an index to a name. */
export const NAME_SUBSECTION = { memory: 6, global: 7 } as const

/**
 * Names by index from one subsection of the name section (binaryen.js 132
 * reads neither global nor memory names, and the transform needs both: clang's
 * `__stack_pointer`, and the internal name of memory 0 to export it).
 * Null when the module has no such subsection.
 */
export function indexNames(bytes: Uint8Array, subsection: number): Map<number, string> | null {
  const section = customSections(bytes).find((entry) => entry.name === 'name')
  if (!section) return null
  const reader = new WasmReader(section.payload)
  try {
    while (reader.offset < section.payload.length) {
      const id = reader.byte()
      const end = reader.u32() + reader.offset
      if (id === subsection) {
        const names = new Map<number, string>()
        for (let count = reader.u32(); count > 0; count--) {
          const index = reader.u32()
          names.set(index, reader.name())
        }
        return names
      }
      reader.offset = end
    }
  } catch {
    // A damaged name section names nothing.
  }
  return null
}

/**
 * How many memories the module has, and Binaryen's internal name of memory 0
 * (to name it to passes when there are several): the name section's, else the
 * one Binaryen's reader makes up, `mimport$0` for an imported memory and the
 * index among defined memories otherwise. Null without a memory.
 */
export function memoryZero(bytes: Uint8Array): { count: number; name: string } | null {
  const reader = new WasmReader(bytes, 8)
  let imported = 0
  let defined = 0
  try {
    while (reader.offset < bytes.length) {
      const id = reader.byte()
      const end = reader.u32() + reader.offset
      if (id === 2) {
        for (let count = reader.u32(); count > 0; count--) if (reader.importEntry().kind === 2) imported++
      } else if (id === 5) {
        defined = reader.u32()
      }
      reader.offset = end
    }
  } catch {
    // Binaryen reports a damaged module; what was counted stands.
  }
  if (imported + defined === 0) return null
  const name = indexNames(bytes, NAME_SUBSECTION.memory)?.get(0) ?? (imported > 0 ? 'mimport$0' : '0')
  return { count: imported + defined, name }
}

/** An export to add: `kind` is the export kind byte (0 function, 2 memory, 3 global). */
export interface AddedExport {
  name: string
  kind: 0 | 1 | 2 | 3
  index: number
}

/** Where each known section id sits in the required order (custom sections may go anywhere). */
const SECTION_ORDER = [1, 2, 3, 4, 5, 13, 6, 7, 8, 9, 12, 10, 11]

/**
 * The module with `added` appended to its exports, every other byte as it was
 * (code, DWARF and source-map offsets stay valid): the JSPI path serves the
 * input itself, with only what the runtime must reach exported.
 */
export function withExports(bytes: Uint8Array, added: AddedExport[]): Uint8Array {
  if (added.length === 0) return bytes
  const entries = added.map((entry) => concatBytes(encodeName(entry.name), [entry.kind], leb(entry.index)))
  const reader = new WasmReader(bytes, 8)
  const exportRank = SECTION_ORDER.indexOf(7)
  while (reader.offset < bytes.length) {
    const start = reader.offset
    const id = reader.byte()
    const end = reader.u32() + reader.offset
    if (id === 7) {
      const count = reader.u32()
      const payload = concatBytes(leb(count + added.length), bytes.subarray(reader.offset, end), ...entries)
      return concatBytes(bytes.subarray(0, start), [7], leb(payload.length), payload, bytes.subarray(end))
    }
    if (id !== 0 && SECTION_ORDER.indexOf(id) > exportRank) {
      return concatBytes(bytes.subarray(0, start), section(7, concatBytes(leb(added.length), ...entries)), bytes.subarray(start))
    }
    reader.offset = end
  }
  return concatBytes(bytes, section(7, concatBytes(leb(added.length), ...entries)))
}

/**
 * The module with its C stack pointer, defined global `index`, turned into
 * the import STACK_POINTER_IMPORT, and the pointer's initial value; null when
 * that would renumber anything. Only the first defined global can move: as
 * the last imported global it keeps its index, so code, DWARF and names stay
 * valid byte for byte. It must be a mutable i32 set by `i32.const`, as
 * wasm-ld writes it.
 */
export function withStackPointerImported(bytes: Uint8Array, index: number): { wasm: Uint8Array; initial: number } | null {
  const reader = new WasmReader(bytes, 8)
  let imports: { start: number; end: number; count: number; entries: number } | null = null
  let importedGlobals = 0
  let globals: { start: number; end: number; count: number; rest: number; initial: number } | null = null
  const importRank = SECTION_ORDER.indexOf(2)
  let importAt = bytes.length
  while (reader.offset < bytes.length) {
    const start = reader.offset
    const id = reader.byte()
    const end = reader.u32() + reader.offset
    if (id !== 0 && importAt === bytes.length && SECTION_ORDER.indexOf(id) > importRank) importAt = start
    if (id === 2) {
      const count = reader.u32()
      imports = { start, end, count, entries: reader.offset }
      try {
        for (let i = 0; i < count; i++) if (reader.importEntry().kind === 3) importedGlobals++
      } catch {
        // An import encoding this reader does not know: leave the pointer defined.
        return null
      }
    } else if (id === 6) {
      const count = reader.u32()
      if (count === 0 || reader.byte() !== 0x7f || reader.byte() !== 1 || reader.byte() !== 0x41) return null
      const initial = reader.s32()
      if (reader.byte() !== 0x0b) return null
      globals = { start, end, count, rest: reader.offset, initial }
    }
    reader.offset = end
  }
  if (globals === null || index !== importedGlobals) return null
  const entry = concatBytes(encodeName(STACK_POINTER_IMPORT.module), encodeName(STACK_POINTER_IMPORT.name), [3, 0x7f, 1])
  const importSection = imports
    ? section(2, concatBytes(leb(imports.count + 1), bytes.subarray(imports.entries, imports.end), entry))
    : section(2, concatBytes(leb(1), entry))
  const globalSection = section(6, concatBytes(leb(globals.count - 1), bytes.subarray(globals.rest, globals.end)))
  const [importStart, importEnd] = imports ? [imports.start, imports.end] : [importAt, importAt]
  const wasm = concatBytes(
    bytes.subarray(0, importStart),
    importSection,
    bytes.subarray(importEnd, globals.start),
    globalSection,
    bytes.subarray(globals.end),
  )
  return { wasm, initial: globals.initial }
}

/** The module with a custom section appended. */
export function withCustomSection(bytes: Uint8Array, name: string, payload: Uint8Array): Uint8Array {
  return concatBytes(bytes, section(0, concatBytes(encodeName(name), payload)))
}

/** Where the code section's contents start in the module (DWARF addresses count from there). */
export function codeContentsStart(wasm: Uint8Array): number | null {
  return codeContents(wasm)?.start ?? null
}

/** Where the code section's contents lie in the module. */
export function codeContents(wasm: Uint8Array): { start: number; end: number } | null {
  const reader = new WasmReader(wasm, 8)
  while (reader.offset < wasm.length) {
    const id = reader.byte()
    const size = reader.u32()
    if (id === 10) return { start: reader.offset, end: reader.offset + size }
    reader.offset += size
  }
  return null
}
