/*
 * Which functions can be on the stack during a suspension: a function that
 * calls an async import or such a function, directly or through an indirect
 * call that can reach one. Both paths decide by this one rule (Asyncify is
 * given the result as its only-list), so exports return Promises alike.
 *
 * An indirect call reaches the functions of its signature that the module
 * takes a reference to or exports (scan-facts.ts). Asyncify on its own assumes
 * every indirect call can reach everything, which on SQLite with only its
 * file reads and writes async instruments (and doubles) the whole module.
 * When the module cannot tell what an indirect call reaches, that is assumed.
 */
import type { ModuleFacts } from './analyse.js'

export function suspendingByCallGraph(facts: ModuleFacts, asyncImports: string[], runtime: Set<string>): Set<string> {
  const callers = new Map<string, string[]>()
  const add = (map: Map<string, string[]>, key: string, value: string) => {
    const list = map.get(key)
    if (list) list.push(value)
    else map.set(key, [value])
  }
  for (const [caller, callees] of facts.calls) for (const callee of callees) add(callers, callee, caller)

  const { byCaller, targets } = facts.indirect
  // Callers by the signature they call indirectly; a `call_ref` may call any.
  const indirectCallers = new Map<string, string[]>()
  const anyCallers: string[] = []
  for (const [caller, signatures] of byCaller) {
    if (signatures === 'any') anyCallers.push(caller)
    else for (const key of signatures) add(indirectCallers, key, caller)
  }
  const signatureOf = new Map<string, string>()
  for (const [key, names] of targets ?? []) for (const name of names) signatureOf.set(name, key)

  const suspending = new Set<string>()
  const reachedSignatures = new Set<string>()
  let anyReached = false
  const queue: string[] = []
  const mark = (name: string) => {
    if (suspending.has(name) || runtime.has(name)) return
    suspending.add(name)
    queue.push(name)
  }
  // `name` (a suspending function or an async import) may be what an indirect call reaches.
  const reach = (name: string) => {
    for (const caller of callers.get(name) ?? []) mark(caller)
    const key = signatureOf.get(name)
    if (key === undefined) return
    if (!reachedSignatures.has(key)) {
      reachedSignatures.add(key)
      for (const caller of indirectCallers.get(key) ?? []) mark(caller)
    }
    if (!anyReached) {
      anyReached = true
      for (const caller of anyCallers) mark(caller)
    }
  }
  if (targets === null) for (const caller of byCaller.keys()) mark(caller)
  for (const name of asyncImports) reach(name)
  for (let name = queue.pop(); name !== undefined; name = queue.pop()) reach(name)
  return suspending
}
