/** A wasm export or import as JavaScript sees it. */
export type WasmFunction = (...args: unknown[]) => unknown

/**
 * Calls a wasm export with arguments kept in an array. A spread call cost
 * about 9 ns more than one with the arguments listed (Node 20 and 26), and
 * the Asyncify driver calls a suspending export again on every resume, so
 * each export gets a caller of its arity from a fixed set (code generated at
 * run time would break pages whose CSP forbids eval). A missing argument
 * reaches wasm as undefined either way, and extra ones are ignored.
 */
export type Invoke = (fn: WasmFunction, args: unknown[]) => unknown

const BY_ARITY: Invoke[] = [
  (fn) => fn(),
  (fn, a) => fn(a[0]),
  (fn, a) => fn(a[0], a[1]),
  (fn, a) => fn(a[0], a[1], a[2]),
  (fn, a) => fn(a[0], a[1], a[2], a[3]),
]

const spread: Invoke = (fn, args) => fn(...args)

export function invoker(arity: number): Invoke {
  return BY_ARITY[arity] ?? spread
}
