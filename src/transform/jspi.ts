/*
 * The module for engines with JSPI: the input's own bytes, with the exports
 * the runtime must reach (memory 0, the C stack pointer, `malloc`) appended and
 * the metadata section added. No Binaryen output: code, DWARF and source maps
 * are exactly the input's. Indices are read before any pass changes the module.
 */
import {
  MALLOC_EXPORT,
  MEMORY_EXPORT,
  METADATA_SECTION,
  METADATA_VERSION,
  STACK_POINTER_EXPORT,
  encodeMetadata,
  type AsyncImportMetadata,
  type AsyncifyMetadata,
  type MemoryLocation,
  type Signature,
} from '../runtime-shim/metadata.js'
import { findAllocator } from './allocator.js'
import { valueTypes, type ExportEntry } from './analyse.js'
import type { Binaryen, BinaryenModule } from './binaryen.js'
import { indexNames, NAME_SUBSECTION, withCustomSection, withExports, type AddedExport } from './wasm-sections.js'

export interface JspiPlan {
  added: AddedExport[]
  memory: MemoryLocation | null
  stackPointer: string | null
  malloc: string | null
  /** Signatures of every exported function, by export name. */
  signatures: Map<string, Signature>
}

/** Must run on the module as read: binary indices are Binaryen's list positions only until a pass runs. */
export function planJspi(
  binaryen: Binaryen,
  module: BinaryenModule,
  input: Uint8Array,
  exports: ExportEntry[],
  stackPointerGlobal: string | null,
): JspiPlan {
  const added: AddedExport[] = []
  const functionIndex = new Map<string, number>()
  for (let i = 0; i < module.getNumFunctions(); i++) functionIndex.set(binaryen.getFunctionInfo(module.getFunctionByIndex(i)).name, i)

  let memory: MemoryLocation | null = null
  if (module.hasMemory()) {
    const info = module.getMemoryInfo()
    const name = indexNames(input, NAME_SUBSECTION.memory)?.get(0) ?? '0'
    const exported = exports.find((entry) => entry.kind === binaryen.ExternalMemory && entry.value === name)
    if (info.module) memory = { import: [info.module, info.base ?? ''] }
    else if (exported) memory = { export: exported.name }
    else {
      added.push({ name: MEMORY_EXPORT, kind: 2, index: 0 })
      memory = { export: MEMORY_EXPORT }
    }
  }

  let stackPointer: string | null = null
  if (stackPointerGlobal !== null) {
    for (let i = 0; i < module.getNumGlobals(); i++) {
      if (binaryen.getGlobalInfo(module.getGlobalByIndex(i)).name !== stackPointerGlobal) continue
      added.push({ name: STACK_POINTER_EXPORT, kind: 3, index: i })
      stackPointer = STACK_POINTER_EXPORT
    }
  }

  let malloc: string | null = null
  const allocator = findAllocator(binaryen, module, exports)
  if (allocator !== null) {
    added.push({ name: MALLOC_EXPORT, kind: 0, index: functionIndex.get(allocator)! })
    malloc = MALLOC_EXPORT
  }

  const signatures = new Map<string, Signature>()
  for (const entry of exports) {
    if (entry.kind !== binaryen.ExternalFunction) continue
    const info = binaryen.getFunctionInfo(module.getFunction(entry.value))
    signatures.set(entry.name, { params: valueTypes(binaryen, info.params), results: valueTypes(binaryen, info.results) })
  }
  return { added, memory, stackPointer, malloc, signatures }
}

export interface JspiDecisions {
  asyncImports: AsyncImportMetadata[]
  suspendingExports: string[]
  stackSize: number
  asyncifyUnsupported: string | null
}

export function emitJspi(input: Uint8Array, plan: JspiPlan, decisions: JspiDecisions): { wasm: Uint8Array; metadata: AsyncifyMetadata } {
  const metadata: AsyncifyMetadata = {
    version: METADATA_VERSION,
    engine: 'jspi',
    asyncImports: decisions.asyncImports,
    suspendingExports: decisions.suspendingExports,
    exportSignatures: Object.fromEntries(decisions.suspendingExports.map((name) => [name, plan.signatures.get(name)!])),
    stackSize: decisions.stackSize,
    stackPointer: plan.stackPointer,
    memory: plan.memory,
    malloc: plan.malloc,
    internalExports: plan.added.map((entry) => entry.name),
    asyncifyUnsupported: decisions.asyncifyUnsupported,
  }
  const wasm = withCustomSection(withExports(input, plan.added), METADATA_SECTION, encodeMetadata(metadata))
  return { wasm, metadata }
}
