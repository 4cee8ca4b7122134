/*
 * The JavaScript side of an async import's predicted paths on JSPI, the
 * functions `WebAssembly.Suspending` wraps (trampolines.ts). They have
 * wrappers of their own rather than countedImport's: a call site inside a
 * wrapper is shared by every closure made from that wrapper's source, and
 * countedImport's sites see the hooks of every import of every driver, which
 * keeps V8 from inlining them. Measured in Node 26, one suspension through
 * countedImport cost 1.18x raw JSPI alone and 1.29x beside an Asyncify instance.
 */
import type { WasmFunction } from './invoke.js'

/**
 * Wraps `fn` (of `arity` parameters; null or more than 4 takes a rest
 * parameter) the way countedImport does: `cells[0]` holds the imports
 * running; `settle` turns the result into what the engine waits for; `threw`
 * runs before a synchronous exception goes on to wasm.
 */
export function predictedImport(
  fn: WasmFunction,
  arity: number | null,
  cells: Int32Array,
  settle: (result: unknown) => unknown,
  threw: () => void,
): WasmFunction {
  switch (arity) {
    case 0:
      return () => {
        cells[0]! += 1
        let result: unknown
        try {
          result = fn()
        } catch (error) {
          threw()
          throw error
        } finally {
          cells[0]! -= 1
        }
        return settle(result)
      }
    case 1:
      return (a) => {
        cells[0]! += 1
        let result: unknown
        try {
          result = fn(a)
        } catch (error) {
          threw()
          throw error
        } finally {
          cells[0]! -= 1
        }
        return settle(result)
      }
    case 2:
      return (a, b) => {
        cells[0]! += 1
        let result: unknown
        try {
          result = fn(a, b)
        } catch (error) {
          threw()
          throw error
        } finally {
          cells[0]! -= 1
        }
        return settle(result)
      }
    case 3:
      return (a, b, c) => {
        cells[0]! += 1
        let result: unknown
        try {
          result = fn(a, b, c)
        } catch (error) {
          threw()
          throw error
        } finally {
          cells[0]! -= 1
        }
        return settle(result)
      }
    case 4:
      return (a, b, c, d) => {
        cells[0]! += 1
        let result: unknown
        try {
          result = fn(a, b, c, d)
        } catch (error) {
          threw()
          throw error
        } finally {
          cells[0]! -= 1
        }
        return settle(result)
      }
    default:
      return (...args) => {
        cells[0]! += 1
        let result: unknown
        try {
          result = fn(...args)
        } catch (error) {
          threw()
          throw error
        } finally {
          cells[0]! -= 1
        }
        return settle(result)
      }
  }
}

/**
 * The same for a suspension the trampoline booked: the import's result goes
 * to the engine as it is when it is a native Promise (the common answer), else
 * through `settle`. Nothing is counted and nothing caught: the trampoline
 * does the same after a suspension, a return or a throw.
 */
export function bookedImport(fn: WasmFunction, arity: number | null, settle: (result: unknown) => unknown): WasmFunction {
  switch (arity) {
    case 0:
      return () => {
        const result = fn()
        return result instanceof Promise ? result : settle(result)
      }
    case 1:
      return (a) => {
        const result = fn(a)
        return result instanceof Promise ? result : settle(result)
      }
    case 2:
      return (a, b) => {
        const result = fn(a, b)
        return result instanceof Promise ? result : settle(result)
      }
    case 3:
      return (a, b, c) => {
        const result = fn(a, b, c)
        return result instanceof Promise ? result : settle(result)
      }
    case 4:
      return (a, b, c, d) => {
        const result = fn(a, b, c, d)
        return result instanceof Promise ? result : settle(result)
      }
    default:
      return (...args) => {
        const result = fn(...args)
        return result instanceof Promise ? result : settle(result)
      }
  }
}
