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
 * (`DirectPlan.argumentsAgain`). Exports stay out: a runtime written to
 * Binaryen's Asyncify API may call an export again without its arguments
 * (asyncify-wasm and Emscripten do), as the export's record restores them.
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
   * it, except within a cycle of calls (not counting a function's calls to
   * itself), whose candidates keep their arguments in their records.
   */
  readonly order: number[] = []
  /** The candidates decided for, as `takes` saw them. */
  readonly taken = new Set<number>()
  private readonly savingMore = new Set<number>()
  private readonly inCycles = new Set<number>()

  constructor(
    private readonly candidates: Map<number, Set<number>>,
    instrument: Set<number>,
  ) {
    const calls = new Map<number, number[]>()
    for (const [callee, callers] of candidates) {
      for (const caller of callers) {
        if (caller === callee) continue
        let list = calls.get(caller)
        if (!list) calls.set(caller, (list = []))
        list.push(callee)
      }
    }
    // Each cycle comes out after every function it calls: reversed, callers come first.
    const components = stronglyConnected([...instrument].sort((a, b) => a - b), (index) => calls.get(index) ?? [])
    for (const component of components.reverse()) {
      this.order.push(...component)
      if (component.length > 1) for (const index of component) this.inCycles.add(index)
    }
  }

  /**
   * Learns from the body of function `index`, instrumented, which comes in
   * `order`; whether it takes its arguments again.
   */
  takes(index: number, instrumented: BodyInstrumenter): boolean {
    // Its callers, itself aside, pass the arguments of the first run again, so its parameters hold them (where it keeps
    // them) for the calls it makes; when one of its calls to itself could not, its inner frames' do not.
    let exact = this.candidates.has(index) && !this.inCycles.has(index) && !this.savingMore.has(index)
    let savingMore = instrumented.callsSavingMore(exact)
    if (exact && savingMore.has(index)) {
      exact = false
      savingMore = instrumented.callsSavingMore(false)
    }
    for (const callee of savingMore) this.savingMore.add(callee)
    if (!exact || !instrumented.savesArguments()) return false
    this.taken.add(index)
    return true
  }
}

/**
 * The strongly connected components of the graph from `nodes` along `next`
 * (Tarjan's, with an explicit stack: call chains run thousands deep), each
 * after every component it reaches.
 */
function stronglyConnected(nodes: number[], next: (node: number) => number[]): number[][] {
  const index = new Map<number, number>()
  const low = new Map<number, number>()
  const stack: number[] = []
  const onStack = new Set<number>()
  const components: number[][] = []
  const visit = (node: number) => {
    index.set(node, index.size)
    low.set(node, index.get(node)!)
    stack.push(node)
    onStack.add(node)
  }
  for (const root of nodes) {
    if (index.has(root)) continue
    visit(root)
    // Each entry: a node, and how many of its edges are followed.
    const work: [number, number][] = [[root, 0]]
    while (work.length > 0) {
      const top = work[work.length - 1]!
      const [node, followed] = top
      const edges = next(node)
      if (followed < edges.length) {
        top[1]++
        const to = edges[followed]!
        if (!index.has(to)) {
          visit(to)
          work.push([to, 0])
        } else if (onStack.has(to)) low.set(node, Math.min(low.get(node)!, index.get(to)!))
        continue
      }
      work.pop()
      const parent = work[work.length - 1]
      if (parent !== undefined) low.set(parent[0], Math.min(low.get(parent[0])!, low.get(node)!))
      if (low.get(node) !== index.get(node)) continue
      const component: number[] = []
      for (let member = stack.pop()!; ; member = stack.pop()!) {
        onStack.delete(member)
        component.push(member)
        if (member === node) break
      }
      components.push(component)
    }
  }
  return components
}
