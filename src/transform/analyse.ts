import type { WasmValueType } from '../runtime-shim/metadata.js'
import { withOutput } from './binaryen-output.js'
import type { Binaryen, BinaryenModule } from './binaryen.js'
import { ScanError, scanModule } from './scan.js'
import { callFactsFromScan, type CallFacts } from './scan-facts.js'

export interface FunctionImport {
  /** Binaryen's internal name of the imported function. */
  name: string
  module: string
  base: string
  params: WasmValueType[]
  results: WasmValueType[]
}

export interface ModuleFacts {
  /** Names of the functions defined in the module (not imported). */
  functions: string[]
  imports: FunctionImport[]
  exports: { name: string; kind: number; value: string }[]
  /** Direct calls: caller -> callees (imports included). */
  calls: Map<string, Set<string>>
  /** Per function, the kinds of expression the later steps refuse or inspect (`CallIndirect`, `CallRef`, `Try`, `TryTable`). */
  expressionKinds: Map<string, Set<string>>
  indirect: IndirectCalls
}

export interface IndirectCalls {
  /** Per function that makes indirect calls: the signatures its `call_indirect`s name, or 'any' (a `call_ref`). */
  byCaller: Map<string, Set<string> | 'any'>
  /**
   * The functions an indirect call of each signature can reach (see
   * scan-facts.ts); null when the module cannot tell, and then any indirect
   * call may reach anything.
   */
  targets: Map<string, string[]> | null
}

/**
 * Reads the facts the later steps decide on. `bytes` must be the module
 * `module` was read from (or emitted as): the call graph comes from a scan of
 * them, and from Binaryen's printed analyses only for what the scanner cannot
 * decode.
 */
export function analyseModule(binaryen: Binaryen, module: BinaryenModule, bytes: Uint8Array): ModuleFacts {
  const functions: string[] = []
  const imports: FunctionImport[] = []
  for (let i = 0; i < module.getNumFunctions(); i++) {
    const info = binaryen.getFunctionInfo(module.getFunctionByIndex(i))
    if (info.module) {
      imports.push({
        name: info.name,
        module: info.module,
        base: info.base ?? '',
        params: valueTypes(binaryen, info.params),
        results: valueTypes(binaryen, info.results),
      })
    } else {
      functions.push(info.name)
    }
  }
  // The function index space, as Binaryen reads and writes it: imports first.
  const byIndex = [...imports.map((entry) => entry.name), ...functions]
  return {
    functions,
    imports,
    exports: readExports(binaryen, module),
    ...(scannedCallFacts(bytes, byIndex, imports.length) ?? printedCallFacts(module)),
  }
}

function scannedCallFacts(bytes: Uint8Array, byIndex: string[], imported: number): CallFacts | null {
  try {
    const scanned = scanModule(bytes)
    const sameSpace = scanned.functions.length === byIndex.length && scanned.functions.every((fn, i) => (fn.imported !== null) === i < imported)
    return sameSpace ? callFactsFromScan(scanned, (index) => byIndex[index]!) : null
  } catch (error) {
    if (error instanceof ScanError) return null
    throw error
  }
}

/** The same facts from Binaryen, for modules the scanner cannot decode: slow, and blind to what indirect calls reach. */
export function printedCallFacts(module: BinaryenModule): CallFacts {
  const expressionKinds = printedExpressionKinds(module)
  const byCaller: IndirectCalls['byCaller'] = new Map()
  for (const [fn, kinds] of expressionKinds) if (kinds.has('CallIndirect') || kinds.has('CallRef')) byCaller.set(fn, 'any')
  return { calls: printedCallGraph(module), expressionKinds, indirect: { byCaller, targets: null } }
}

export type ExportEntry = ModuleFacts['exports'][number]

export function readExports(binaryen: Binaryen, module: BinaryenModule): ExportEntry[] {
  const exports: ExportEntry[] = []
  for (let i = 0; i < module.getNumExports(); i++) exports.push(binaryen.getExportInfo(module.getExportByIndex(i)))
  return exports
}

export function definedFunctions(binaryen: Binaryen, module: BinaryenModule): string[] {
  const names: string[] = []
  for (let i = 0; i < module.getNumFunctions(); i++) {
    const info = binaryen.getFunctionInfo(module.getFunctionByIndex(i))
    if (!info.module) names.push(info.name)
  }
  return names
}

export function valueTypes(binaryen: Binaryen, type: number): WasmValueType[] {
  return binaryen.expandType(type).map((t) => {
    if (t === binaryen.i32) return 'i32'
    if (t === binaryen.i64) return 'i64'
    if (t === binaryen.f32) return 'f32'
    if (t === binaryen.f64) return 'f64'
    if (t === binaryen.v128) return 'v128'
    if (t === binaryen.funcref) return 'funcref'
    if (t === binaryen.externref) return 'externref'
    return 'ref'
  })
}

function printedCallGraph(module: BinaryenModule): Map<string, Set<string>> {
  const { output } = withOutput(() => module.runPasses(['print-call-graph']))
  const calls = new Map<string, Set<string>>()
  for (const line of output.join('\n').split('\n')) {
    const match = /^\s*"(.*)" -> "(.*)"; \/\/ call$/.exec(line)
    if (!match) continue
    const [, caller, callee] = match as unknown as [string, string, string]
    let callees = calls.get(caller)
    if (!callees) calls.set(caller, (callees = new Set()))
    callees.add(callee)
  }
  return calls
}

function printedExpressionKinds(module: BinaryenModule): Map<string, Set<string>> {
  const { output } = withOutput(() => module.runPasses(['func-metrics']))
  const kinds = new Map<string, Set<string>>()
  let current: Set<string> | null = null
  for (const line of output.join('\n').split('\n')) {
    const header = /^func: (.*)$/.exec(line)
    if (header) {
      current = new Set()
      kinds.set(header[1] as string, current)
      continue
    }
    if (/^\S/.test(line)) current = null
    const count = /^ ([A-Za-z]+)\s*: (\d+)/.exec(line)
    if (current && count && Number(count[2]) > 0) current.add(count[1] as string)
  }
  return kinds
}
