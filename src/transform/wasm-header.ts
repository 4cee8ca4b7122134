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

/** Names of the top-level custom sections; stops quietly at a truncated section (Binaryen reports those). */
function customSectionNames(bytes: Uint8Array): string[] {
  const names: string[] = []
  let offset = 8
  const leb = (): number => {
    let result = 0
    let shift = 0
    for (;;) {
      const byte = bytes[offset++]
      if (byte === undefined) return -1
      result += (byte & 0x7f) * 2 ** shift
      if ((byte & 0x80) === 0) return result
      shift += 7
    }
  }
  while (offset < bytes.length) {
    const id = bytes[offset++]
    const size = leb()
    const end = offset + size
    if (size < 0 || end > bytes.length) break
    if (id === 0) {
      const length = leb()
      if (length >= 0 && offset + length <= end) {
        names.push(new TextDecoder().decode(bytes.subarray(offset, offset + length)))
      }
    }
    offset = end
  }
  return names
}
