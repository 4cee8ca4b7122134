/*
 * Which functions can be on the stack during a suspension, decided from the
 * direct call graph the way Asyncify decides it: a function that calls an
 * async import, or has an indirect call (any table entry might suspend), or
 * calls such a function. Used when no Asyncify pass runs to decide it (mode
 * 'jspi', or 'auto' on a module Asyncify cannot transform), so exports return
 * Promises by the same rule on both paths.
 */
import type { ModuleFacts } from './analyse.js'

const INDIRECT = ['CallIndirect', 'CallRef']

export function suspendingByCallGraph(facts: ModuleFacts, asyncImports: string[], runtime: Set<string>): Set<string> {
  const callers = new Map<string, string[]>()
  for (const [caller, callees] of facts.calls) {
    for (const callee of callees) {
      let list = callers.get(callee)
      if (!list) callers.set(callee, (list = []))
      list.push(caller)
    }
  }
  const suspending = new Set<string>()
  const queue: string[] = []
  const mark = (name: string) => {
    if (suspending.has(name) || runtime.has(name)) return
    suspending.add(name)
    queue.push(name)
  }
  for (const [fn, kinds] of facts.expressionKinds) {
    if (INDIRECT.some((kind) => kinds.has(kind))) mark(fn)
  }
  for (const name of asyncImports) for (const caller of callers.get(name) ?? []) mark(caller)
  for (let name = queue.pop(); name !== undefined; name = queue.pop()) {
    for (const caller of callers.get(name) ?? []) mark(caller)
  }
  return suspending
}
