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
export function describeModule(
  binaryen: Binaryen,
  module: BinaryenModule,
  facts: ModuleFacts,
  asyncImports: FunctionImport[],
  suspending: Set<string>,
  stackSize: number,
): AsyncifyMetadata {
  const internalExports = [...ASYNCIFY_EXPORTS]
  const memory = locateMemory(binaryen, module, facts, internalExports)
  let stackPointer: string | null = null
  const sp = module.getGlobal('__stack_pointer')
  if (sp) {
    const info = binaryen.getGlobalInfo(sp)
    if (info.mutable && info.type === binaryen.i32) {
      module.addGlobalExport('__stack_pointer', STACK_POINTER_EXPORT)
      stackPointer = STACK_POINTER_EXPORT
      internalExports.push(STACK_POINTER_EXPORT)
    }
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
