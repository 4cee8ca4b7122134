/**
 * How many imports are running now. Every import wrapper runs its function
 * through `run`, and every call records the count when it enters wasm: a
 * suspension at another count is under wasm entered through an import (a
 * table function called from inside one), which neither driver can suspend.
 */
export class ImportDepth {
  current = 0

  run(fn: (...args: unknown[]) => unknown, args: unknown[]): unknown {
    this.current++
    try {
      return fn(...args)
    } finally {
      this.current--
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
