import { AsyncifyError } from './errors.js'

/** Name of the custom section in which the transform leaves everything the runtime needs. */
export const METADATA_SECTION = 'unplugin-asyncify'

export const METADATA_VERSION = 6

/** Bytes of Asyncify stack for one suspended call stack, unless the build or the instance says otherwise. */
export const DEFAULT_STACK_SIZE = 65536

/** Export names the transform adds for the runtime; they never reach user code. */
export const STACK_POINTER_EXPORT = '__asyncify_stack_pointer'
export const MEMORY_EXPORT = '__asyncify_memory'
export const MALLOC_EXPORT = '__asyncify_malloc'
/** The import module of everything the runtime itself supplies to a module (never the user's imports). */
export const GUEST_API_MODULE = 'unplugin-asyncify'
/**
 * Where a JSPI build imports the C stack pointer it defined before
 * (`stackPointerImport`): the runtime creates that global and shares it with
 * its trampolines, which then reach it directly.
 */
export const STACK_POINTER_IMPORT = { module: GUEST_API_MODULE, name: 'stack_pointer' } as const
/** The fiber API of include/asyncify.h, imported from GUEST_API_MODULE; `switch` is the one that suspends. */
export const FIBER_IMPORTS = { create: 'fiber_create', switch: 'fiber_switch', free: 'fiber_free', current: 'fiber_current' } as const
/** Added by the transform to modules that use fibers: `(fn, arg)` calls table entry `fn` with `arg`, where a fiber starts. */
export const FIBER_ENTRY_EXPORT = '__asyncify_fiber_entry'
/** Every export the transform adds starts with this; a module's own exports may not. */
export const INTERNAL_EXPORT_PREFIX = '__asyncify_'

/** `ref` is any reference type other than the two abstract nullable ones. */
export type WasmValueType = 'i32' | 'i64' | 'f32' | 'f64' | 'v128' | 'funcref' | 'externref' | 'ref'

export interface Signature {
  params: WasmValueType[]
  results: WasmValueType[]
  /** In JSPI builds, for a signature with a typed reference (`'ref'` above): what a trampoline needs to name it. */
  typed?: TypedSignature
}

/** A signature with a typed reference, as the JSPI path's trampolines write it. */
export interface TypedSignature {
  /** Its function type's index among the module's types. */
  index: number
  /** Each value type's binary encoding, in hex. */
  params: string[]
  results: string[]
}

/** The module's type section, which trampolines that name the module's types repeat. */
export interface TypeSection {
  /** Its entries (without their count), base64. */
  section: string
  /** Top-level entries (a recursion group is one). */
  entries: number
  /** Types defined (each member of a recursion group is one). */
  count: number
}

/**
 * An import the wasm may suspend on. `results` shapes the placeholder returned
 * while unwinding; the whole signature shapes the JSPI path's trampoline.
 */
export interface AsyncImportMetadata extends Signature {
  module: string
  name: string
}

/** How a module suspends: instrumented by Asyncify, or left as it was for the engine's JSPI. */
export type SuspendEngine = 'asyncify' | 'jspi'

/** The memory that holds the Asyncify data and the shadow stack. */
export type MemoryLocation = { export: string } | { import: [module: string, name: string] }

/** Contents of the `unplugin-asyncify` custom section (JSON, UTF-8). */
export interface AsyncifyMetadata {
  version: typeof METADATA_VERSION
  engine: SuspendEngine
  asyncImports: AsyncImportMetadata[]
  /** Exports that can reach an async import; every other export stays synchronous. */
  suspendingExports: string[]
  /** The signature of each suspending export, in JSPI builds (the JSPI path wraps each in a trampoline); empty in asyncified ones. */
  exportSignatures: Record<string, Signature>
  /** Default bytes of Asyncify stack for one suspension. */
  stackSize: number
  /** Export name of the C shadow stack pointer (`__stack_pointer`), when the module has one. */
  stackPointer: string | null
  /**
   * In JSPI builds whose stack pointer became the import STACK_POINTER_IMPORT:
   * its initial value, for the global the runtime creates. Null otherwise.
   */
  stackPointerImport: { initial: number } | null
  memory: MemoryLocation | null
  /**
   * Export name of the program's `malloc`, from which the runtime takes the memory for
   * suspended state; null when the module has none (the runtime then reserves pages at
   * instantiation).
   */
  malloc: string | null
  /** Exports that exist for the runtime only. */
  internalExports: string[]
  /**
   * In a JSPI module built without an Asyncify twin: why Asyncify cannot transform it,
   * for the error on an engine without JSPI. Null otherwise.
   */
  asyncifyUnsupported: string | null
  /** In JSPI builds with a typed signature among their async imports and suspending exports: the module's types. */
  types?: TypeSection
  /**
   * How many parameters each function import that is not async takes, by
   * `module.name`, so that its wrapper declares them (import-depth.ts). Absent
   * for a name imported twice with different counts, and in builds made
   * before it existed: that wrapper takes a rest parameter.
   */
  importArities?: Record<string, number>
}

/** The exports every asyncified module has for the runtime: Binaryen's Asyncify API. */
export const ASYNCIFY_API_EXPORTS: readonly string[] = [
  'asyncify_start_unwind',
  'asyncify_stop_unwind',
  'asyncify_start_rewind',
  'asyncify_stop_rewind',
  'asyncify_get_state',
]

/**
 * What a field holds when the section leaves it out: the section says only
 * what is not a given, since for a small module it is most of what the
 * transform adds (a loop of 666 bytes gained 509 bytes of it in full, 304
 * with empty fields left out, 168 with the usual values left out too). A
 * field that differs, null included, is written.
 */
const OMITTED = {
  exportSignatures: {},
  stackSize: DEFAULT_STACK_SIZE,
  stackPointer: STACK_POINTER_EXPORT,
  stackPointerImport: null,
  memory: { export: 'memory' },
  malloc: null,
  // Stored without the Asyncify API exports, which an asyncified module always has.
  internalExports: [STACK_POINTER_EXPORT],
  asyncifyUnsupported: null,
  importArities: {},
} satisfies Partial<AsyncifyMetadata>

export function encodeMetadata(metadata: AsyncifyMetadata): Uint8Array {
  const internalExports =
    metadata.engine === 'asyncify' ? metadata.internalExports.filter((name) => !ASYNCIFY_API_EXPORTS.includes(name)) : metadata.internalExports
  const section: Record<string, unknown> = {}
  for (const [key, value] of Object.entries({ ...metadata, internalExports })) {
    const given = key in OMITTED && JSON.stringify(value) === JSON.stringify(OMITTED[key as keyof typeof OMITTED])
    if (!given) section[key] = value
  }
  return new TextEncoder().encode(JSON.stringify(section))
}

/** Reads the metadata from a compiled module, or explains how to produce it. */
export function readMetadata(module: WebAssembly.Module, label: string): AsyncifyMetadata {
  const sections = WebAssembly.Module.customSections(module, METADATA_SECTION)
  const section = sections[0]
  if (!section) {
    throw new AsyncifyError(
      'ASYNCIFY_NOT_TRANSFORMED',
      `${label}: this module was not transformed by unplugin-asyncify (no "${METADATA_SECTION}" section); ` +
        `run it through asyncifyWasm(), the wasm-asyncify CLI or the bundler plugin first`,
    )
  }
  const stored = JSON.parse(new TextDecoder().decode(section)) as AsyncifyMetadata
  if (stored.version !== METADATA_VERSION) {
    throw new AsyncifyError(
      'ASYNCIFY_NOT_TRANSFORMED',
      `${label}: transformed by an incompatible version of unplugin-asyncify (metadata v${stored.version}, ` +
        `this runtime reads v${METADATA_VERSION}); rebuild the module with the same version as the runtime`,
    )
  }
  // A copy of the givens: a decoded field must never be the shared default itself.
  const metadata: AsyncifyMetadata = { ...structuredClone(OMITTED), ...stored }
  if (metadata.engine === 'asyncify') metadata.internalExports = [...ASYNCIFY_API_EXPORTS, ...metadata.internalExports]
  return metadata
}
