/*
 * The module for engines with JSPI: the input's own bytes, with the exports
 * the runtime must reach (memory 0, the C stack pointer, `malloc`) appended,
 * the C stack pointer imported rather than defined where that renumbers
 * nothing, and the metadata section added. No Binaryen output: code bytes and
 * DWARF are exactly the input's. Indices are read before any pass changes the module.
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
import { typedSignatures } from './typed-signatures.js'
import { memoryZero, withCustomSection, withExports, withStackPointerImported, type AddedExport } from './wasm-sections.js'

export interface JspiPlan {
  added: AddedExport[]
  memory: MemoryLocation | null
  stackPointer: string | null
  malloc: string | null
  /** Signatures of every exported function, by export name. */
  signatures: Map<string, Signature>
}

/** What the runtime must reach, as the module has it; read by Binaryen (here) or by the scanner (jspi-fast.ts). */
export interface JspiReach {
  /** Memory 0: where it is imported from, or the name it is exported as; null for a module without memory. */
  memory: { imported: { module: string; name: string } | null; exportedAs: string | null } | null
  /** Global index of the C stack pointer. */
  stackPointer: number | null
  /** Function index of `malloc`. */
  malloc: number | null
  signatures: Map<string, Signature>
}

/** The exports to add so the runtime reaches all of it, and where the metadata says each thing is. */
export function planFromReach({ memory, stackPointer, malloc, signatures }: JspiReach): JspiPlan {
  const added: AddedExport[] = []
  let location: MemoryLocation | null = null
  if (memory?.imported) location = { import: [memory.imported.module, memory.imported.name] }
  else if (memory?.exportedAs) location = { export: memory.exportedAs }
  else if (memory) {
    added.push({ name: MEMORY_EXPORT, kind: 2, index: 0 })
    location = { export: MEMORY_EXPORT }
  }
  if (stackPointer !== null) added.push({ name: STACK_POINTER_EXPORT, kind: 3, index: stackPointer })
  if (malloc !== null) added.push({ name: MALLOC_EXPORT, kind: 0, index: malloc })
  return {
    added,
    memory: location,
    stackPointer: stackPointer === null ? null : STACK_POINTER_EXPORT,
    malloc: malloc === null ? null : MALLOC_EXPORT,
    signatures,
  }
}

/** Must run on the module as read: binary indices are Binaryen's list positions only until a pass runs. */
export function planJspi(
  binaryen: Binaryen,
  module: BinaryenModule,
  input: Uint8Array,
  exports: ExportEntry[],
  stackPointerGlobal: string | null,
): JspiPlan {
  let memory: JspiReach['memory'] = null
  if (module.hasMemory()) {
    const info = module.getMemoryInfo()
    const name = memoryZero(input)?.name ?? '0'
    memory = {
      imported: info.module ? { module: info.module, name: info.base ?? '' } : null,
      exportedAs: exports.find((entry) => entry.kind === binaryen.ExternalMemory && entry.value === name)?.name ?? null,
    }
  }
  let stackPointer: number | null = null
  for (let i = 0; i < module.getNumGlobals(); i++) {
    if (binaryen.getGlobalInfo(module.getGlobalByIndex(i)).name === stackPointerGlobal) stackPointer = i
  }
  let malloc: number | null = null
  const allocator = findAllocator(binaryen, module, exports)
  for (let i = 0; i < module.getNumFunctions(); i++) {
    if (binaryen.getFunctionInfo(module.getFunctionByIndex(i)).name === allocator) malloc = i
  }
  const signatures = new Map<string, Signature>()
  for (const entry of exports) {
    if (entry.kind !== binaryen.ExternalFunction) continue
    const info = binaryen.getFunctionInfo(module.getFunction(entry.value))
    signatures.set(entry.name, { params: valueTypes(binaryen, info.params), results: valueTypes(binaryen, info.results) })
  }
  return planFromReach({ memory, stackPointer, malloc, signatures })
}

export interface JspiDecisions {
  asyncImports: AsyncImportMetadata[]
  importArities: Record<string, number>
  suspendingExports: string[]
  stackSize: number
  asyncifyUnsupported: string | null
}

export function emitJspi(input: Uint8Array, plan: JspiPlan, decisions: JspiDecisions): { wasm: Uint8Array; metadata: AsyncifyMetadata } {
  const pointer = plan.added.find((entry) => entry.name === STACK_POINTER_EXPORT)
  // The runtime's trampolines reach an imported pointer directly, where a defined one costs them two calls into another instance per suspension.
  const imported = pointer ? withStackPointerImported(input, pointer.index) : null
  const typed = typedSignatures(input)
  const asyncImports = decisions.asyncImports.map((entry) => {
    const index = typed?.imports.get(`${entry.module}.${entry.name}`)
    const signature = index === undefined ? undefined : typed!.byFunction.get(index)
    return signature ? { ...entry, typed: signature } : entry
  })
  const exportSignatures = Object.fromEntries(
    decisions.suspendingExports.map((name) => {
      const signature = plan.signatures.get(name)!
      const index = typed?.exports.get(name)
      const signatureTyped = index === undefined ? undefined : typed?.byFunction.get(index)
      return [name, signatureTyped ? { ...signature, typed: signatureTyped } : signature]
    }),
  )
  const usesTypes = [...asyncImports, ...Object.values(exportSignatures)].some((signature) => signature.typed)
  const metadata: AsyncifyMetadata = {
    version: METADATA_VERSION,
    engine: 'jspi',
    asyncImports,
    suspendingExports: decisions.suspendingExports,
    exportSignatures,
    stackSize: decisions.stackSize,
    stackPointer: plan.stackPointer,
    stackPointerImport: imported && { initial: imported.initial },
    memory: plan.memory,
    malloc: plan.malloc,
    internalExports: plan.added.map((entry) => entry.name),
    asyncifyUnsupported: decisions.asyncifyUnsupported,
    importArities: decisions.importArities,
    ...(usesTypes ? { types: typed!.types } : {}),
  }
  const wasm = withCustomSection(withExports(imported?.wasm ?? input, plan.added), METADATA_SECTION, encodeMetadata(metadata))
  return { wasm, metadata }
}
