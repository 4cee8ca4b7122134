import { asyncifyWasm, type TransformOptions } from 'unplugin-asyncify/transform'
import { instantiate, type InstantiateOptions } from 'unplugin-asyncify/runtime'

export type Engine = 'asyncify' | 'jspi'

/**
 * The path the engine tests run on: JSPI in `npm test`'s Node 26 run
 * (`ASYNCIFY_TEST_ENGINE=jspi`, vitest.jspi.config.ts), else Asyncify.
 */
export const engine: Engine = process.env.ASYNCIFY_TEST_ENGINE === 'jspi' ? 'jspi' : 'asyncify'

/**
 * Transforms `bytes` and instantiates the build for `on` (default: the run's
 * engine), as a user of the Node API would. Tests of Asyncify's own machinery
 * (its stack, its region) pass `on: 'asyncify'`.
 */
export async function asyncified(
  bytes: Uint8Array,
  transform: TransformOptions,
  imports: WebAssembly.Imports,
  runtime?: InstantiateOptions,
  on: Engine = engine,
) {
  const result = await asyncifyWasm(bytes, transform)
  const wasm = on === 'jspi' ? result.jspi!.wasm : result.wasm!
  const { instance } = await instantiate(wasm, imports, { ...runtime, mode: on })
  const exports = instance.exports as Record<string, any>
  return { instance, exports, report: result.report, wasm }
}

/** A Promise that settles after `ms` on the macrotask queue, so other work can interleave. */
export function later<T>(value: T, ms = 0): Promise<T> {
  return new Promise((resolve) => setTimeout(() => resolve(value), ms))
}

/** A Promise with its settle functions, to resolve calls in a chosen order. */
export function deferred<T>() {
  let resolve!: (value: T) => void
  let reject!: (reason: unknown) => void
  const promise = new Promise<T>((res, rej) => {
    resolve = res
    reject = rej
  })
  return { promise, resolve, reject }
}
