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

/**
 * Converts the first `arity` arguments in place as the engine converts them
 * on a call into wasm, by `kinds` (the metadata's `exportParameters`: `n` a
 * Number, `b` a BigInt, `r` as it is; all `n` when empty): ToNumber and
 * ToBigInt64 run here once, in order, throwing what the engine would, and
 * the engine's own conversion of the primitives they give is exact. A
 * suspending export gets these values again on each rewind, so a `valueOf`
 * runs once and the export sees the first run's arguments, as the
 * transform counts on.
 */
export function convertArguments(args: unknown[], arity: number, kinds: string): void {
  for (let i = 0; i < arity; i++) {
    const kind = kinds[i] ?? 'n'
    if (kind === 'n') args[i] = +(args[i] as number)
    else if (kind === 'b') args[i] = BigInt.asIntN(64, args[i] as bigint)
  }
}
