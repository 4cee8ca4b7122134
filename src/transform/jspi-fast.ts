/*
 * The JSPI build without Binaryen, for every build that makes one (mode
 * 'jspi', mode 'auto''s JSPI half, the Vite dev server's edit-reload path):
 * binaryen.js needs seconds to minutes just to read and analyse a large
 * module, while this reads what the JSPI build needs straight from the bytes
 * (scan.ts) and decides the same way the Binaryen pipeline does (the same
 * selection, the same call-graph rule, the C stack pointer found by name or
 * by the shape of prologues as the direct engine finds it). It declines
 * (returns null) whenever only Binaryen could decide: an instruction the
 * scanner does not know, a body the shape rule cannot read, a stackPointer
 * option naming no global, a module already put through Asyncify; the
 * caller then runs the pipeline. A module that uses fibers has no JSPI
 * build: it declines that too, for its caller to say why.
 */
import { ASYNCIFY_API_EXPORTS, type Signature } from '../runtime-shim/metadata.js'
import type { FunctionImport, ModuleFacts } from './analyse.js'
import { suspendingByCallGraph } from './call-graph.js'
import { alreadyTransformed, checkReservedNames } from './check-supported.js'
import { usesFibers } from './fibers.js'
import { featuresOptionIgnored } from './features.js'
import { drivesAsyncify } from './asyncify-api.js'
import { declaredAsyncImports } from './declared-imports.js'
import { asyncImportMetadata, importArities } from './describe.js'
import { emitJspi, planFromReach, type JspiPlan } from './jspi.js'
import { resolveTransformOptions, type ResolvedTransformOptions, type TransformOptions } from './options.js'
import type { TransformResult } from './pipeline.js'
import { readLineTable } from './line-table.js'
import { withDebugInfo } from './source-map.js'
import { scanOrNull, type ScannedModule } from './scan.js'
import { callFactsFromScan } from './scan-facts.js'
import { selectFunctions } from './select.js'
import { checkWasmHeader } from './wasm-sections.js'
import { noStackPointerWarning } from './stack-pointer.js'
import { globalsShapedLikeStackPointer } from './direct/stack-shape.js'

const STACK_POINTER = '__stack_pointer'
const MALLOC = 'malloc'
const KIND = { function: 0, table: 1, memory: 2, global: 3, tag: 4 } as const

export function prepareJspiWithoutBinaryen(bytes: Uint8Array, options: TransformOptions = {}): TransformResult | null {
  return jspiWithoutBinaryen(bytes, resolveTransformOptions({ ...options, mode: 'jspi' }))
}

/**
 * The same with options already resolved (the worker's), built as for mode
 * 'jspi'; `read`: the module as `readModule` read it, when the caller has;
 * `asyncifyUnsupported`: why the module has no Asyncify build, in mode
 * 'auto' (its metadata and report say so).
 */
export function jspiWithoutBinaryen(
  bytes: Uint8Array,
  options: ResolvedTransformOptions,
  read?: ModuleRead,
  asyncifyUnsupported: string | null = null,
): TransformResult | null {
  const started = performance.now()
  const resolved: ResolvedTransformOptions = { ...options, mode: 'jspi' }
  const { filename } = resolved
  checkWasmHeader(bytes, filename)
  // Checking the features option is Binaryen's work, unless the module's target_features section overrides it.
  const featuresIgnored = resolved.features === null ? null : featuresOptionIgnored(bytes, resolved.features)
  if (featuresIgnored === undefined) return null
  const module = read ?? readModule(bytes, resolved.stackPointer, resolved.filename)
  if (module === null) return null
  const { scanned, facts, stackPointer } = module
  // Neither has a JSPI build (fibers.ts, asyncify-api.ts): the callers refuse them or build for Asyncify alone.
  if (usesFibers(facts.imports) || drivesAsyncify(facts.imports)) return null
  checkReservedNames(facts, filename)
  const selection = selectFunctions(facts, resolved, declaredAsyncImports(bytes, filename))
  const suspending = suspendingByCallGraph(facts, selection.asyncImports.map((entry) => entry.name), selection.runtime)
  const suspendingExports = facts.exports
    .filter((entry) => entry.kind === KIND.function && suspending.has(entry.value))
    .map((entry) => entry.name)

  const debugWarnings: string[] = []
  const jspi = withDebugInfo(
    emitJspi(bytes, planOf(scanned, stackPointer), {
      asyncImports: selection.asyncImports.map(asyncImportMetadata),
      importArities: importArities(facts.imports, selection.asyncImports),
      suspendingExports,
      stackSize: resolved.stackSize,
      asyncifyUnsupported,
    }),
    resolved.debug ? readLineTable(bytes, filename, debugWarnings) : null,
  )
  return {
    wasm: null,
    metadata: null,
    jspi,
    report: {
      filename,
      paths: ['jspi'],
      engine: null,
      asyncifyUnsupported,
      jspiUnsupported: null,
      functions: { instrumented: 0, total: scanned.bodies.length },
      size: { before: bytes.length, after: jspi.wasm.length },
      timeMs: Math.round(performance.now() - started),
      asyncImports: selection.asyncImports.map((entry) => `${entry.module}.${entry.base}`),
      suspendingExports,
      why: [],
      warnings: [...(featuresIgnored ? [featuresIgnored] : []), ...selection.warnings, ...module.warnings, ...debugWarnings],
    },
  }
}

/**
 * Throws the pipeline's refusal when Asyncify's pass (Binaryen's, or ours)
 * already ran on the module: its state global (by name) or an
 * `asyncify_start_unwind` export.
 */
function refuseAlreadyAsyncified(scanned: ScannedModule, filename: string): void {
  const refusal = alreadyTransformed(
    filename,
    scanned.globals.some((global) => global.name === '__asyncify_state'),
    scanned.exports.some((entry) => entry.name === 'asyncify_start_unwind'),
  )
  if (refusal) throw refusal
}

/** A function's name for patterns and the call graph: its name-section name, else Binaryen's name for it. */
export function functionName(scanned: ScannedModule, index: number): string {
  const fn = scanned.functions[index]
  if (fn?.name) return fn.name
  // Binaryen's names for the nameless, so that both engines, their reports and the options agree.
  if (fn?.imported) return `fimport$${index}`
  return String(index - (scanned.functions.length - scanned.bodies.length))
}

/**
 * The scan in the shape the selection and the call-graph rule read; null when
 * two functions go by one name (a name section may say so; Binaryen renames
 * one of them, so only the pipeline can tell them apart in its decisions).
 */
function factsOf(scanned: ScannedModule): ModuleFacts | null {
  const names = scanned.functions.map((_, index) => functionName(scanned, index))
  if (new Set(names).size !== names.length) return null
  const nameOf = (index: number) => names[index]!
  const imports: FunctionImport[] = []
  const functions: string[] = []
  scanned.functions.forEach((fn, index) => {
    if (fn.imported) imports.push({ name: nameOf(index), module: fn.imported.module, base: fn.imported.name, ...fn.type })
    else functions.push(nameOf(index))
  })
  return {
    functions,
    imports,
    exports: scanned.exports.map((entry) => ({
      name: entry.name,
      kind: KIND[entry.kind],
      value: entry.kind === 'function' ? nameOf(entry.index) : String(entry.index),
    })),
    ...callFactsFromScan(scanned, nameOf),
  }
}

/**
 * What both builds without Binaryen read of a module first: its scan, its
 * facts, and its C stack pointer (null for none, with `warnings` saying why
 * when the module has globals that could have been it). Mode 'auto' reads it
 * once for both builds: the scan decodes every body, and so may the stack
 * pointer's shape (each 30-130 ms on the bench's npm subjects).
 */
export interface ModuleRead {
  scanned: ScannedModule
  facts: ModuleFacts
  stackPointer: number | null
  warnings: string[]
}

/** The module read for the builds without Binaryen; null when only the pipeline can decide. Throws the pipeline's refusal of a module Asyncify already transformed. */
export function readModule(bytes: Uint8Array, stackPointerOption: string | number | false, filename: string): ModuleRead | null {
  const scanned = scanOrNull(bytes)
  if (scanned === null) return null
  refuseAlreadyAsyncified(scanned, filename)
  // Another of Asyncify's exports alone: only the pipeline judges it.
  if (scanned.exports.some((entry) => ASYNCIFY_API_EXPORTS.includes(entry.name))) return null
  const found = findStackPointer(bytes, scanned, stackPointerOption)
  if (found === undefined) return null
  const facts = factsOf(scanned)
  if (!facts) return null
  return { scanned, facts, stackPointer: found.index, warnings: found.warnings }
}

/**
 * The C stack pointer's global index, or null for none (with a warning when
 * the module has globals that could have been it), found as the pipeline's
 * stack-pointer.ts finds it: by name, else (option 'auto') by the shape of
 * prologues; undefined when only the pipeline can tell.
 */
function findStackPointer(bytes: Uint8Array, scanned: ScannedModule, option: string | number | false): { index: number | null; warnings: string[] } | undefined {
  const named = findStackPointerByName(scanned, option)
  if (named !== undefined) return { index: named, warnings: [] }
  if (option !== 'auto') return undefined
  const shaped = globalsShapedLikeStackPointer(bytes, scanned)
  if (shaped === null) return undefined
  return shaped.length === 1 ? { index: shaped[0]!, warnings: [] } : { index: null, warnings: [noStackPointerWarning(shaped.length)] }
}

/** The C stack pointer's global index by its name, null for none, or undefined when only the shape of the code could tell. */
function findStackPointerByName(scanned: ScannedModule, option: string | number | false): number | null | undefined {
  if (option === false) return null
  const candidates = scanned.globals.map((global, index) => ({ global, index })).filter(({ global }) => global.mutable && global.type === 'i32')
  const exportedAs = new Map(scanned.exports.filter((entry) => entry.kind === 'global').map((entry) => [entry.index, entry.name]))
  const named = (name: string) =>
    candidates.find(({ global, index }) => global.name === name || exportedAs.get(index) === name || global.imported?.name === name)
  if (typeof option === 'number') return candidates.find(({ index }) => index === option)?.index ?? undefined
  if (option !== 'auto') return named(option)?.index ?? undefined
  const found = named(STACK_POINTER)
  if (found) return found.index
  return candidates.some(({ global }) => !global.imported) ? undefined : null
}

export function planOf(scanned: ScannedModule, stackPointer: number | null): JspiPlan {
  const first = scanned.memories[0]
  const signatures = new Map<string, Signature>()
  for (const entry of scanned.exports) if (entry.kind === 'function') signatures.set(entry.name, scanned.functions[entry.index]!.type)
  return planFromReach({
    memory: first
      ? {
          imported: first.imported,
          exportedAs: scanned.exports.find((entry) => entry.kind === 'memory' && entry.index === 0)?.name ?? null,
        }
      : null,
    stackPointer,
    malloc: findMalloc(scanned),
    signatures,
  })
}

/** `malloc` by its export, else by its name, when it is a defined i32 -> i32 function (as allocator.ts decides). */
function findMalloc(scanned: ScannedModule): number | null {
  const exported = scanned.exports.find((entry) => entry.kind === 'function' && entry.name === MALLOC)
  const index = exported?.index ?? scanned.functions.findIndex((fn) => fn.name === MALLOC)
  const fn = scanned.functions[index]
  if (!fn || fn.imported) return null
  const { params, results } = fn.type
  return params.length === 1 && params[0] === 'i32' && results.length === 1 && results[0] === 'i32' ? index : null
}
