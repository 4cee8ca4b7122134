import { AsyncifyError } from '../runtime-shim/errors.js'
import { INTERNAL_EXPORT_PREFIX } from '../runtime-shim/metadata.js'
import type { ModuleFacts } from './analyse.js'
import type { BinaryenModule } from './binaryen.js'
import type { ReferenceHeld } from './direct/body.js'

/*
 * Constructs Asyncify cannot transform correctly. `call_ref` is never
 * instrumented, so a suspension beneath one resumes with wrong state and no
 * error; `try_table` aborts binaryen.js inside Flatten. Both are refused up
 * front with the function that holds them. (Tail calls and reference-typed
 * locals are reported by Asyncify itself as fatal errors.)
 */
const UNSUPPORTED: Record<string, string> = {
  CallRef: '`call_ref` (typed function references)',
  TryTable: '`try_table` (the new exception-handling proposal)',
}

/** Both paths add exports named with the reserved prefix. */
/** `added`: reserved names the transform itself put in the module before it was read (fibers.ts). */
export function checkReservedNames(facts: ModuleFacts, filename: string, added: readonly string[] = []): void {
  const reserved = facts.exports.find((entry) => entry.name.startsWith(INTERNAL_EXPORT_PREFIX) && !added.includes(entry.name))
  if (reserved) {
    throw new AsyncifyError(
      'ASYNCIFY_NAME_COLLISION',
      `${filename}: the module exports "${reserved.name}", but export names starting with "${INTERNAL_EXPORT_PREFIX}" ` +
        `are reserved for what the transform adds for the runtime; rename that export`,
    )
  }
}

/**
 * A reference-typed local live across a call that may suspend, or a result
 * that cannot be null of a function that may, found by the direct engine
 * (Binaryen's pass refuses every reference-typed local of a function it
 * instruments, and says less of which).
 */
export function referenceSaved(filename: string, fn: string, type: string, held: ReferenceHeld = 'local', typeNames: ReadonlyMap<number, string> = new Map()): AsyncifyError {
  // A type index by the name the name section gives it, as the module's source would write it: (ref null $box).
  const shown = type.replace(/^\((ref (?:null )?)(\d+)\)$/, (whole, prefix: string, index: string) => {
    const name = typeNames.get(Number(index))
    return name === undefined ? whole : `(${prefix}$${name})`
  })
  const named = shown === 'ref' ? 'a typed reference' : shown
  const fix = `or list "${fn}" in asyncify({ runtime }) if it never suspends; engines with JSPI run it as it is (mode "auto")`
  return new AsyncifyError(
    'ASYNCIFY_UNSUPPORTED_FEATURE',
    held === 'result'
      ? `${filename}: function "${fn}" returns ${named}, which cannot be null, and may suspend; while it unwinds, an Asyncify ` +
          `build returns a value its caller ignores, and there is none of a type without null. Return a nullable reference, ${fix}`
      : `${filename}: function "${fn}" keeps ${shown === 'ref' ? named : `a local of type ${shown}`} across a call that may suspend; ` +
          `Asyncify saves a suspended frame's locals in linear memory, which cannot hold a reference. Keep the reference in a table ` +
          `across that call (as wasm-bindgen's externref table does), ${fix}`,
  )
}

/**
 * The module was put through Asyncify already: it has Asyncify's state global
 * (by its name in the name section) or exports `asyncify_start_unwind`.
 */
export function alreadyTransformed(filename: string, stateGlobal: boolean, startUnwindExport: boolean): AsyncifyError | null {
  if (!stateGlobal && !startUnwindExport) return null
  return new AsyncifyError(
    'ASYNCIFY_ALREADY_TRANSFORMED',
    `${filename}: this module was already put through Asyncify (it has ${stateGlobal ? 'the __asyncify_state global' : 'an asyncify_start_unwind export'}); ` +
      `instrumenting it twice would break it. Pass the module from before Asyncify (drop --asyncify / -sASYNCIFY from its build)`,
  )
}

/** Whether a refusal of the Asyncify build leaves the JSPI build to run: what only Asyncify needs (a construct it can transform, a memory for its state). */
export function onlyJspiCanRun(error: unknown): error is AsyncifyError {
  return error instanceof AsyncifyError && (error.code === 'ASYNCIFY_UNSUPPORTED_FEATURE' || error.code === 'ASYNCIFY_NO_MEMORY')
}

export function checkSupported(
  module: BinaryenModule,
  facts: ModuleFacts,
  runtime: Set<string>,
  asyncImports: number,
  filename: string,
): void {
  const memory = module.hasMemory() ? module.getMemoryInfo() : null
  checkSupportedFacts(facts, runtime, asyncImports, memory && { memory64: memory.is64, shared: memory.shared }, filename)
}

/**
 * The same from what a scan reads (the direct engine's check): `memory`, the
 * module's first memory, or null for none.
 */
export function checkSupportedFacts(
  facts: Pick<ModuleFacts, 'expressionKinds'>,
  runtime: Set<string>,
  asyncImports: number,
  memory: { memory64: boolean; shared: boolean } | null,
  filename: string,
): void {
  for (const [fn, kinds] of facts.expressionKinds) {
    if (runtime.has(fn)) continue
    for (const kind of kinds) {
      const what = UNSUPPORTED[kind]
      if (what) {
        throw new AsyncifyError(
          'ASYNCIFY_UNSUPPORTED_FEATURE',
          `${filename}: function "${fn}" uses ${what}, which Asyncify cannot instrument; ` +
            `compile without that feature (for C++ exceptions use -fwasm-exceptions with legacy EH or ` +
            `-fno-exceptions), or list "${fn}" in asyncify({ runtime }) if it can never be on the stack during a suspension`,
        )
      }
    }
  }
  if (memory) {
    if (memory.memory64) {
      throw new AsyncifyError(
        'ASYNCIFY_UNSUPPORTED_FEATURE',
        `${filename}: the module uses a 64-bit memory (memory64), which the runtime does not drive yet; build for wasm32`,
      )
    }
    if (memory.shared) {
      throw new AsyncifyError(
        'ASYNCIFY_UNSUPPORTED_FEATURE',
        `${filename}: the module uses a shared memory (threads); Asyncify keeps one global state per instance ` +
          `and cannot suspend threads; build without -pthread / atomics`,
      )
    }
  }
  if (asyncImports > 0 && !memory) {
    throw new AsyncifyError(
      'ASYNCIFY_NO_MEMORY',
      `${filename}: the module has no linear memory, so a suspended call has nowhere to keep its state; ` +
        `give it a memory (clang, Rust and Emscripten always do; in WAT add \`(memory 1)\`), ` +
        `or list no async imports if nothing in it ever waits`,
    )
  }
}
