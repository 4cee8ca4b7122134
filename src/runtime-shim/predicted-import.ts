/*
 * The JavaScript side of an async import's predicted path on JSPI, the
 * function `WebAssembly.Suspending` wraps (trampolines.ts). It has wrappers
 * of its own rather than countedImport's: a call site inside a wrapper is
 * shared by every closure made from that wrapper's source, and
 * countedImport's sites see the hooks of every import of every driver, which
 * keeps V8 from inlining them. Measured in Node 26, one suspension through
 * countedImport cost 1.18x raw JSPI alone and 1.29x beside an Asyncify instance.
 */
import type { WasmFunction } from './invoke.js'
import { CELL } from './trampolines.js'

const SKIP = CELL.skip

/**
 * Wraps `fn` (of `arity` parameters; null or more than 4 takes a rest
 * parameter) the way countedImport does: `cells[0]` holds the imports
 * running; `settle` turns the result into what the engine waits for, told
 * whether the trampoline booked the suspension itself (CELL.skip, read and
 * cleared before `fn` runs, which may enter wasm again); `threw` runs before
 * a synchronous exception goes on to wasm.
 */
export function predictedImport(
  fn: WasmFunction,
  arity: number | null,
  cells: Int32Array,
  settle: (result: unknown, booked: number) => unknown,
  threw: () => void,
): WasmFunction {
  switch (arity) {
    case 0:
      return () => {
        const booked = cells[SKIP]!
        if (booked !== 0) cells[SKIP] = 0
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
        return settle(result, booked)
      }
    case 1:
      return (a) => {
        const booked = cells[SKIP]!
        if (booked !== 0) cells[SKIP] = 0
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
        return settle(result, booked)
      }
    case 2:
      return (a, b) => {
        const booked = cells[SKIP]!
        if (booked !== 0) cells[SKIP] = 0
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
        return settle(result, booked)
      }
    case 3:
      return (a, b, c) => {
        const booked = cells[SKIP]!
        if (booked !== 0) cells[SKIP] = 0
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
        return settle(result, booked)
      }
    case 4:
      return (a, b, c, d) => {
        const booked = cells[SKIP]!
        if (booked !== 0) cells[SKIP] = 0
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
        return settle(result, booked)
      }
    default:
      return (...args) => {
        const booked = cells[SKIP]!
        if (booked !== 0) cells[SKIP] = 0
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
        return settle(result, booked)
      }
  }
}
