import { AsyncifyError } from '../runtime-shim/errors.js'
import { METADATA_SECTION } from '../runtime-shim/metadata.js'

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

/** A cursor over wasm's LEB128-prefixed encoding; reads past the end yield -1. */
class Reader {
  constructor(
    readonly bytes: Uint8Array,
    public offset = 0,
  ) {}

  leb(): number {
    let result = 0
    let shift = 0
    for (;;) {
      const byte = this.bytes[this.offset++]
      if (byte === undefined) return -1
      result += (byte & 0x7f) * 2 ** shift
      if ((byte & 0x80) === 0) return result
      shift += 7
    }
  }

  name(): string | null {
    const length = this.leb()
    if (length < 0 || this.offset + length > this.bytes.length) return null
    const text = new TextDecoder().decode(this.bytes.subarray(this.offset, this.offset + length))
    this.offset += length
    return text
  }
}

/** The top-level custom sections; stops quietly at a truncated section (Binaryen reports those). */
function customSections(bytes: Uint8Array): { name: string; payload: Uint8Array }[] {
  const sections: { name: string; payload: Uint8Array }[] = []
  const reader = new Reader(bytes, 8)
  while (reader.offset < bytes.length) {
    const id = bytes[reader.offset++]
    const size = reader.leb()
    const end = reader.offset + size
    if (size < 0 || end > bytes.length) break
    if (id === 0) {
      const name = reader.name()
      if (name !== null && reader.offset <= end) sections.push({ name, payload: bytes.subarray(reader.offset, end) })
    }
    reader.offset = end
  }
  return sections
}

function customSectionNames(bytes: Uint8Array): string[] {
  return customSections(bytes).map((section) => section.name)
}

/**
 * Global names from the name section (subsection 7), by global index.
 * binaryen.js 132 does not read them, and the transform needs one:
 * clang's `__stack_pointer`.
 */
export function globalNames(bytes: Uint8Array): Map<number, string> | null {
  const section = customSections(bytes).find((entry) => entry.name === 'name')
  if (!section) return null
  const reader = new Reader(section.payload)
  while (reader.offset < section.payload.length) {
    const id = section.payload[reader.offset++]
    const size = reader.leb()
    if (size < 0) return null
    const end = reader.offset + size
    if (id === 7) {
      const names = new Map<number, string>()
      const count = reader.leb()
      for (let i = 0; i < count && reader.offset < end; i++) {
        const index = reader.leb()
        const name = reader.name()
        if (index < 0 || name === null) return null
        names.set(index, name)
      }
      return names
    }
    reader.offset = end
  }
  return null
}
