/*
 * Small wasm modules generated at run time for the JSPI path.
 *
 * Import trampolines. A `WebAssembly.Suspending` import always suspends, even
 * when its function returns a plain value, which costs a stack switch per
 * call. So the module imports, in place of each async import, a wasm
 * function that calls the plain JS function first and calls the Suspending
 * one only when a Promise came back (the JS side keeps the Promise and puts
 * the call's id in `signal`, which is 0 otherwise; the trampoline clears it,
 * which is free in wasm and a call into wasm from JS). Both calls come from
 * wasm, so no JS frame sits between the `promising` export and the
 * suspension. When the Suspending call returns or throws (a rejection), the trampoline calls
 * `resumed(id)` with the id it kept in a local: the engine resumes a stack in
 * a microtask of its own, and this call is the one moment the driver can know
 * which call runs again. Catching with `catch_all` and rethrowing (legacy
 * exception handling, which every engine with JSPI has) lets the Suspending
 * import hand the engine the import's own Promise, with no reaction of ours
 * in between.
 *
 * Export trampolines. Each suspending export is wrapped in a wasm function
 * that calls it and then calls `exit`: the driver learns synchronously that
 * the call returned, inside the same stack switch, and puts the C stack
 * pointer back before any other code runs.
 */
import type { Signature, WasmValueType } from './metadata.js'
import { concatBytes, encodeName, leb, section, vector } from './wasm-writer.js'

const VALUE_TYPE: Partial<Record<WasmValueType, number>> = {
  i32: 0x7f,
  i64: 0x7e,
  f32: 0x7d,
  f64: 0x7c,
  v128: 0x7b,
  funcref: 0x70,
  externref: 0x6f,
}

/** Whether a trampoline can be written for the signature (a typed reference cannot be named here). */
export function canTrampoline(signature: Signature): boolean {
  return [...signature.params, ...signature.results].every((type) => VALUE_TYPE[type] !== undefined)
}

const LOCAL_GET = 0x20
const LOCAL_SET = 0x21
const LOCAL_TEE = 0x22
const GLOBAL_GET = 0x23
const GLOBAL_SET = 0x24
const I32_CONST = 0x41
const CALL = 0x10
const IF_EMPTY = [0x04, 0x40]
const TRY_EMPTY = [0x06, 0x40]
const CATCH_ALL = 0x19
const RETHROW = 0x09
const END = 0x0b

class Types {
  private readonly indices = new Map<string, number>()
  readonly encoded: Uint8Array[] = []

  index(signature: Signature): number {
    const key = `${signature.params.join(',')}>${signature.results.join(',')}`
    let index = this.indices.get(key)
    if (index === undefined) {
      index = this.encoded.length
      this.indices.set(key, index)
      const types = (list: WasmValueType[]) => vector(list.map((type) => [VALUE_TYPE[type]!]))
      this.encoded.push(concatBytes([0x60], types(signature.params), types(signature.results)))
    }
    return index
  }
}

function importEntry(name: string, kind: number, description: number[]): Uint8Array {
  return concatBytes(encodeName('t'), encodeName(name), [kind], description)
}

function body(locals: WasmValueType[], code: number[]): Uint8Array {
  const declarations = vector(locals.map((type) => [1, VALUE_TYPE[type]!]))
  const content = concatBytes(declarations, code, [END])
  return concatBytes(leb(content.length), content)
}

function encodeModule(types: Types, imports: Uint8Array[], functions: number[], exports: Uint8Array[], bodies: Uint8Array[]): Uint8Array {
  return concatBytes(
    [0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00],
    section(1, vector(types.encoded)),
    section(2, vector(imports)),
    section(3, vector(functions.map((type) => leb(type)))),
    section(7, vector(exports)),
    section(10, vector(bodies)),
  )
}

/**
 * Imports the global `t.signal` (mutable i32), the function
 * `t.r` (resumed, i32 -> nothing), and per signature `t.p<i>` (the plain call)
 * and `t.w<i>` (the Suspending wait, no params); exports `f<i>`.
 */
export function importTrampolines(signatures: Signature[]): Uint8Array {
  const types = new Types()
  const imports = [
    importEntry('signal', 3, [0x7f, 1]),
    importEntry('r', 0, leb(types.index({ params: ['i32'], results: [] }))),
  ]
  signatures.forEach((signature, i) => {
    imports.push(importEntry(`p${i}`, 0, leb(types.index(signature))))
    imports.push(importEntry(`w${i}`, 0, leb(types.index({ params: [], results: signature.results }))))
  })
  const [SIGNAL, RESUMED] = [0, 0]
  const plain = (i: number) => 1 + 2 * i
  const wait = (i: number) => 2 + 2 * i
  const functions: number[] = []
  const exports: Uint8Array[] = []
  const bodies: Uint8Array[] = []
  signatures.forEach((signature, i) => {
    functions.push(types.index(signature))
    exports.push(concatBytes(encodeName(`f${i}`), [0], leb(1 + signatures.length * 2 + i)))
    const first = signature.params.length
    const results = signature.results.map((_, k) => first + k)
    const token = first + results.length
    const setResults = [...results].reverse().flatMap((local) => [LOCAL_SET, ...leb(local)])
    bodies.push(
      body([...signature.results, 'i32'], [
        ...signature.params.flatMap((_, k) => [LOCAL_GET, ...leb(k)]),
        CALL, ...leb(plain(i)),
        ...setResults,
        GLOBAL_GET, SIGNAL,
        LOCAL_TEE, ...leb(token),
        ...IF_EMPTY,
        I32_CONST, 0, GLOBAL_SET, SIGNAL,
        ...TRY_EMPTY,
        CALL, ...leb(wait(i)),
        ...setResults,
        CATCH_ALL,
        LOCAL_GET, ...leb(token), CALL, RESUMED,
        RETHROW, 0,
        END,
        LOCAL_GET, ...leb(token), CALL, RESUMED,
        END,
        ...results.flatMap((local) => [LOCAL_GET, ...leb(local)]),
      ]),
    )
  })
  return encodeModule(types, imports, functions, exports, bodies)
}

/** Imports `t.x` (exit) and per signature `t.r<i>` (the real export); exports `g<i>`. */
export function exportTrampolines(signatures: Signature[]): Uint8Array {
  const types = new Types()
  const imports = [importEntry('x', 0, leb(types.index({ params: [], results: [] })))]
  signatures.forEach((signature, i) => imports.push(importEntry(`r${i}`, 0, leb(types.index(signature)))))
  const functions: number[] = []
  const exports: Uint8Array[] = []
  const bodies: Uint8Array[] = []
  signatures.forEach((signature, i) => {
    functions.push(types.index(signature))
    exports.push(concatBytes(encodeName(`g${i}`), [0], leb(signatures.length + 1 + i)))
    bodies.push(
      body([], [...signature.params.flatMap((_, k) => [LOCAL_GET, ...leb(k)]), CALL, ...leb(1 + i), CALL, 0]),
    )
  })
  return encodeModule(types, imports, functions, exports, bodies)
}
