import type { Node } from './body.js'
import { indexImmediate } from './decode.js'

const LOCAL_SET = 0x21
const LOCAL_TEE = 0x22

/** Calls `visit` with the local of each `local.set` and `local.tee` of `lists`, nested blocks included, until it returns true. */
function someWrite(lists: Node[][], visit: (local: number) => boolean): boolean {
  const pending = [...lists]
  for (let nodes = pending.pop(); nodes !== undefined; nodes = pending.pop()) {
    for (const node of nodes) {
      if (node.kind === 'op' && (node.bytes[0] === LOCAL_SET || node.bytes[0] === LOCAL_TEE)) {
        if (visit(indexImmediate(node.bytes))) return true
      } else if (node.kind === 'block' || node.kind === 'loop') pending.push(node.body)
      else if (node.kind === 'if') pending.push(node.then, node.else ?? [])
      else if (node.kind === 'try') pending.push(node.body, ...node.catches.map((handler) => handler.body))
    }
  }
  return false
}

/** Whether any of `lists`, nested blocks included, sets or tees one of `locals`. */
export function writesAny(lists: Node[][], locals: Set<number>): boolean {
  return locals.size > 0 && someWrite(lists, (local) => locals.has(local))
}

/** Every local that `lists`, nested blocks included, sets or tees. */
export function localsWritten(lists: Node[][]): Set<number> {
  const written = new Set<number>()
  someWrite(lists, (local) => {
    written.add(local)
    return false
  })
  return written
}
