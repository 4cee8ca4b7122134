/*
 * The build-time pipeline, run inside the transform worker:
 *
 *   read      bytes -> validated Binaryen module with the input's own features
 *   analyse   imports, exports, direct call graph, expression kinds per function
 *   select    option patterns -> async imports and runtime functions
 *   check     refuse what Asyncify would transform wrongly (call_ref, try_table, ...)
 *   optimize  only with `preoptimize`: Binaryen -O<n>, runtime code fenced off from inlining
 *   instrument Asyncify, listing exactly the async imports and (when the call
 *             graph can tell) exactly the functions that can suspend
 *   describe  exports for the runtime + the metadata custom section
 *   emit      binary with the name section, so stack traces name functions
 *
 * The JSPI path (modes 'auto' and 'jspi', jspi.ts) is planned right after
 * analysis, on the module as read, and emitted from the input's own bytes. Its
 * suspending exports are the Asyncify path's when that path exists (so both
 * paths return Promises from the same exports), else the call graph's.
 */
import { AsyncifyError } from '../runtime-shim/errors.js'
import { FIBER_ENTRY_EXPORT, type AsyncifyMetadata, type SuspendEngine } from '../runtime-shim/metadata.js'
import { exposeAllocator } from './allocator.js'
import { analyseModule, definedFunctions, readExports, type ModuleFacts } from './analyse.js'
import type { Binaryen, BinaryenModule } from './binaryen.js'
import { refuseSuspensionInCatch } from './check-catch.js'
import { suspendReasons, suspendingByCallGraph, type SuspendReason } from './call-graph.js'
import { alreadyTransformed, checkReservedNames, checkSupported, onlyJspiCanRun } from './check-supported.js'
import { declaredAsyncImports } from './declared-imports.js'
import { asyncImportMetadata, describeModule, exportMemoryZero, importArities } from './describe.js'
import { explainInstrumentation, type InstrumentedFunction } from './explain.js'
import { withoutUnmaintainedCodeMetadata } from './code-metadata.js'
import { FIBERS_NEED_ASYNCIFY, fibersNeedAsyncify, usesFibers, withFiberEntry } from './fibers.js'
import { attachLineLocations, emitWithSourceMap, type AttachedLines } from './debug-locations.js'
import { readLineTable } from './line-table.js'
import { withDebugInfo, withoutSourceMapUrl } from './source-map.js'
import { instrument, listable, type AsyncifyLimit } from './instrument.js'
import { emitJspi, planJspi } from './jspi.js'
import { markRuntimeNoInline } from './mark-runtime.js'
import type { AsyncifyEngine, OptimizeLevel, ResolvedTransformOptions } from './options.js'
import { read } from './read.js'
import { ScanError, scanModule, type ScannedBody } from './scan.js'
import { selectFunctions, type Selection } from './select.js'
import { DRIVES_ASYNCIFY, drivesAsyncify, drivesAsyncifyNeedsAsyncify } from './asyncify-api.js'
import { findStackPointer } from './stack-pointer.js'
import { memoryZero } from './wasm-sections.js'

export interface TransformReport {
  filename: string
  /** The paths built: `asyncify`, `jspi`, or both. */
  paths: SuspendEngine[]
  /** What built the asyncified module (see the `engine` option); null without one. */
  engine: AsyncifyEngine | null
  /** In mode 'auto', why a module only JSPI can run has no Asyncify path; else null. */
  asyncifyUnsupported: string | null
  /** In mode 'auto', why a module only Asyncify can run (it uses fibers) has no JSPI path; else null. */
  jspiUnsupported: string | null
  functions: { instrumented: number; total: number }
  size: { before: number; after: number }
  timeMs: number
  asyncImports: string[]
  suspendingExports: string[]
  /** Each instrumented function, why and at what cost, largest first; empty without an Asyncify build. */
  why: InstrumentedFunction[]
  warnings: string[]
}

/**
 * The part of the report a bundled module can carry to the page: no file name
 * and no timing, which would put build-machine paths in the bundle and make a
 * fresh transform and a cache hit produce different output.
 */
export type ModuleReport = Pick<
  TransformReport,
  'paths' | 'engine' | 'asyncifyUnsupported' | 'jspiUnsupported' | 'functions' | 'size' | 'asyncImports' | 'suspendingExports' | 'warnings'
>

export type { InstrumentedFunction } from './explain.js'

export interface BuiltModule {
  wasm: Uint8Array
  metadata: AsyncifyMetadata
}

export interface TransformResult {
  /**
   * The asyncified module; null in mode 'jspi', and in mode 'auto' for a module only
   * JSPI can run (`report.asyncifyUnsupported` says why).
   */
  wasm: Uint8Array | null
  metadata: AsyncifyMetadata | null
  /** The module for engines with JSPI (modes 'auto' and 'jspi'), else null. */
  jspi: BuiltModule | null
  report: TransformReport
}

function levels(optimize: OptimizeLevel): [optimizeLevel: number, shrinkLevel: number] {
  if (optimize === 's') return [2, 1]
  if (optimize === 'z') return [2, 2]
  return [optimize, 0]
}

export function runPipeline(binaryen: Binaryen, input: Uint8Array, options: ResolvedTransformOptions): TransformResult {
  const started = performance.now()
  const { filename, mode } = options
  binaryen.clearPassArguments()
  binaryen.setDebugInfo(false)
  const bytes = withFiberEntry(input, filename)
  const { module, warnings: readWarnings } = read(binaryen, bytes, options)
  try {
    // Before any pass: Binaryen keeps each expression's line through them (debug-locations.ts).
    const debugWarnings: string[] = []
    const lineTable = options.debug ? readLineTable(input, filename, debugWarnings) : null
    const lines = lineTable && mode !== 'jspi' ? attachLineLocations(binaryen, module, input, lineTable) : null
    const facts = analyseModule(binaryen, module, bytes)
    const fibers = usesFibers(facts.imports)
    if (fibers && mode === 'jspi') throw fibersNeedAsyncify(filename)
    const drives = drivesAsyncify(facts.imports)
    if (drives && mode === 'jspi') throw drivesAsyncifyNeedsAsyncify(filename)
    const stackPointer = findStackPointer(binaryen, module, bytes, options.stackPointer, filename)
    refuseForeignAsyncify(module, facts.exports, filename)
    checkReservedNames(facts, filename, bytes === input ? [] : [FIBER_ENTRY_EXPORT])
    const selection = selectFunctions(facts, options, declaredAsyncImports(bytes, filename))
    const plan = mode === 'asyncify' || fibers || drives ? null : planJspi(binaryen, module, bytes, facts.exports, stackPointer.name)

    let asyncified: (BuiltModule & { instrumented: number; total: number; why: InstrumentedFunction[] }) | null = null
    let asyncifyUnsupported: string | null = null
    if (mode !== 'jspi') {
      try {
        asyncified = asyncifyModule(binaryen, module, bytes, options, facts, selection, stackPointer.name, lines && lineTable!.contents)
      } catch (error) {
        if (plan === null || !onlyJspiCanRun(error)) throw error
        asyncifyUnsupported = error.message
      }
    }

    const suspendingExports =
      asyncified?.metadata.suspendingExports ??
      suspendingExportsByCallGraph(binaryen, facts, selection)
    const jspi =
      plan &&
      withDebugInfo(
        emitJspi(bytes, plan, {
          asyncImports: selection.asyncImports.map(asyncImportMetadata),
          importArities: importArities(facts.imports, selection.asyncImports),
          suspendingExports,
          stackSize: options.stackSize,
          asyncifyUnsupported,
        }),
        lineTable,
      )
    const output = asyncified?.wasm ?? jspi!.wasm
    return {
      wasm: asyncified?.wasm ?? null,
      metadata: asyncified?.metadata ?? null,
      jspi,
      report: {
        filename,
        paths: [...(asyncified ? ['asyncify' as const] : []), ...(jspi ? ['jspi' as const] : [])],
        engine: asyncified ? 'binaryen' : null,
        asyncifyUnsupported,
        jspiUnsupported: mode !== 'auto' ? null : fibers ? FIBERS_NEED_ASYNCIFY : drives ? DRIVES_ASYNCIFY : null,
        functions: { instrumented: asyncified?.instrumented ?? 0, total: asyncified?.total ?? facts.functions.length },
        size: { before: input.length, after: output.length },
        timeMs: Math.round(performance.now() - started),
        asyncImports: selection.asyncImports.map((entry) => `${entry.module}.${entry.base}`),
        suspendingExports,
        why: asyncified?.why ?? [],
        warnings: [...readWarnings, ...selection.warnings, ...stackPointer.warnings, ...debugWarnings, ...(asyncified ? lineWarnings(lines) : [])],
      },
    }
  } finally {
    module.dispose()
    binaryen.clearPassArguments()
  }
}

/** What a debug build of the asyncified module does not map: never silently. */
function lineWarnings(lines: AttachedLines | null): string[] {
  if (lines === null || lines.unmapped.length === 0) return []
  const shown = lines.unmapped.slice(0, 5).join(', ')
  return [
    `debug: ${lines.unmapped.length} of the ${lines.described} functions with line information have no lines in the ` +
      `asyncified build's source map (${shown}${lines.unmapped.length > 5 ? ', ...' : ''}): Binaryen read their code ` +
      `in a shape that cannot be lined up with the input's instructions with certainty; the JSPI build maps them`,
  ]
}

/** The Asyncify path: check, optimize, instrument, describe, emit. Changes `module`. */
function asyncifyModule(
  binaryen: Binaryen,
  module: BinaryenModule,
  bytes: Uint8Array,
  options: ResolvedTransformOptions,
  facts: ModuleFacts,
  selection: Selection,
  stackPointer: string | null,
  /** With lines attached (debug-locations.ts): the sources the input's map carried. */
  sourceMap: ReadonlyMap<string, string> | null,
): BuiltModule & { instrumented: number; total: number; why: InstrumentedFunction[] } {
  const { filename } = options
  checkSupported(module, facts, selection.runtime, selection.asyncImports.length, filename)
  const [optimizeLevel, shrinkLevel] = levels(options.optimize)
  binaryen.setOptimizeLevel(optimizeLevel)
  binaryen.setShrinkLevel(shrinkLevel)
  const malloc = exposeAllocator(binaryen, module, facts.exports)
  let instrumented = facts
  if (options.preoptimize && (optimizeLevel > 0 || shrinkLevel > 0)) {
    markRuntimeNoInline(binaryen, module, facts, selection.runtime)
    module.optimize()
    // From here on, decide from the module as it will be emitted: the
    // optimizer merges identical functions and re-points their exports.
    instrumented = analyseModule(binaryen, module, module.emitBinary())
  }
  const functions = definedFunctions(binaryen, module)
  const reasons = suspendReasons(instrumented, selection.asyncImports.map((entry) => entry.name), selection.runtime)
  const memories = memoryZero(bytes)?.count ?? 0
  const asyncifyMemory = memories > 1 ? exportMemoryZero(binaryen, module, bytes, readExports(binaryen, module)) : null
  const { canSuspend } = instrument(
    binaryen,
    module,
    selection.asyncImports,
    asyncifyLists(instrumented, selection, reasons),
    filename,
    (limit) => asyncifyCulprits(bytes, facts, selection, limit),
    asyncifyMemory,
  )
  const defined = new Set(functions)
  const suspending = new Set([...canSuspend].filter((name) => defined.has(name) && !selection.runtime.has(name)))
  if ([...facts.expressionKinds.values()].some((kinds) => kinds.has('Try'))) {
    const suspenders = new Set([...canSuspend, ...selection.asyncImports.map((entry) => entry.name)])
    refuseSuspensionInCatch(module, suspending, suspenders, filename)
  }
  const metadata = describeModule(binaryen, module, bytes, readExports(binaryen, module), {
    asyncImports: selection.asyncImports,
    imports: instrumented.imports,
    suspending,
    stackPointer,
    malloc,
    stackSize: options.stackSize,
  })
  binaryen.setDebugInfo(true)
  const wasm = withoutUnmaintainedCodeMetadata(sourceMap ? emitWithSourceMap(module, sourceMap) : withoutSourceMapUrl(module.emitBinary()))
  binaryen.setDebugInfo(false)
  // Binaryen writes defined functions in the module's order: the output's names even when it has no name section.
  const emitted = { bytes: wasm, names: definedFunctions(binaryen, module) }
  const why = explainInstrumentation(suspending, reasons, instrumented, { bytes, names: facts.functions }, emitted)
  return { wasm, metadata, instrumented: suspending.size, total: functions.length, why }
}

/**
 * Our call graph's decision as Asyncify's only-list, so that only functions
 * that can really reach an async import are instrumented. Asyncify decides by
 * itself (every indirect call may suspend) when the module cannot tell what
 * indirect calls reach, when it drives Asyncify from inside (its own rules for
 * runtime code apply), or when a name cannot be written in a list.
 */
function asyncifyLists(
  facts: ModuleFacts,
  selection: Selection,
  suspending: Map<string, SuspendReason>,
): { onlyList: string[] } | { userRuntime: string[] } {
  const asyncifyFallback = { userRuntime: selection.userRuntime }
  if (facts.indirect.targets === null || drivesAsyncify(facts.imports)) return asyncifyFallback
  const onlyList = facts.functions.filter((name) => suspending.has(name))
  return onlyList.every(listable) ? { onlyList } : asyncifyFallback
}

/**
 * The functions (as read, before optimizing) that can be on the stack during a
 * suspension and hit `limit`, read from the input's bytes: Binaryen cannot be
 * asked after its pass aborted. Empty when the scanner cannot read the module.
 */
function asyncifyCulprits(bytes: Uint8Array, facts: ModuleFacts, selection: Selection, limit: AsyncifyLimit): string[] {
  let bodies: ScannedBody[]
  try {
    bodies = scanModule(bytes).bodies
  } catch (error) {
    if (error instanceof ScanError) return []
    throw error
  }
  const suspending = suspendingByCallGraph(facts, selection.asyncImports.map((entry) => entry.name), selection.runtime)
  return facts.functions.filter((name, i) => {
    const body = bodies[i]
    return suspending.has(name) && body !== undefined && (limit === 'tail call' ? body.tailCall : body.referenceLocal)
  })
}

function suspendingExportsByCallGraph(binaryen: Binaryen, facts: ModuleFacts, selection: Selection): string[] {
  const suspending = suspendingByCallGraph(facts, selection.asyncImports.map((entry) => entry.name), selection.runtime)
  return facts.exports
    .filter((entry) => entry.kind === binaryen.ExternalFunction && suspending.has(entry.value))
    .map((entry) => entry.name)
}

function refuseForeignAsyncify(module: BinaryenModule, exports: { name: string }[], filename: string): void {
  const refusal = alreadyTransformed(filename, Boolean(module.getGlobal('__asyncify_state')), exports.some((entry) => entry.name === 'asyncify_start_unwind'))
  if (refusal) throw refusal
}
