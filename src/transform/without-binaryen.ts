import type { ResolvedTransformOptions } from './options.js'
import type { TransformResult } from './pipeline.js'
import { asyncifyWithoutBinaryen } from './direct/asyncify-fast.js'
import { FIBERS_NEED_ASYNCIFY, fibersNeedAsyncify, usesFibers, withFiberEntry } from './fibers.js'
import { DRIVES_ASYNCIFY, drivesAsyncify, drivesAsyncifyNeedsAsyncify } from './asyncify-api.js'
import { featuresOptionIgnored } from './features.js'
import { jspiWithoutBinaryen, readModule } from './jspi-fast.js'
import { checkWasmHeader } from './wasm-sections.js'
import { onlyJspiCanRun } from './check-supported.js'
import { AsyncifyError } from '../runtime-shim/errors.js'

/**
 * The builds the direct engine and the JSPI fast path make without Binaryen,
 * when they make every build the mode asks for; else null (Binaryen's pipeline runs).
 * Throws an `AsyncifyError` for bad input, said as the pipeline would say it.
 */
export function buildWithoutBinaryen(bytes: Uint8Array, options: ResolvedTransformOptions): TransformResult | null {
  if (options.engine === 'binaryen') return null
  checkWasmHeader(bytes, options.filename)
  // Preoptimize is Binaryen's work; so is checking the features option for a module without a target_features
  // section (features.ts): both declined before the module is read, which the pipeline does again.
  if (options.preoptimize || (options.features !== null && featuresOptionIgnored(bytes, options.features) === undefined)) return null
  // A module that switches fibers gets the function fibers start at, as in the pipeline, and has no JSPI build.
  const withEntry = withFiberEntry(bytes, options.filename)
  // Both builds read the module once.
  const read = readModule(withEntry, options.stackPointer, options.filename)
  if (read === null) return null
  if (usesFibers(read.facts.imports)) {
    if (options.mode === 'jspi') throw fibersNeedAsyncify(options.filename)
    // The switch imported, and no code that could call it: the pipeline's to judge.
    if (withEntry === bytes) return null
    const fibers = asyncifyWithoutBinaryen(withEntry, options, read, bytes)
    return fibers && { ...fibers, report: { ...fibers.report, jspiUnsupported: options.mode === 'auto' ? FIBERS_NEED_ASYNCIFY : null } }
  }
  if (drivesAsyncify(read.facts.imports)) {
    if (options.mode === 'jspi') throw drivesAsyncifyNeedsAsyncify(options.filename)
    const asyncified = asyncifyWithoutBinaryen(bytes, options, read)
    return asyncified && { ...asyncified, report: { ...asyncified.report, jspiUnsupported: options.mode === 'auto' ? DRIVES_ASYNCIFY : null } }
  }
  if (options.mode === 'jspi') return jspiWithoutBinaryen(bytes, options, read)
  let asyncified: TransformResult | null
  try {
    asyncified = asyncifyWithoutBinaryen(bytes, options, read)
  } catch (error) {
    // In mode auto, a module only JSPI can run gets that build alone, saying why (as the pipeline does).
    if (options.mode !== 'auto' || !onlyJspiCanRun(error)) throw error
    return jspiWithoutBinaryen(bytes, options, read, error.message)
  }
  if (!asyncified) return null
  if (options.mode === 'asyncify') return asyncified
  const jspi = jspiWithoutBinaryen(bytes, options, read)
  if (!jspi?.jspi) return null
  return {
    ...asyncified,
    jspi: jspi.jspi,
    report: { ...asyncified.report, paths: ['asyncify', 'jspi'], timeMs: asyncified.report.timeMs + jspi.report.timeMs },
  }
}

/**
 * `build`'s result (`buildWithoutBinaryen`), or null with a warning when it
 * failed other than on bad input: then Binaryen's pipeline builds the module,
 * correctly but slower, and the warning goes into that build's report, so
 * that the failure, a bug of this package, is seen and can be reported
 * (reports name their file where they are printed).
 * Bad input (an `AsyncifyError`) is thrown as it is.
 */
export function fastBuildOrFallback(build: () => TransformResult | null): { fast: TransformResult | null; warning: string | null } {
  try {
    return { fast: build(), warning: null }
  } catch (error) {
    if (error instanceof AsyncifyError) throw error
    const cause = error instanceof Error ? error.message : String(error)
    return {
      fast: null,
      warning:
        `the direct engine failed (${cause}), so Binaryen's pipeline built this module instead, which takes longer; ` +
        `this is a bug in unplugin-asyncify, please report it with the .wasm file`,
    }
  }
}
