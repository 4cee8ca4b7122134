/*
 * Modules that drive Asyncify themselves: their code imports Binaryen's API
 * (`asyncify.start_unwind`, `stop_unwind`, `start_rewind`, `stop_rewind`)
 * and runs a scheduler of its own, which unwinds the stack into a buffer it
 * owns and rewinds it later. The transform replaces those imports by the
 * module's own Asyncify functions, as Binaryen's pass does.
 *
 * Only Asyncify can run such code: under JSPI nothing would implement the
 * imports, and no engine feature unwinds a stack into a buffer for the
 * module's scheduler to rewind.
 */
import { AsyncifyError } from '../runtime-shim/errors.js'

/** Binaryen turns calls to these imports into its own functions; they are never user imports. */
export const ASYNCIFY_API_MODULE = 'asyncify'

export const ASYNCIFY_API = ['start_unwind', 'stop_unwind', 'start_rewind', 'stop_rewind'] as const

/** Whether the module imports anything from Binaryen's Asyncify API. */
export function drivesAsyncify(imports: readonly { module: string }[]): boolean {
  return imports.some((entry) => entry.module === ASYNCIFY_API_MODULE)
}

/** Why a module that drives Asyncify itself has no JSPI build, for the report and for mode "jspi"'s error. */
export const DRIVES_ASYNCIFY =
  `it drives Asyncify itself through the ${ASYNCIFY_API_MODULE}.* imports (${ASYNCIFY_API.join(', ')}), which only an Asyncify build ` +
  `implements: JSPI has no unwinding into a buffer for the module's own scheduler to rewind`

/** Mode "jspi"'s refusal of a module that drives Asyncify itself. */
export function drivesAsyncifyNeedsAsyncify(filename: string): AsyncifyError {
  return new AsyncifyError(
    'ASYNCIFY_API_NEEDS_ASYNCIFY',
    `${filename}: cannot build for JSPI alone: ${DRIVES_ASYNCIFY}; build with mode "auto" or "asyncify"`,
  )
}

/**
 * The functions of such a module that change the state by Binaryen's rules
 * for a runtime in the module (Asyncify.cpp's ModuleAnalyzer): one that calls
 * `start_unwind` or `stop_rewind` is the top of the runtime, and its callers
 * are instrumented (it is not: it returns to them, and is entered again on
 * the rewind); one that calls `stop_unwind` or `start_rewind` is the bottom,
 * which never changes the state, even when it also starts an unwind; a
 * function named in the runtime option does not either. `calls`: the
 * functions each defined function calls directly, by name.
 */
export function runtimeTops(
  imports: readonly { name: string; module: string; base: string }[],
  calls: ReadonlyMap<string, ReadonlySet<string>>,
  userRuntime: readonly string[],
): string[] {
  const role = new Map(imports.filter((entry) => entry.module === ASYNCIFY_API_MODULE).map((entry) => [entry.name, entry.base]))
  const tops: string[] = []
  for (const [caller, callees] of calls) {
    const bases = [...callees].map((callee) => role.get(callee))
    const top = bases.includes('start_unwind') || bases.includes('stop_rewind')
    const bottom = bases.includes('stop_unwind') || bases.includes('start_rewind')
    if (top && !bottom && !userRuntime.includes(caller)) tops.push(caller)
  }
  return tops
}
