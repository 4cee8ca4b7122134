/*
 * Which locals a rewind must restore: those some path from the start of the
 * instrumented body may read before writing. The paths include the rewind's
 * (a guard's skipped branch is a path like any other), so a local set in a
 * segment a rewind skips and read after the site is live; one that every path
 * writes first is not, and neither an unwind nor a rewind touches it.
 * Branches to the unwind block count as leaving the function: what the unwind
 * saves is exactly this set.
 *
 * Sets are bit vectors, changed in place along a sequence and copied only
 * where control flow joins (labels, if arms, loop headers): a set per
 * instruction made this most of the instrumenter's time and garbage.
 */
import type { Node } from './body.js'
import { localIndex } from './decode.js'

const LOCAL_GET = 0x20
const LOCAL_SET = 0x21
const LOCAL_TEE = 0x22

/**
 * Locals live at the start of `body`, whose enclosing labels (outermost
 * first) lead out of the function. `localCount` bounds the indices (all
 * locals, parameters included); without it the body is walked for the largest.
 */
export function liveAtStart(body: Node[], enclosingLabels: number, localCount = largestLocal(body) + 1): Set<number> {
  const words = Math.max(1, Math.ceil(localCount / 32))
  const analysis = new Analysis(words)
  const labels = Array.from({ length: enclosingLabels }, () => new Uint32Array(words))
  for (;;) {
    analysis.changed = false
    const live = analysis.sequence(body, new Uint32Array(words), labels)
    if (!analysis.changed) return members(live)
  }
}

class Analysis {
  changed = false
  /** The set at each loop's header, from the last round. */
  private readonly loops = new Map<Node, Uint32Array>()

  constructor(private readonly words: number) {}

  /** What is live before `nodes`, given `live` after them; `live` may be reused for the result. */
  sequence(nodes: Node[], live: Uint32Array, labels: Uint32Array[]): Uint32Array {
    for (let i = nodes.length - 1; i >= 0; i--) live = this.step(nodes[i]!, live, labels)
    return live
  }

  private step(node: Node, live: Uint32Array, labels: Uint32Array[]): Uint32Array {
    const target = (depth: number) => labels[labels.length - 1 - depth]!
    switch (node.kind) {
      case 'op': {
        const code = node.bytes[0]
        if (code !== LOCAL_GET && code !== LOCAL_SET && code !== LOCAL_TEE) return live
        const local = localIndex(node.bytes)
        const bit = 1 << (local & 31)
        if (code === LOCAL_GET) live[local >>> 5]! |= bit
        else live[local >>> 5]! &= ~bit
        return live
      }
      case 'br':
        live.set(target(node.depth))
        return live
      case 'br_if':
        or(live, target(node.depth))
        return live
      case 'br_table':
        live.fill(0)
        for (const depth of node.depths) or(live, target(depth))
        or(live, target(node.fallback))
        return live
      case 'return':
      case 'unreachable':
        live.fill(0)
        return live
      case 'block':
        return this.within(labels, live.slice(), () => this.sequence(node.body, live, labels))
      case 'loop': {
        const header = this.loops.get(node) ?? new Uint32Array(this.words)
        const start = this.within(labels, header, () => this.sequence(node.body, live, labels))
        if (!equal(start, header)) {
          this.loops.set(node, start.slice())
          this.changed = true
        }
        return start
      }
      case 'if': {
        const label = live.slice()
        const otherwise = live.slice()
        const then = this.within(labels, label, () => this.sequence(node.then, live, labels))
        if (node.else !== null) this.within(labels, label, () => this.sequence(node.else!, otherwise, labels))
        or(then, otherwise)
        return then
      }
      default:
        return live
    }
  }

  private within(labels: Uint32Array[], label: Uint32Array, walk: () => Uint32Array): Uint32Array {
    labels.push(label)
    try {
      return walk()
    } finally {
      labels.pop()
    }
  }
}

function or(into: Uint32Array, from: Uint32Array): void {
  for (let k = 0; k < into.length; k++) into[k]! |= from[k]!
}

function equal(a: Uint32Array, b: Uint32Array): boolean {
  for (let k = 0; k < a.length; k++) if (a[k] !== b[k]) return false
  return true
}

function members(bits: Uint32Array): Set<number> {
  const set = new Set<number>()
  bits.forEach((word, k) => {
    for (let b = 0; word !== 0; b++, word >>>= 1) if (word & 1) set.add(k * 32 + b)
  })
  return set
}

function largestLocal(nodes: Node[]): number {
  let largest = -1
  for (const node of nodes) {
    if (node.kind === 'op' && (node.bytes[0] === LOCAL_GET || node.bytes[0] === LOCAL_SET || node.bytes[0] === LOCAL_TEE)) {
      largest = Math.max(largest, localIndex(node.bytes))
    } else if (node.kind === 'block' || node.kind === 'loop') largest = Math.max(largest, largestLocal(node.body))
    else if (node.kind === 'if') largest = Math.max(largest, largestLocal(node.then), node.else === null ? -1 : largestLocal(node.else))
  }
  return largest
}

