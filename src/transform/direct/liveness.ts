/*
 * Which locals a rewind must restore (spike): those some path from the start
 * of the instrumented body may read before writing. The paths include the
 * rewind's (a guard's skipped branch is a path like any other), so a local set
 * in a segment a rewind skips and read after the site is live; one that every
 * path writes first is not, and neither an unwind nor a rewind touches it.
 * Branches to the unwind block count as leaving the function: what the
 * unwind saves is exactly this set.
 */
import { WasmReader } from '../wasm-reader.js'
import type { Node } from './body.js'

const LOCAL_GET = 0x20
const LOCAL_SET = 0x21
const LOCAL_TEE = 0x22

/** Locals live at the start of `body`, whose enclosing labels (outermost first) lead out of the function. */
export function liveAtStart(body: Node[], enclosingLabels: number): Set<number> {
  const loops = new Map<Node, Set<number>>()
  const exits = Array.from({ length: enclosingLabels }, () => new Set<number>())
  for (;;) {
    const changed = { value: false }
    const live = sequence(body, new Set(), exits, loops, changed)
    if (!changed.value) return live
  }
}

function sequence(nodes: Node[], after: Set<number>, labels: Set<number>[], loops: Map<Node, Set<number>>, changed: { value: boolean }): Set<number> {
  let live = after
  for (let i = nodes.length - 1; i >= 0; i--) live = step(nodes[i]!, live, labels, loops, changed)
  return live
}

function step(node: Node, after: Set<number>, labels: Set<number>[], loops: Map<Node, Set<number>>, changed: { value: boolean }): Set<number> {
  const target = (depth: number) => labels[labels.length - 1 - depth]!
  switch (node.kind) {
    case 'op': {
      const code = node.bytes[0]
      if (code !== LOCAL_GET && code !== LOCAL_SET && code !== LOCAL_TEE) return after
      const local = new WasmReader(node.bytes, 1).u32()
      const live = new Set(after)
      if (code === LOCAL_GET) live.add(local)
      else live.delete(local)
      return live
    }
    case 'br':
      return target(node.depth)
    case 'br_if':
      return union(after, target(node.depth))
    case 'br_table':
      return [...node.depths, node.fallback].reduce((live, depth) => union(live, target(depth)), new Set<number>())
    case 'return':
    case 'unreachable':
      return new Set()
    case 'block':
      return sequence(node.body, after, [...labels, after], loops, changed)
    case 'loop': {
      const header = loops.get(node) ?? new Set<number>()
      const live = sequence(node.body, after, [...labels, header], loops, changed)
      if (!same(live, header)) {
        loops.set(node, live)
        changed.value = true
      }
      return live
    }
    case 'if': {
      const then = sequence(node.then, after, [...labels, after], loops, changed)
      const otherwise = node.else === null ? after : sequence(node.else, after, [...labels, after], loops, changed)
      return union(then, otherwise)
    }
    default:
      return after
  }
}

function union(a: Set<number>, b: Set<number>): Set<number> {
  if (b.size === 0) return a
  if (a.size === 0) return b
  const both = new Set(a)
  for (const x of b) both.add(x)
  return both
}

function same(a: Set<number>, b: Set<number>): boolean {
  if (a.size !== b.size) return false
  for (const x of a) if (!b.has(x)) return false
  return true
}
