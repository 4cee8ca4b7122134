import binaryen from 'binaryen'
import { expect } from 'vitest'

/** The module as Binaryen writes it again, with its name section or (`names` false) without, as `wasm-opt --strip-debug` leaves it. */
export function reencoded(bytes: Uint8Array, names: boolean): Uint8Array {
  const module = binaryen.readBinary(bytes)
  module.setFeatures(binaryen.Features.All & ~(binaryen.Features as unknown as Record<string, number>).CompactImports!)
  binaryen.setDebugInfo(names)
  try {
    return module.emitBinary()
  } finally {
    binaryen.setDebugInfo(false)
    module.dispose()
  }
}

/** The module without its name section, as `wasm-opt --strip-debug` or a stripping linker leaves it. */
export function stripNames(bytes: Uint8Array): Uint8Array {
  const stripped = reencoded(bytes, false)
  expect(WebAssembly.Module.customSections(new WebAssembly.Module(stripped as Uint8Array<ArrayBuffer>), 'name')).toEqual([])
  return stripped
}
