/*
 * The build-time pipeline, run inside the transform worker:
 *
 *   read      bytes -> validated Binaryen module with the input's own features
 *   analyse   imports, exports, direct call graph, expression kinds per function
 *   select    option patterns -> async imports and runtime functions
 *   check     refuse what Asyncify would transform wrongly (call_ref, try_table, ...)
 *   optimize  Binaryen -O<n>, with runtime code fenced off from inlining
 *   instrument Asyncify, listing exactly the async imports
 *   describe  exports for the runtime + the metadata custom section
 *   emit      binary with the name section, so stack traces name functions
 */
import { AsyncifyError } from '../runtime-shim/errors.js'
import type { AsyncifyMetadata } from '../runtime-shim/metadata.js'
import { exposeAllocator } from './allocator.js'
import { analyseModule, definedFunctions, readExports } from './analyse.js'
import type { Binaryen, BinaryenModule } from './binaryen.js'
import { refuseSuspensionInCatch } from './check-catch.js'
import { checkSupported } from './check-supported.js'
import { describeModule } from './describe.js'
import { instrument } from './instrument.js'
import { markRuntimeNoInline } from './mark-runtime.js'
import type { OptimizeLevel, ResolvedTransformOptions } from './options.js'
import { read } from './read.js'
import { selectFunctions } from './select.js'
import { findStackPointer } from './stack-pointer.js'

export interface TransformReport {
  filename: string
  functions: { instrumented: number; total: number }
  size: { before: number; after: number }
  timeMs: number
  asyncImports: string[]
  suspendingExports: string[]
  warnings: string[]
}

/**
 * The part of the report a bundled module can carry to the page: no file name
 * and no timing, which would put build-machine paths in the bundle and make a
 * fresh transform and a cache hit produce different output.
 */
export type ModuleReport = Pick<TransformReport, 'functions' | 'size' | 'asyncImports' | 'suspendingExports' | 'warnings'>

export interface TransformResult {
  wasm: Uint8Array
  metadata: AsyncifyMetadata
  report: TransformReport
}

function levels(optimize: OptimizeLevel): [optimizeLevel: number, shrinkLevel: number] {
  if (optimize === 's') return [2, 1]
  if (optimize === 'z') return [2, 2]
  return [optimize, 0]
}

export function runPipeline(binaryen: Binaryen, bytes: Uint8Array, options: ResolvedTransformOptions): TransformResult {
  const started = performance.now()
  const { filename } = options
  binaryen.clearPassArguments()
  const [optimizeLevel, shrinkLevel] = levels(options.optimize)
  binaryen.setOptimizeLevel(optimizeLevel)
  binaryen.setShrinkLevel(shrinkLevel)
  binaryen.setDebugInfo(false)
  const { module, warnings: readWarnings } = read(binaryen, bytes, options)
  try {
    const facts = analyseModule(binaryen, module)
    const stackPointer = findStackPointer(binaryen, module, bytes, options.stackPointer, filename)
    refuseForeignAsyncify(module, facts.exports, filename)
    const selection = selectFunctions(facts, options)
    checkSupported(module, facts, selection.runtime, selection.asyncImports.length, filename)
    const malloc = exposeAllocator(binaryen, module, facts.exports)
    if (optimizeLevel > 0 || shrinkLevel > 0) {
      markRuntimeNoInline(binaryen, module, facts, selection.runtime)
      module.optimize()
    }
    // From here on, decide from the module as it will be emitted: the
    // optimizer merges identical functions and re-points their exports.
    const functions = definedFunctions(binaryen, module)
    const { canSuspend } = instrument(binaryen, module, selection.asyncImports, selection.userRuntime, filename)
    const defined = new Set(functions)
    const suspending = new Set([...canSuspend].filter((name) => defined.has(name) && !selection.runtime.has(name)))
    if ([...facts.expressionKinds.values()].some((kinds) => kinds.has('Try'))) {
      const suspenders = new Set([...canSuspend, ...selection.asyncImports.map((entry) => entry.name)])
      refuseSuspensionInCatch(module, suspending, suspenders, filename)
    }
    const metadata = describeModule(binaryen, module, bytes, readExports(binaryen, module), {
      asyncImports: selection.asyncImports,
      suspending,
      stackPointer: stackPointer.name,
      malloc,
      stackSize: options.stackSize,
    })
    binaryen.setDebugInfo(true)
    const wasm = module.emitBinary()
    return {
      wasm,
      metadata,
      report: {
        filename,
        functions: { instrumented: suspending.size, total: functions.length },
        size: { before: bytes.length, after: wasm.length },
        timeMs: Math.round(performance.now() - started),
        asyncImports: selection.asyncImports.map((entry) => `${entry.module}.${entry.base}`),
        suspendingExports: metadata.suspendingExports,
        warnings: [...readWarnings, ...selection.warnings, ...stackPointer.warnings],
      },
    }
  } finally {
    module.dispose()
    binaryen.clearPassArguments()
  }
}

function refuseForeignAsyncify(
  module: BinaryenModule,
  exports: { name: string }[],
  filename: string,
): void {
  const global = module.getGlobal('__asyncify_state')
  if (global || exports.some((entry) => entry.name === 'asyncify_start_unwind')) {
    throw new AsyncifyError(
      'ASYNCIFY_ALREADY_TRANSFORMED',
      `${filename}: this module was already put through Asyncify (it has ${global ? 'the __asyncify_state global' : 'an asyncify_start_unwind export'}); ` +
        `instrumenting it twice would break it. Pass the module from before Asyncify (drop --asyncify / -sASYNCIFY from its build)`,
    )
  }
}
