import {
  ASYNCIFY_API_EXPORTS,
  FIBER_ENTRY_EXPORT,
  MALLOC_EXPORT,
  MEMORY_EXPORT,
  METADATA_SECTION,
  METADATA_VERSION,
  STACK_POINTER_EXPORT,
  encodeMetadata,
  type AsyncImportMetadata,
  type AsyncifyMetadata,
  type MemoryLocation,
} from '../runtime-shim/metadata.js'
import type { ExportEntry, FunctionImport } from './analyse.js'
import type { Binaryen, BinaryenModule } from './binaryen.js'
import { memoryZero } from './wasm-sections.js'

/**
 * Makes the module self-describing: exports what the runtime must reach (the
 * memory and the C shadow-stack pointer) and writes the metadata section, so
 * `instantiate(wasm, imports)` needs nothing else.
 */
export interface Description {
  asyncImports: FunctionImport[]
  /** Every function import of the module as emitted. */
  imports: FunctionImport[]
  /** Defined functions that can be on the stack during a suspension. */
  suspending: Set<string>
  /** Binaryen's name of the C shadow-stack pointer global, if the module has one. */
  stackPointer: string | null
  /** Whether the allocator was exported for the runtime (see allocator.ts). */
  malloc: boolean
  stackSize: number
}

/** `exports` must be read from the module as it will be emitted, after optimizing. */
export function describeModule(
  binaryen: Binaryen,
  module: BinaryenModule,
  input: Uint8Array,
  exports: ExportEntry[],
  { asyncImports, imports, suspending, stackPointer: spGlobal, malloc, stackSize }: Description,
): AsyncifyMetadata {
  const internalExports = [...ASYNCIFY_API_EXPORTS]
  const memory = locateMemory(binaryen, module, input, exports, internalExports)
  let stackPointer: string | null = null
  // The optimizer drops the global when no code uses the shadow stack.
  if (spGlobal !== null && module.getGlobal(spGlobal)) {
    module.addGlobalExport(spGlobal, STACK_POINTER_EXPORT)
    stackPointer = STACK_POINTER_EXPORT
    internalExports.push(STACK_POINTER_EXPORT)
  }
  if (malloc) internalExports.push(MALLOC_EXPORT)
  if (exports.some((entry) => entry.name === FIBER_ENTRY_EXPORT)) internalExports.push(FIBER_ENTRY_EXPORT)
  const suspendingExports = exports.filter(
    (entry) => entry.kind === binaryen.ExternalFunction && suspending.has(entry.value) && !internalExports.includes(entry.name),
  )
  const metadata: AsyncifyMetadata = {
    version: METADATA_VERSION,
    engine: 'asyncify',
    asyncImports: asyncImports.map(asyncImportMetadata),
    suspendingExports: suspendingExports.map((entry) => entry.name),
    // Only the JSPI path generates trampolines from them; on SQLite they would be most of this section.
    exportSignatures: {},
    stackSize,
    stackPointer,
    stackPointerImport: null,
    memory,
    malloc: malloc ? MALLOC_EXPORT : null,
    internalExports,
    asyncifyUnsupported: null,
    importArities: importArities(imports, asyncImports),
  }
  module.addCustomSection(METADATA_SECTION, encodeMetadata(metadata))
  return metadata
}

/** Memory 0, the one Asyncify keeps its data in (a module may have several). */
function locateMemory(
  binaryen: Binaryen,
  module: BinaryenModule,
  input: Uint8Array,
  exports: ExportEntry[],
  internalExports: string[],
): MemoryLocation | null {
  if (!module.hasMemory()) return null
  const info = module.getMemoryInfo()
  if (info.module) return { import: [info.module, info.base ?? ''] }
  const name = exportMemoryZero(binaryen, module, input, exports)
  if (name === MEMORY_EXPORT) internalExports.push(MEMORY_EXPORT)
  return { export: name }
}

/**
 * The name memory 0 is exported as, exporting it as MEMORY_EXPORT when it is
 * not (a user's export cannot have that name: check-supported.ts). Asyncify
 * is told which memory to use by an export name.
 */
export function exportMemoryZero(binaryen: Binaryen, module: BinaryenModule, input: Uint8Array, exports: ExportEntry[]): string {
  const name = memoryZero(input)?.name ?? '0'
  const exported = exports.find((entry) => entry.kind === binaryen.ExternalMemory && entry.value === name)
  if (exported) return exported.name
  module.addMemoryExport(name, MEMORY_EXPORT)
  return MEMORY_EXPORT
}

export function asyncImportMetadata({ module, base, params, results }: FunctionImport): AsyncImportMetadata {
  return { module, name: base, params, results }
}

/** `importArities` of the metadata: the parameter count of every function import not in `asyncImports`. */
export function importArities(imports: FunctionImport[], asyncImports: FunctionImport[]): Record<string, number> {
  const key = (entry: FunctionImport) => `${entry.module}.${entry.base}`
  const async = new Set(asyncImports.map(key))
  const arities: Record<string, number> = {}
  const conflicting = new Set<string>()
  for (const entry of imports) {
    const name = key(entry)
    if (async.has(name)) continue
    if (name in arities && arities[name] !== entry.params.length) conflicting.add(name)
    arities[name] = entry.params.length
  }
  for (const name of conflicting) delete arities[name]
  return arities
}
