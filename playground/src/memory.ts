/** Strings across the wasm boundary: UTF-8 in the module's linear memory. */

const decoder = new TextDecoder()
const encoder = new TextEncoder()

export function readText(memory: WebAssembly.Memory, address: number, length: number): string {
  return decoder.decode(new Uint8Array(memory.buffer, address, length))
}

/** Writes `text` as a NUL-terminated string of at most `capacity` bytes; returns the bytes written before the NUL. */
export function writeCString(memory: WebAssembly.Memory, address: number, capacity: number, text: string): number {
  const target = new Uint8Array(memory.buffer, address, capacity)
  const { written } = encoder.encodeInto(text, target.subarray(0, capacity - 1))
  target[written] = 0
  return written
}

/** Copies `bytes` into memory from `alloc` (the module's malloc), NUL-terminated; returns the address. */
export function copyIn(memory: WebAssembly.Memory, alloc: (bytes: number) => number, bytes: Uint8Array): number {
  const address = alloc(bytes.length + 1)
  const target = new Uint8Array(memory.buffer, address, bytes.length + 1)
  target.set(bytes)
  target[bytes.length] = 0
  return address
}

export function utf8(text: string): Uint8Array {
  return encoder.encode(text)
}
