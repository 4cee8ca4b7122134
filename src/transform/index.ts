import { inputBytes, type WasmInput } from './input.js'
import { resolveTransformOptions, type TransformOptions } from './options.js'
import type { TransformResult } from './pipeline.js'
import { checkWasmHeader } from './wasm-sections.js'
import { transformPool } from './worker-pool.js'
import { IN_THREAD_BYTES } from './in-thread.js'

export type { WasmInput } from './input.js'
export type { FeatureName } from './features.js'
export type { AsyncifyEngine, OptimizeLevel, TransformMode, TransformOptions } from './options.js'
export { DEFAULT_STACK_SIZE } from './options.js'
export type { BuiltModule, InstrumentedFunction, ModuleReport, TransformReport, TransformResult } from './pipeline.js'
export { AsyncifyError, type AsyncifyErrorCode } from '../runtime-shim/errors.js'
export type { AsyncifyMetadata } from '../runtime-shim/metadata.js'

/**
 * Runs Asyncify on a module so that its async imports can suspend it.
 * Runs in a worker thread (several calls at once run side by side), except small modules the
 * direct engine builds; rejects with an `AsyncifyError` that names the file, the cause and the
 * fix for bad input.
 */
export async function asyncifyWasm(input: WasmInput, options?: TransformOptions): Promise<TransformResult> {
  const resolved = resolveTransformOptions(options)
  const bytes = inputBytes(input, resolved.filename)
  checkWasmHeader(bytes, resolved.filename)
  if (bytes.length <= IN_THREAD_BYTES) {
    const { buildWithoutBinaryen, fastBuildOrFallback } = await import('./without-binaryen.js')
    // Bad input is thrown as the pipeline would say it; a failure of ours goes to the worker, which runs the whole
    // transform again and reports it with the pipeline's build.
    const { fast } = fastBuildOrFallback(() => buildWithoutBinaryen(bytes, resolved))
    if (fast) return fast
  }
  return transformPool.run(bytes, resolved)
}
