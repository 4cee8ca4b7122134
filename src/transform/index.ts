import { resolveTransformOptions, type TransformOptions } from './options.js'
import type { TransformResult } from './pipeline.js'
import { checkWasmHeader } from './wasm-sections.js'
import { transformWorker } from './worker-pool.js'

export type { OptimizeLevel, TransformOptions } from './options.js'
export { DEFAULT_STACK_SIZE } from './options.js'
export type { ModuleReport, TransformReport, TransformResult } from './pipeline.js'
export { AsyncifyError, type AsyncifyErrorCode } from '../runtime-shim/errors.js'
export type { AsyncifyMetadata } from '../runtime-shim/metadata.js'

/**
 * Runs Binaryen's Asyncify on a module so that its async imports can suspend it.
 * Runs in a worker thread; rejects with an `AsyncifyError` that names the file,
 * the cause and the fix for bad input.
 */
export async function asyncifyWasm(input: Uint8Array, options?: TransformOptions): Promise<TransformResult> {
  const resolved = resolveTransformOptions(options)
  checkWasmHeader(input, resolved.filename)
  // A private copy of just these bytes, whose buffer can move to the worker.
  return transformWorker.run(new Uint8Array(input), resolved)
}
