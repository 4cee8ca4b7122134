/*
 * A mutable i32 `WebAssembly.Global` read and written through a tiny wasm
 * module that imports it. From JS, V8 reaches a Global's `value` through a
 * C++ accessor (measured 15-30 ns per read or write in Node 20 and 26); a
 * call to a small wasm export costs 3-15 ns. The drivers touch two such
 * globals on every suspension: the C stack pointer and the JSPI trampolines'
 * signal.
 */
import { concatBytes, encodeName, section, vector } from './wasm-writer.js'

export interface I32Global {
  /** The value, unsigned (addresses may exceed 2 GiB). */
  get(): number
  set(value: number): void
  /** The accessor's own wasm functions (`get` signed), for generated wasm to call through a table. */
  wasm: { get: () => number; set: (value: number) => void }
}

const I32 = 0x7f
const [GLOBAL_GET, GLOBAL_SET, LOCAL_GET, END] = [0x23, 0x24, 0x20, 0x0b]

/** Imports `t.g` (mutable i32); exports `get` and `set`. */
function encodeAccess(): Uint8Array {
  // Body size, no locals, the code, end.
  const func = (code: number[]) => concatBytes([code.length + 2, 0], code, [END])
  return concatBytes(
    [0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00],
    section(1, vector([[0x60, 0, 1, I32], [0x60, 1, I32, 0]])),
    section(2, vector([concatBytes(encodeName('t'), encodeName('g'), [3, I32, 1])])),
    section(3, vector([[0], [1]])),
    section(7, vector([concatBytes(encodeName('get'), [0, 0]), concatBytes(encodeName('set'), [0, 1])])),
    section(10, vector([func([GLOBAL_GET, 0]), func([LOCAL_GET, 0, GLOBAL_SET, 0])])),
  )
}

/** Compiled once per page; small enough for the synchronous compile browsers allow on the main thread. */
let access: WebAssembly.Module | undefined

export function i32Global(global: WebAssembly.Global): I32Global {
  access ??= new WebAssembly.Module(encodeAccess() as Uint8Array<ArrayBuffer>)
  const { get, set } = new WebAssembly.Instance(access, { t: { g: global } }).exports as {
    get(): number
    set(value: number): void
  }
  return { get: () => get() >>> 0, set, wasm: { get, set } }
}
