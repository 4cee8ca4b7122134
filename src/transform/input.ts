import { isAnyArrayBuffer } from 'node:util/types'
import { AsyncifyError } from '../runtime-shim/errors.js'

/** What `asyncifyWasm` takes: the module's bytes in any binary container (Uint8Array, Buffer, DataView, ArrayBuffer). */
export type WasmInput = ArrayBuffer | ArrayBufferView

/**
 * A private copy of the input's bytes, whose buffer can move to the worker
 * without touching the caller's. JavaScript callers get no type checking, and
 * the usual slips (a path instead of the contents, an undefined variable) would
 * otherwise surface as a TypeError deep in the transform.
 */
export function inputBytes(input: unknown, filename: string): Uint8Array {
  // isAnyArrayBuffer, not instanceof: buffers from another realm (vm, jsdom) count too.
  if (isAnyArrayBuffer(input)) return new Uint8Array(input).slice()
  if (ArrayBuffer.isView(input)) return new Uint8Array(input.buffer, input.byteOffset, input.byteLength).slice()
  const fix =
    typeof input === 'string'
      ? "pass the file's contents, not its path: asyncifyWasm(await readFile(path))"
      : 'pass the contents of the .wasm file, e.g. asyncifyWasm(await readFile(path))'
  throw new AsyncifyError(
    'ASYNCIFY_NOT_WASM',
    `${filename}: asyncifyWasm() takes the module's bytes (a Uint8Array, Buffer, DataView or ArrayBuffer) but got ${kind(input)}; ${fix}`,
  )
}

function kind(input: unknown): string {
  if (input === null) return 'null'
  if (typeof input === 'string') return `a string (${JSON.stringify(input.length > 40 ? `${input.slice(0, 40)}...` : input)})`
  if (typeof input === 'object') return `an object (${Object.prototype.toString.call(input)})`
  return typeof input === 'undefined' ? 'undefined' : `a ${typeof input} (${String(input)})`
}
