import { asyncifyWasm, type TransformOptions } from 'unplugin-asyncify/transform'
import { instantiate, type InstantiateOptions } from 'unplugin-asyncify/runtime'

/** Transforms `bytes` and instantiates the result, as a user of the Node API would. */
export async function asyncified(
  bytes: Uint8Array,
  transform: TransformOptions,
  imports: WebAssembly.Imports,
  runtime?: InstantiateOptions,
) {
  const { wasm, report } = await asyncifyWasm(bytes, transform)
  const { instance } = await instantiate(wasm, imports, runtime)
  const exports = instance.exports as Record<string, any>
  return { instance, exports, report, wasm }
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
