/*
 * The call-graph facts, read from a scan of the bytes: one linear pass, where
 * printing Binaryen's analyses and parsing them back took minutes on large
 * modules (over 12 on sqlite3.wasm).
 */
import type { Signature } from '../runtime-shim/metadata.js'
import type { IndirectCalls, ModuleFacts } from './analyse.js'
import type { ScannedModule } from './scan.js'

export type CallFacts = Pick<ModuleFacts, 'calls' | 'expressionKinds' | 'indirect'>

/**
 * `nameOf` names a function by its index in the module's function index space
 * (imports first). Expression kinds use Binaryen's names (`CallIndirect`,
 * `CallRef`, `Try`, `TryTable`), and only those the later steps read.
 */
export function callFactsFromScan(scanned: ScannedModule, nameOf: (index: number) => string): CallFacts {
  const calls = new Map<string, Set<string>>()
  const expressionKinds = new Map<string, Set<string>>()
  const byCaller: IndirectCalls['byCaller'] = new Map()
  const imported = scanned.functions.length - scanned.bodies.length
  scanned.bodies.forEach((body, i) => {
    const name = nameOf(imported + i)
    calls.set(name, new Set([...body.calls].map(nameOf)))
    const kinds = new Set<string>()
    if (body.indirectTypes.size > 0) kinds.add('CallIndirect')
    if (body.callRef) kinds.add('CallRef')
    if (body.legacyTry) kinds.add('Try')
    if (body.tryTable) kinds.add('TryTable')
    expressionKinds.set(name, kinds)
    if (body.indirect) {
      const types = [...body.indirectTypes].map((type) => scanned.types[type])
      byCaller.set(name, body.callRef || types.some((type) => !type) ? 'any' : new Set(types.map((type) => signatureKey(type!))))
    }
  })
  return { calls, expressionKinds, indirect: { byCaller, targets: indirectTargets(scanned, nameOf) } }
}

/**
 * What an indirect call can reach: a function whose reference the module
 * takes (element segments, `ref.func`) or hands out (exports, which JavaScript
 * can put into a table), of the signature the call names. Unknown under
 * subtyping, where a call accepts more than one signature.
 */
function indirectTargets(scanned: ScannedModule, nameOf: (index: number) => string): IndirectCalls['targets'] {
  if (scanned.subtyping) return null
  const reachable = new Set(scanned.referenced)
  for (const entry of scanned.exports) if (entry.kind === 'function') reachable.add(entry.index)
  const targets = new Map<string, string[]>()
  for (const index of reachable) {
    const fn = scanned.functions[index]
    if (!fn) continue
    const key = signatureKey(fn.type)
    let list = targets.get(key)
    if (!list) targets.set(key, (list = []))
    list.push(nameOf(index))
  }
  return targets
}

/**
 * Equal for signatures a `call_indirect` cannot tell apart. Reference types
 * read as one kind ('ref'), so two signatures that differ only there share a
 * key: the call graph then assumes more calls, never fewer.
 */
export function signatureKey(signature: Signature): string {
  return `${signature.params.join(' ')} -> ${signature.results.join(' ')}`
}
