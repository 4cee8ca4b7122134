import { inputBytes, type WasmInput } from './input.js'
import { resolveTransformOptions, type TransformOptions } from './options.js'
import type { TransformResult } from './pipeline.js'
import { checkWasmHeader } from './wasm-sections.js'
import { transformPool } from './worker-pool.js'

export type { WasmInput } from './input.js'
export type { FeatureName } from './features.js'
export type { AsyncifyEngine, OptimizeLevel, TransformMode, TransformOptions } from './options.js'
export { DEFAULT_STACK_SIZE } from './options.js'
export type { BuiltModule, InstrumentedFunction, ModuleReport, TransformReport, TransformResult } from './pipeline.js'
export { AsyncifyError, type AsyncifyErrorCode } from '../runtime-shim/errors.js'
export type { AsyncifyMetadata } from '../runtime-shim/metadata.js'

/**
 * Runs Binaryen's Asyncify on a module so that its async imports can suspend it.
 * Runs in a worker thread (several calls at once run side by side); rejects with an `AsyncifyError` that names the file,
 * the cause and the fix for bad input.
 */
export async function asyncifyWasm(input: WasmInput, options?: TransformOptions): Promise<TransformResult> {
  const resolved = resolveTransformOptions(options)
  const bytes = inputBytes(input, resolved.filename)
  checkWasmHeader(bytes, resolved.filename)
  return transformPool.run(bytes, resolved)
}
