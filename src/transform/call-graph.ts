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

/** Why a function can be on the stack during a suspension: the first thing found that it reaches. */
export type SuspendReason =
  /** It calls `callee`, an async import or a function that can suspend. */
  | { via: 'call'; callee: string }
  /** An indirect call of `signature` (or a `call_ref`, signature null) can reach `target`. */
  | { via: 'indirect'; signature: string | null; target: string }
  /** It makes an indirect call, and the module cannot tell what those reach. */
  | { via: 'unknown indirect' }

export function suspendingByCallGraph(facts: ModuleFacts, asyncImports: string[], runtime: Set<string>): Set<string> {
  return new Set(suspendReasons(facts, asyncImports, runtime).keys())
}

/** The functions that can suspend, each with the reason it was found by (see the top of this file). */
export function suspendReasons(facts: ModuleFacts, asyncImports: string[], runtime: Set<string>): Map<string, SuspendReason> {
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

  const suspending = new Map<string, SuspendReason>()
  const reachedSignatures = new Set<string>()
  let anyReached = false
  const queue: string[] = []
  const mark = (name: string, reason: SuspendReason) => {
    if (suspending.has(name) || runtime.has(name)) return
    suspending.set(name, reason)
    queue.push(name)
  }
  // `name` (a suspending function or an async import) may be what an indirect call reaches.
  const reach = (name: string) => {
    for (const caller of callers.get(name) ?? []) mark(caller, { via: 'call', callee: name })
    const key = signatureOf.get(name)
    if (key === undefined) return
    if (!reachedSignatures.has(key)) {
      reachedSignatures.add(key)
      for (const caller of indirectCallers.get(key) ?? []) mark(caller, { via: 'indirect', signature: key, target: name })
    }
    if (!anyReached) {
      anyReached = true
      for (const caller of anyCallers) mark(caller, { via: 'indirect', signature: null, target: name })
    }
  }
  if (targets === null) for (const caller of byCaller.keys()) mark(caller, { via: 'unknown indirect' })
  // Breadth first, so each reason is a shortest way to an async import.
  for (const name of asyncImports) reach(name)
  for (let i = 0; i < queue.length; i++) reach(queue[i]!)
  return suspending
}

/**
 * The chain that makes `name` suspend, down to an async import:
 * `["f", "g", "env.sleep"]`, with a step `call_indirect (i32) -> i32` where an
 * indirect call of that signature is the way. `importKey` names an import.
 */
export function suspendChain(reasons: Map<string, SuspendReason>, name: string, importKey: (name: string) => string | undefined): string[] {
  const chain = [name]
  for (let reason = reasons.get(name); reason !== undefined; ) {
    if (reason.via === 'unknown indirect') {
      chain.push('call_indirect (to any function: the module cannot tell which)')
      break
    }
    const next = reason.via === 'call' ? reason.callee : reason.target
    if (reason.via === 'indirect') chain.push(reason.signature === null ? 'call_ref' : `call_indirect (${reason.signature})`)
    chain.push(importKey(next) ?? next)
    reason = reasons.get(next)
  }
  return chain
}
