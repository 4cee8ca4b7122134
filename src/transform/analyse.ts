import type { WasmValueType } from '../runtime-shim/metadata.js'
import { withOutput } from './binaryen-output.js'
import type { Binaryen, BinaryenModule } from './binaryen.js'

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
  /** Per function, the expression kinds Binaryen counted in it (`TryTable`, `CallRef`, ...). */
  expressionKinds: Map<string, Set<string>>
}

/** Reads the facts the later steps decide on, through Binaryen's own analyses. */
export function analyseModule(binaryen: Binaryen, module: BinaryenModule): ModuleFacts {
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
  return {
    functions,
    imports,
    exports: readExports(binaryen, module),
    calls: callGraph(module),
    expressionKinds: expressionKinds(module),
  }
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

function callGraph(module: BinaryenModule): Map<string, Set<string>> {
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

function expressionKinds(module: BinaryenModule): Map<string, Set<string>> {
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
