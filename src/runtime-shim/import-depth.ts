import type { WasmFunction } from './invoke.js'

/**
 * How many imports are running now, and the wrappers that count them. Every
 * import runs inside a wrapper from `countedImport`, and every call records
 * the count when it enters wasm: a suspension at another count is under wasm
 * entered through an import (a table function called from inside one), which
 * neither driver can suspend.
 */
export class ImportDepth {
  /**
   * The count is cell 0 of `cells`: the JSPI driver passes cells its
   * generated wasm reads too (a JS object field would be invisible to it).
   */
  constructor(readonly cells: Int32Array = new Int32Array(1)) {}

  get current(): number {
    return this.cells[0]!
  }
}

/**
 * What a driver does around one call of one import: methods of one object for
 * every import, told which import by `site`. A wrapper's call sites are shared
 * by every closure made from its source, so hooks made per import (closures)
 * turned them polymorphic once a second async import ran. Methods keep them
 * monomorphic: in Chromium, after a plain value had gone through another
 * async import, one suspension took 119-120 ns with closures and 112-113 ns
 * with methods (6 pages each); 2-4 ns less in Node 26.
 */
export interface ImportHooks<Site> {
  /** Runs first: returns CALL to call the import, anything else to return that to wasm instead (a rewind ending here). */
  importBefore(site: Site): unknown
  /** Turns what the import returned into what wasm receives. */
  importAfter(result: unknown, site: Site): unknown
}

export const CALL: unique symbol = Symbol('call the import')

/**
 * Wraps `fn` for wasm. V8 calls a JS import through its fast path only when
 * the function declares as many parameters as the wasm signature passes: a
 * plain-value import measured 8 ns through a wrapper of the same arity, 17 ns
 * with a rest parameter and 30 ns with the arguments passed on in an array
 * (Node 20 and 26). So a wrapper of the import's arity is picked from a fixed
 * set (code generated at run time would break pages whose CSP forbids eval);
 * `arity` null (unknown) or larger takes the rest parameter, which forwards
 * exactly what wasm passed.
 */
export function countedImport<Site>(fn: WasmFunction, arity: number | null, depth: ImportDepth, hooks: ImportHooks<Site>, site: Site): WasmFunction {
  const count = depth.cells
  switch (arity) {
    case 0:
      return () => {
        const early = hooks.importBefore(site)
        if (early !== CALL) return early
        count[0]! += 1
        let result: unknown
        try {
          result = fn()
        } finally {
          count[0]! -= 1
        }
        return hooks.importAfter(result, site)
      }
    case 1:
      return (a) => {
        const early = hooks.importBefore(site)
        if (early !== CALL) return early
        count[0]! += 1
        let result: unknown
        try {
          result = fn(a)
        } finally {
          count[0]! -= 1
        }
        return hooks.importAfter(result, site)
      }
    case 2:
      return (a, b) => {
        const early = hooks.importBefore(site)
        if (early !== CALL) return early
        count[0]! += 1
        let result: unknown
        try {
          result = fn(a, b)
        } finally {
          count[0]! -= 1
        }
        return hooks.importAfter(result, site)
      }
    case 3:
      return (a, b, c) => {
        const early = hooks.importBefore(site)
        if (early !== CALL) return early
        count[0]! += 1
        let result: unknown
        try {
          result = fn(a, b, c)
        } finally {
          count[0]! -= 1
        }
        return hooks.importAfter(result, site)
      }
    case 4:
      return (a, b, c, d) => {
        const early = hooks.importBefore(site)
        if (early !== CALL) return early
        count[0]! += 1
        let result: unknown
        try {
          result = fn(a, b, c, d)
        } finally {
          count[0]! -= 1
        }
        return hooks.importAfter(result, site)
      }
    default:
      return (...args) => {
        const early = hooks.importBefore(site)
        if (early !== CALL) return early
        count[0]! += 1
        let result: unknown
        try {
          result = fn(...args)
        } finally {
          count[0]! -= 1
        }
        return hooks.importAfter(result, site)
      }
  }
}

/**
 * Wraps an import that is not async, counted as countedImport counts.
 * Closures of their own, with the checks written in rather than hooks:
 * sharing countedImport's made a plain import cost 12 ns, and its rest
 * parameter 17 ns, where these take 8.5 (raw: 4.4; Node 26, one process).
 * `guard` runs first (null for none); `thenable` runs when the import
 * returned a thenable, and throws.
 */
export function countedSyncImport(
  fn: WasmFunction,
  arity: number | null,
  depth: ImportDepth,
  guard: (() => void) | null,
  thenable: () => never,
): WasmFunction {
  const count = depth.cells
  switch (arity) {
    case 0:
      return () => {
        if (guard !== null) guard()
        count[0]! += 1
        let result: unknown
        try {
          result = fn()
        } finally {
          count[0]! -= 1
        }
        if (isThenable(result)) thenable()
        return result
      }
    case 1:
      return (a) => {
        if (guard !== null) guard()
        count[0]! += 1
        let result: unknown
        try {
          result = fn(a)
        } finally {
          count[0]! -= 1
        }
        if (isThenable(result)) thenable()
        return result
      }
    case 2:
      return (a, b) => {
        if (guard !== null) guard()
        count[0]! += 1
        let result: unknown
        try {
          result = fn(a, b)
        } finally {
          count[0]! -= 1
        }
        if (isThenable(result)) thenable()
        return result
      }
    case 3:
      return (a, b, c) => {
        if (guard !== null) guard()
        count[0]! += 1
        let result: unknown
        try {
          result = fn(a, b, c)
        } finally {
          count[0]! -= 1
        }
        if (isThenable(result)) thenable()
        return result
      }
    case 4:
      return (a, b, c, d) => {
        if (guard !== null) guard()
        count[0]! += 1
        let result: unknown
        try {
          result = fn(a, b, c, d)
        } finally {
          count[0]! -= 1
        }
        if (isThenable(result)) thenable()
        return result
      }
    default:
      return (...args) => {
        if (guard !== null) guard()
        count[0]! += 1
        let result: unknown
        try {
          result = fn(...args)
        } finally {
          count[0]! -= 1
        }
        if (isThenable(result)) thenable()
        return result
      }
  }
}

/** What an import returned that the runtime waits for: a Promise, or any object with a `then` method. */
export function isThenable(value: unknown): value is PromiseLike<unknown> {
  return (
    value !== null &&
    (typeof value === 'object' || typeof value === 'function') &&
    typeof (value as { then?: unknown }).then === 'function'
  )
}
