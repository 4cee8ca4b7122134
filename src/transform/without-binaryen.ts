import type { ResolvedTransformOptions } from './options.js'
import type { TransformResult } from './pipeline.js'
import { asyncifyWithoutBinaryen } from './direct/asyncify-fast.js'
import { jspiWithoutBinaryen } from './jspi-fast.js'

/**
 * The builds the direct engine and the JSPI fast path make without Binaryen,
 * when they make every build the mode asks for; else null (Binaryen's pipeline runs).
 * Throws an `AsyncifyError` for bad input, said as the pipeline would say it.
 */
export function buildWithoutBinaryen(bytes: Uint8Array, options: ResolvedTransformOptions): TransformResult | null {
  if (options.engine === 'binaryen') return null
  // The features option is checked by validating with Binaryen, as the direct engine declines it too.
  if (options.mode === 'jspi') return options.features === null && !options.preoptimize ? jspiWithoutBinaryen(bytes, options) : null
  const asyncified = asyncifyWithoutBinaryen(bytes, options)
  if (!asyncified) return null
  if (options.mode === 'asyncify') return asyncified
  const jspi = jspiWithoutBinaryen(bytes, options)
  if (!jspi?.jspi) return null
  return {
    ...asyncified,
    jspi: jspi.jspi,
    report: { ...asyncified.report, paths: ['asyncify', 'jspi'], timeMs: asyncified.report.timeMs + jspi.report.timeMs },
  }
}
