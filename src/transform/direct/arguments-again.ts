/*
 * Functions that take their arguments again on a rewind: which may
 * (`calledOnlyDirectly`, from the module's calls) and which do
 * (`ArgumentsAgain`, as the bodies are instrumented). A rewind re-enters a
 * call with arguments its callee normally ignores, restoring its parameters
 * from its record; for these callees the callers' arguments are the ones of
 * the first run, so the parameters that hold them up to every site
 * (instrument.ts) need no saving.
 */
import type { ScannedModule } from '../scan.js'
import type { BodyInstrumenter } from './instrument.js'

/**
 * The instrumented functions that only instrumented functions call, and only
 * directly, with the functions that call them: no table can hold them (no
 * export, no element segment, no `ref.func`), and no code the engine leaves
 * as it was (a runtime function that starts a rewind itself, say) calls
 * them. On a rewind each call to them is then a site of an instrumented
 * caller, which can pass the arguments of the first run again
 * (`DirectPlan.argumentsAgain`).
 */
export function calledOnlyDirectly(scanned: Pick<ScannedModule, 'functions' | 'bodies' | 'exports' | 'referenced'>, instrument: Set<number>): Map<number, Set<number>> {
  const only = new Map([...instrument].filter((index) => !scanned.referenced.has(index)).map((index) => [index, new Set<number>()]))
  for (const entry of scanned.exports) if (entry.kind === 'function') only.delete(entry.index)
  const imported = scanned.functions.length - scanned.bodies.length
  scanned.bodies.forEach((body, i) => {
    for (const callee of body.calls) {
      if (instrument.has(imported + i)) only.get(callee)?.add(imported + i)
      else only.delete(callee)
    }
  })
  return only
}

/**
 * Decides which candidates take their arguments again (`DirectPlan.argumentsAgain`),
 * from every instrumented body: those whose record holds parameters that
 * keep their arguments (`BodyInstrumenter.savesArguments`), when no caller
 * must save more to pass them (`callsSavingMore`), so that callers' code
 * stays as it is and only theirs gets smaller. Every candidate taking them,
 * callers saving what they must, cost QuickJS 4.5% more bytes.
 */
export class ArgumentsAgain {
  /**
   * The instrumented functions, each candidate after the functions that call
   * it where the calls allow; in a cycle of calls (not counting a function's
   * calls to itself), a candidate comes before some caller, and keeps its
   * arguments in its record.
   */
  readonly order: number[] = []
  /** The candidates decided for, as `takes` saw them. */
  readonly taken = new Set<number>()
  private readonly savingMore = new Set<number>()
  private readonly unordered = new Set<number>()

  constructor(
    private readonly candidates: Map<number, Set<number>>,
    instrument: Set<number>,
  ) {
    const waiting = new Map<number, number>()
    const calls = new Map<number, number[]>()
    for (const [callee, callers] of candidates) {
      for (const caller of callers) {
        if (caller === callee) continue
        waiting.set(callee, (waiting.get(callee) ?? 0) + 1)
        calls.set(caller, [...(calls.get(caller) ?? []), callee])
      }
    }
    // Ascending where nothing else decides, so that the order is the input's when no candidate waits.
    const ready = [...instrument].filter((index) => !waiting.has(index)).sort((a, b) => b - a)
    for (let index = ready.pop(); index !== undefined; index = ready.pop()) {
      this.order.push(index)
      for (const callee of calls.get(index) ?? []) {
        const left = waiting.get(callee)! - 1
        if (left > 0) waiting.set(callee, left)
        else {
          waiting.delete(callee)
          ready.push(callee)
        }
      }
    }
    for (const index of [...waiting.keys()].sort((a, b) => a - b)) {
      this.order.push(index)
      this.unordered.add(index)
    }
  }

  /**
   * Learns from the body of function `index`, instrumented, which comes in
   * `order`; whether it takes its arguments again.
   */
  takes(index: number, instrumented: BodyInstrumenter): boolean {
    for (const callee of instrumented.callsSavingMore()) this.savingMore.add(callee)
    if (!this.candidates.has(index) || this.unordered.has(index) || this.savingMore.has(index) || !instrumented.savesArguments()) return false
    this.taken.add(index)
    return true
  }
}
