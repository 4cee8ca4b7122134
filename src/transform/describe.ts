import {
  MEMORY_EXPORT,
  METADATA_SECTION,
  METADATA_VERSION,
  STACK_POINTER_EXPORT,
  encodeMetadata,
  type AsyncifyMetadata,
  type MemoryLocation,
} from '../runtime-shim/metadata.js'
import type { FunctionImport, ModuleFacts } from './analyse.js'
import type { Binaryen, BinaryenModule } from './binaryen.js'

const ASYNCIFY_EXPORTS = [
  'asyncify_start_unwind',
  'asyncify_stop_unwind',
  'asyncify_start_rewind',
  'asyncify_stop_rewind',
  'asyncify_get_state',
]

/**
 * Makes the module self-describing: exports what the runtime must reach (the
 * memory and the C shadow-stack pointer) and writes the metadata section, so
 * `instantiate(wasm, imports)` needs nothing else.
 */
export interface Description {
  asyncImports: FunctionImport[]
  /** Defined functions that can be on the stack during a suspension. */
  suspending: Set<string>
  /** Binaryen's name of the C shadow-stack pointer global, if the module has one. */
  stackPointer: string | null
  stackSize: number
}

export function describeModule(
  binaryen: Binaryen,
  module: BinaryenModule,
  facts: ModuleFacts,
  { asyncImports, suspending, stackPointer: spGlobal, stackSize }: Description,
): AsyncifyMetadata {
  const internalExports = [...ASYNCIFY_EXPORTS]
  const memory = locateMemory(binaryen, module, facts, internalExports)
  let stackPointer: string | null = null
  // The optimizer drops the global when no code uses the shadow stack.
  if (spGlobal !== null && module.getGlobal(spGlobal)) {
    module.addGlobalExport(spGlobal, STACK_POINTER_EXPORT)
    stackPointer = STACK_POINTER_EXPORT
    internalExports.push(STACK_POINTER_EXPORT)
  }
  const metadata: AsyncifyMetadata = {
    version: METADATA_VERSION,
    asyncImports: asyncImports.map(({ module, base, results }) => ({ module, name: base, results })),
    suspendingExports: facts.exports
      .filter((entry) => entry.kind === binaryen.ExternalFunction && suspending.has(entry.value))
      .map((entry) => entry.name),
    stackSize,
    stackPointer,
    memory,
    internalExports,
  }
  module.addCustomSection(METADATA_SECTION, encodeMetadata(metadata))
  return metadata
}

function locateMemory(
  binaryen: Binaryen,
  module: BinaryenModule,
  facts: ModuleFacts,
  internalExports: string[],
): MemoryLocation | null {
  if (!module.hasMemory()) return null
  const exported = facts.exports.find((entry) => entry.kind === binaryen.ExternalMemory)
  if (exported) return { export: exported.name }
  const info = module.getMemoryInfo()
  if (info.module) return { import: [info.module, info.base ?? ''] }
  // A memory that is neither exported nor imported is still ours to reach.
  module.addMemoryExport('0', MEMORY_EXPORT)
  internalExports.push(MEMORY_EXPORT)
  return { export: MEMORY_EXPORT }
}
