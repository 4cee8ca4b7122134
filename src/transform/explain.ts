/*
 * Why each function was instrumented, and what it cost: the chain from the
 * function down to an async import (see call-graph.ts) and the bytes its body
 * grew by, read from the input's and the output's bytes.
 */
import type { ModuleFacts } from './analyse.js'
import { suspendChain, type SuspendReason } from './call-graph.js'
import { ScanError, scanModule } from './scan.js'
import { digitGroups } from './digit-groups.js'

export interface InstrumentedFunction {
  /** The function's name (name section, else Binaryen's index name). */
  name: string
  /**
   * How it reaches an async import: itself, the functions it calls down to
   * it, then the import (`["f", "g", "env.sleep"]`), with a step like
   * `call_indirect (i32 i32 -> i32)` where an indirect call of that signature
   * is the way. Just the function when Asyncify decided by rules of its own
   * (a module that drives the `asyncify.*` API itself).
   */
  chain: string[]
  /** Bytes its body grew by; null when the module cannot be read without Binaryen. */
  addedBytes: number | null
}

/**
 * `input` and `output` each come with the names of their defined functions in
 * index order, as the pipeline names them (a stripped module has no name
 * section to read them from). Largest growth first.
 */
export function explainInstrumentation(
  instrumented: Iterable<string>,
  reasons: Map<string, SuspendReason>,
  facts: Pick<ModuleFacts, 'imports'>,
  input: NamedModule,
  output: NamedModule,
): InstrumentedFunction[] {
  const importKeys = new Map(facts.imports.map((entry) => [entry.name, `${entry.module}.${entry.base}`]))
  const before = bodySizes(input)
  const after = bodySizes(output)
  return [...instrumented]
    .map((name) => {
      const was = before?.get(name)
      const is = after?.get(name)
      return {
        name,
        chain: suspendChain(reasons, name, (callee) => importKeys.get(callee)),
        addedBytes: was === undefined || is === undefined ? null : is - was,
      }
    })
    // Ties by code unit, not localeCompare: its first call sets up ICU's collator, about 8 ms of a small module's transform.
    .sort((a, b) => (b.addedBytes ?? -Infinity) - (a.addedBytes ?? -Infinity) || (a.name < b.name ? -1 : a.name > b.name ? 1 : 0))
}

/** One line per function: `+1,234 bytes  f -> g -> env.sleep`. */
export function whyLines(why: InstrumentedFunction[]): string[] {
  return why.map((entry) => {
    const added = entry.addedBytes === null ? '? bytes' : `+${digitGroups(entry.addedBytes)} bytes`
    return `${added.padStart(14)}  ${entry.chain.join(' -> ')}`
  })
}

/** A module's bytes and the names of its defined functions, in index order (holes for functions that count for none). */
interface NamedModule {
  bytes: Uint8Array
  names: string[]
}

/** Body sizes by function name. */
function bodySizes({ bytes, names }: NamedModule): Map<string, number> | null {
  try {
    const sizes = new Map<string, number>()
    scanModule(bytes, { code: false }).bodies.forEach((body, i) => {
      const name = names[i]
      // A rewind copy (optimize 3) has its function's name: both bodies are what instrumenting it cost.
      if (name !== undefined) sizes.set(name, (sizes.get(name) ?? 0) + body.size)
    })
    return sizes
  } catch (error) {
    if (error instanceof ScanError) return null
    throw error
  }
}
