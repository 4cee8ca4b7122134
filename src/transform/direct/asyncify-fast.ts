/*
 * The Asyncify build without Binaryen (the direct engine): the decisions of the Binaryen
 * pipeline (the same selection and call-graph rule, jspi-fast.ts's reading of
 * the module) and the instrumentation of module.ts. It declines (null) when
 * only the Binaryen pipeline can build the module or explain why not: the
 * pipeline then runs as before. With `debug`, the input's lines come out as
 * a source map of the output (addresses.ts).
 */
import {
  ASYNCIFY_API_EXPORTS,
  FIBER_ENTRY_EXPORT,
  MALLOC_EXPORT,
  METADATA_SECTION,
  METADATA_VERSION,
  STACK_POINTER_EXPORT,
  encodeMetadata,
  type AsyncifyMetadata,
} from '../../runtime-shim/metadata.js'
import { suspendReasons } from '../call-graph.js'
import { checkReservedNames, checkSupportedFacts, referenceSaved } from '../check-supported.js'
import { declaredAsyncImports } from '../declared-imports.js'
import { asyncImportMetadata, importArities } from '../describe.js'
import { functionName, planOf, readModule, type ModuleRead } from '../jspi-fast.js'
import { resolveTransformOptions, type ResolvedTransformOptions, type TransformOptions } from '../options.js'
import { explainInstrumentation } from '../explain.js'
import { usesFibers } from '../fibers.js'
import { featuresOptionIgnored } from '../features.js'
import type { TransformResult } from '../pipeline.js'
import { selectFunctions } from '../select.js'
import { ASYNCIFY_API_MODULE, drivesAsyncify, runtimeTops } from '../asyncify-api.js'
import { withAsyncifyApiDefined } from './api-imports.js'
import { checkWasmHeader, codeContents, customSectionPayloads, withCustomSection, withExports, withoutCustomSection } from '../wasm-sections.js'
import { WasmReader } from '../wasm-reader.js'
import { concatBytes, encodeName, vector } from '../../runtime-shim/wasm-writer.js'
import { readLineTable } from '../line-table.js'
import type { LineRow } from '../dwarf-lines.js'
import { withDebugInfo, withoutDebugSections } from '../source-map.js'
import { CodeAddresses } from './addresses.js'
import { directAsyncify } from './module.js'
import { ReferenceSaved, SuspensionInHandler } from './body.js'
import { suspensionInCatch } from '../check-catch.js'
import { calledOnlyDirectly } from './arguments-again.js'

const TARGET_FEATURES = 'target_features'

export function prepareAsyncifyWithoutBinaryen(bytes: Uint8Array, options: TransformOptions = {}): TransformResult | null {
  return asyncifyWithoutBinaryen(bytes, resolveTransformOptions({ ...options, mode: 'asyncify' }))
}

/**
 * The same with options already resolved (the worker's); `read`: the module
 * as `readModule` read it, when the caller has; `input`: the user's module,
 * when `bytes` is it with the function fibers start at added (fibers.ts).
 */
export function asyncifyWithoutBinaryen(bytes: Uint8Array, resolved: ResolvedTransformOptions, read?: ModuleRead, input?: Uint8Array): TransformResult | null {
  const started = performance.now()
  const { filename } = resolved
  checkWasmHeader(bytes, filename)
  // The input's line table counts from its code section's start: the body added must leave every body where it was in it.
  if (input !== undefined && resolved.debug && bodiesStart(input) !== bodiesStart(bytes)) return null
  // Preoptimize is Binaryen's work; so is checking the features option, unless the module's target_features section overrides it.
  if (resolved.preoptimize) return null
  const featuresIgnored = resolved.features === null ? null : featuresOptionIgnored(input ?? bytes, resolved.features)
  if (featuresIgnored === undefined) return null
  const module = read ?? readModule(bytes, resolved.stackPointer, resolved.filename)
  if (module === null) return null
  const { scanned, facts, stackPointer, warnings } = module
  // Fibers start at a function the caller adds first (`input` then says so).
  if (input === undefined && usesFibers(facts.imports)) return null
  const added = input === undefined ? [] : [FIBER_ENTRY_EXPORT]
  checkReservedNames(facts, filename, added)
  const selection = selectFunctions(facts, resolved, declaredAsyncImports(bytes, filename))
  try {
    checkSupportedFacts(facts, selection.runtime, selection.asyncImports.length, scanned.memories[0] ?? null, filename)
  } catch (error) {
    // Refused as the pipeline refuses it (mode auto then builds for JSPI alone), but an invalid module is the pipeline's to report.
    if (WebAssembly.validate(bytes as Uint8Array<ArrayBuffer>)) throw error
    return null
  }
  if (scanned.memories.length !== 1) return null
  const drives = drivesAsyncify(facts.imports)
  const asyncNames = selection.asyncImports.map((entry) => entry.name)
  // The top of a module's own runtime changes the state like an async import: what calls it is instrumented.
  const tops = drives ? runtimeTops(facts.imports, facts.calls, selection.userRuntime) : []
  const reasons = suspendReasons(facts, [...asyncNames, ...tops], selection.runtime)
  const indexOf = new Map(scanned.functions.map((_, index) => [functionName(scanned, index), index]))
  const instrumentedNames = facts.functions.filter((name) => reasons.has(name))
  const instrument = new Set(instrumentedNames.map((name) => indexOf.get(name)!))
  const defined = drives ? withAsyncifyApiDefined(bytes) : null
  if (drives && defined === null) return null
  const index = defined?.index ?? ((old: number) => old)
  const unwinding = new Set([...instrument, ...[...asyncNames, ...tops].map((name) => index(indexOf.get(name)!))])
  const addresses = resolved.debug ? new CodeAddresses() : undefined
  const sharedRecords = resolved.optimize === 's' || resolved.optimize === 'z'
  const argumentsAgain = calledOnlyDirectly(scanned, instrument)
  let instrumented: ReturnType<typeof directAsyncify>
  try {
    instrumented = directAsyncify(
      defined?.bytes ?? bytes,
      { unwinding, instrument, stackPointer, sharedRecords, rewindCopies: resolved.optimize === 3, argumentsAgain, apiImports: defined?.api, smallFunctionShare: resolved.optimize === 3 },
      addresses,
    )
  } catch (error) {
    if (error instanceof ReferenceSaved) throw referenceSaved(filename, functionName(scanned, error.fn!), error.type, error.held, scanned.typeNames)
    if (!(error instanceof SuspensionInHandler)) throw error
    // The callee may be an import the API's functions moved: named by its index in the input.
    const callee = defined === null ? error.callee : scanned.functions.findIndex((_, old) => index(old) === error.callee)
    throw suspensionInCatch(filename, functionName(scanned, error.caller!), functionName(scanned, callee))
  }
  if (instrumented === null) return null

  const plan = planOf(scanned, stackPointer)
  const internalExports = [...ASYNCIFY_API_EXPORTS, ...plan.added.map((entry) => entry.name), ...added]
  const suspending = new Set(instrumentedNames.filter((name) => !selection.runtime.has(name)))
  const suspendingExports = facts.exports
    .filter((entry) => entry.kind === 0 && suspending.has(entry.value) && !internalExports.includes(entry.name))
    .map((entry) => entry.name)
  const metadata: AsyncifyMetadata = {
    version: METADATA_VERSION,
    engine: 'asyncify',
    asyncImports: selection.asyncImports.map(asyncImportMetadata),
    suspendingExports,
    exportSignatures: {},
    stackSize: resolved.stackSize,
    stackPointer: plan.stackPointer === null ? null : STACK_POINTER_EXPORT,
    stackPointerImport: null,
    memory: plan.memory,
    malloc: plan.malloc === null ? null : MALLOC_EXPORT,
    internalExports,
    asyncifyUnsupported: null,
    importArities: importArities(facts.imports, selection.asyncImports),
  }
  // The input's DWARF and source map describe the code before instrumentation; with debug, its lines where they went.
  const debugWarnings: string[] = []
  const lines = resolved.debug ? readLineTable(input ?? bytes, filename, debugWarnings) : null
  const built = withFeaturesDeclared(withExports(withoutDebugSections(instrumented.wasm), plan.added), ['mutable-globals', ...instrumented.features])
  const wasm = withCustomSection(
    lines ? withDebugInfo({ wasm: built }, { ...lines, rows: addresses!.rows(movedRows(lines.rows, defined?.moved ?? 0)) }).wasm : built,
    METADATA_SECTION,
    encodeMetadata(metadata),
  )
  // A safety net while this engine is young: never hand out what the engine would refuse. Output that does not
  // validate from input that does is a bug of ours: thrown, so that the pipeline's build says so (fastBuildOrFallback).
  if (!WebAssembly.validate(wasm as Uint8Array<ArrayBuffer>)) {
    if (WebAssembly.validate(bytes as Uint8Array<ArrayBuffer>)) throw new Error('its output did not validate')
    return null
  }
  const names = facts.functions
  return {
    wasm,
    metadata,
    jspi: null,
    report: {
      filename,
      paths: ['asyncify'],
      engine: 'direct',
      asyncifyUnsupported: null,
      jspiUnsupported: null,
      functions: { instrumented: suspending.size, total: facts.functions.length },
      size: { before: (input ?? bytes).length, after: wasm.length },
      timeMs: Math.round(performance.now() - started),
      asyncImports: selection.asyncImports.map((entry) => `${entry.module}.${entry.base}`),
      suspendingExports,
      why: explainInstrumentation(suspending, reasons, facts, { bytes, names }, { bytes: wasm, names: withCopiesNamed(drives ? [...apiImportNames(facts), ...names] : names, instrumented.copies) }),
      warnings: [...(featuresIgnored ? [featuresIgnored] : []), ...selection.warnings, ...warnings, ...debugWarnings],
    },
  }
}

/** The output's defined functions' names with each rewind copy named as the function it copies: its bytes count as that function's. */
function withCopiesNamed(names: string[], copies: { copy: number; of: number }[]): string[] {
  const named = names.slice()
  for (const { copy, of } of copies) if (names[of] !== undefined) named[copy] = names[of]
  return named
}

/** Where the first body starts in the code section's contents (after the count of bodies). */
function bodiesStart(wasm: Uint8Array): number {
  const start = codeContents(wasm)!.start
  const reader = new WasmReader(wasm, start)
  reader.u32()
  return reader.offset - start
}

/**
 * A `target_features` section names what the module uses, and the output
 * uses more: it exports mutable globals (the stack pointer; Asyncify's state
 * for tools), and its frame-record helpers may return several values. The
 * section gains `+` entries for `features`, by name, as Binaryen writes it.
 */
function withFeaturesDeclared(wasm: Uint8Array, features: string[]): Uint8Array {
  const [payload] = customSectionPayloads(wasm, TARGET_FEATURES)
  if (!payload) return wasm
  const entries: { prefix: number; name: string }[] = []
  const reader = new WasmReader(payload)
  for (let n = reader.u32(); n > 0; n--) entries.push({ prefix: reader.byte(), name: reader.name() })
  const missing = features.filter((feature) => !entries.some((entry) => entry.name === feature && entry.prefix !== 0x2d))
  if (missing.length === 0) return wasm
  const kept = entries.filter((entry) => !missing.includes(entry.name))
  kept.push(...missing.map((name) => ({ prefix: 0x2b, name })))
  kept.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0))
  const encoded = vector(kept.map((entry) => concatBytes([entry.prefix], encodeName(entry.name))))
  return withCustomSection(withoutCustomSection(wasm, TARGET_FEATURES)!, TARGET_FEATURES, encoded)
}

/** The names of a module's imports of the API, in the order their functions open its output's code (api-imports.ts). */
function apiImportNames(facts: { imports: readonly { name: string; module: string }[] }): string[] {
  return facts.imports.filter((entry) => entry.module === ASYNCIFY_API_MODULE).map((entry) => entry.name)
}

/** A line table's rows at the addresses their code moved to: the API's functions open the code section (api-imports.ts). */
function movedRows(rows: LineRow[], moved: number): LineRow[] {
  return moved === 0 ? rows : rows.map((row) => ({ ...row, address: row.address + moved }))
}
