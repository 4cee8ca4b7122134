/*
 * Which locals a rewind must restore: those some path a rewind takes from the
 * start of the instrumented body may read before writing. A rewind runs with
 * the state rewinding until it re-enters the call it left, and normally from
 * there on; the instrumenter marks what the state decides (`RewindMarks`), so
 * the paths are the ones the state allows: going forward, no dispatcher
 * branches; rewinding, each frame's dispatcher does, to any of its items, so
 * the code before them is skipped, and a site's call leads on to whatever is
 * live after it going forward. The call a rewind re-enters
 * ignores its arguments (the callee restores what it reads; an async import's
 * wrapper returns the settled value; a callee that takes its arguments again
 * does so only from calls whose reads are live anyway), so what only computes them reads
 * nothing a rewind needs (`ignored`). So a local set in a segment a
 * rewind skips and read after the site is live; what only a skipped segment
 * reads is not. A rewind also never takes a path that leaves the function
 * before re-entering a call (that would be a rewind that missed its import,
 * which the runtime reports): what only such paths read is not live either,
 * so a function's early exits and the arms that reach no site cost nothing.
 * Without marks every dispatcher is an ordinary `if` or `br_if`, taken or
 * not, and every path counts. Branches to the unwind block count as leaving
 * the function: what the unwind saves is exactly this set, and whatever else
 * it holds there is never read.
 *
 * An exception thrown in a `try` body (by a call, a `throw` or a `rethrow`)
 * goes to its handlers, or past them to those around it (a catch of another
 * tag, a `delegate`): what every enclosing handler reads counts as live at
 * each of those instructions, a call a rewind re-enters included, since it
 * may throw once it has resumed.
 *
 * Sets are bit vectors, changed in place along a sequence and copied only
 * where control flow joins (labels, if arms, loop headers): a set per
 * instruction made this most of the instrumenter's time and garbage.
 */
import type { Node } from './body.js'
import { indexImmediate } from './decode.js'

const LOCAL_GET = 0x20
const LOCAL_SET = 0x21
const LOCAL_TEE = 0x22

/** The nodes the instrumenter added whose path depends on the state. */
export interface RewindMarks {
  /** `if`s entered and `br_if`s taken only rewinding, always then: a frame's dispatcher. */
  rewinding: Set<Node>
  /** The calls a rewind re-enters. */
  calls: Set<Node>
  /**
   * `local.get`s whose values only become arguments of the call right after,
   * which a rewind re-enters and which ignores them then: rewinding, they read
   * nothing that matters.
   */
  ignored: Set<Node>
  /**
   * A frame's entry test, run before its state check and fused with it (its
   * branch taken only when the state is normal): rewinding, the branch is
   * never taken, and its reads and writes count for nothing. The instrumenter
   * checks that what it writes is dead there and what it addresses restored.
   */
  entryTests: Set<Node>
}

const UNMARKED: RewindMarks = { rewinding: new Set(), calls: new Set(), ignored: new Set(), entryTests: new Set() }

type Mode = 'forward' | 'rewinding'

/**
 * Locals live at the start of `body` on the paths a rewind takes, whose
 * enclosing labels (outermost first) lead out of the function. `localCount`
 * bounds the indices (all locals, parameters included); without it the body
 * is walked for the largest.
 */
export function liveAtStart(
  body: Node[],
  enclosingLabels: number,
  localCount = largestLocal(body) + 1,
  marks: RewindMarks = UNMARKED,
): Set<number> {
  // One bit past the locals: rewinding, whether some path from here re-enters a call (`reach`).
  const words = Math.ceil((localCount + 1) / 32)
  // A rewind goes on forward after its call: what each call needs then comes first.
  const afterCalls = new Map<Node, Uint32Array>()
  const reach = marks.calls.size > 0 ? localCount : null
  if (reach !== null) solve(new Analysis(words, marks, 'forward', afterCalls, null), body, enclosingLabels)
  const live = members(solve(new Analysis(words, marks, 'rewinding', afterCalls, reach), body, enclosingLabels))
  live.delete(localCount)
  return live
}

function solve(analysis: Analysis, body: Node[], enclosingLabels: number): Uint32Array {
  const labels = Array.from({ length: enclosingLabels }, () => new Uint32Array(analysis.words))
  for (;;) {
    analysis.changed = false
    const live = analysis.sequence(body, new Uint32Array(analysis.words), labels)
    if (!analysis.changed) return live
  }
}

class Analysis {
  changed = false
  /** The set at each loop's header, from the last round. */
  private readonly loops = new Map<Node, Uint32Array>()
  /** What the handlers of the open try bodies read, each with those outside it: an exception may reach any of them. */
  private readonly handlers: Uint32Array[] = []

  constructor(
    readonly words: number,
    private readonly marks: RewindMarks,
    private readonly mode: Mode,
    /** Going forward: filled with what is live after each marked call. Rewinding: read. */
    private readonly afterCalls: Map<Node, Uint32Array>,
    /**
     * Rewinding with calls marked: the bit set where some path on re-enters a
     * marked call. Exits leave it clear, so a read where it is clear is on a
     * path no rewind takes, and counts for nothing.
     */
    private readonly reach: number | null,
  ) {}

  /** What is live before `nodes`, given `live` after them; `live` may be reused for the result. */
  sequence(nodes: Node[], live: Uint32Array, labels: Uint32Array[]): Uint32Array {
    for (let i = nodes.length - 1; i >= 0; i--) live = this.step(nodes[i]!, live, labels)
    return live
  }

  private step(node: Node, live: Uint32Array, labels: Uint32Array[]): Uint32Array {
    switch (node.kind) {
      case 'op': {
        const code = node.bytes[0]
        if (code !== LOCAL_GET && code !== LOCAL_SET && code !== LOCAL_TEE) return live
        if (this.mode === 'rewinding' && this.marks.entryTests.has(node)) return live
        const local = indexImmediate(node.bytes)
        const bit = 1 << (local & 31)
        if (code === LOCAL_GET) {
          if (this.mode === 'forward' || (!this.marks.ignored.has(node) && this.reaches(live))) live[local >>> 5]! |= bit
        }
        else live[local >>> 5]! &= ~bit
        return live
      }
      case 'br':
        live.set(target(labels, node.depth))
        return live
      case 'br_if':
        if (this.marks.entryTests.has(node)) {
          if (this.mode === 'forward') or(live, target(labels, node.depth))
        } else if (!this.marks.rewinding.has(node)) or(live, target(labels, node.depth))
        else if (this.mode === 'rewinding') live.set(target(labels, node.depth))
        return live
      case 'br_table':
        live.fill(0)
        for (const depth of node.depths) or(live, target(labels, depth))
        or(live, target(labels, node.fallback))
        return live
      case 'return':
      case 'unreachable':
        live.fill(0)
        return live
      case 'throw':
      case 'rethrow':
        live.fill(0)
        this.mayThrow(live)
        return live
      case 'try': {
        const label = live.slice()
        const outside = this.handlers[this.handlers.length - 1]
        const caught = outside?.slice() ?? new Uint32Array(this.words)
        for (const handler of node.catches) or(caught, this.within(labels, label, handler.body, label.slice()))
        this.handlers.push(caught)
        try {
          return this.within(labels, label, node.body, live)
        } finally {
          this.handlers.pop()
        }
      }
      case 'block':
        return this.within(labels, live.slice(), node.body, live)
      case 'loop': {
        const header = this.loops.get(node) ?? new Uint32Array(this.words)
        const start = this.within(labels, header, node.body, live)
        if (!equal(start, header)) {
          this.loops.set(node, start.slice())
          this.changed = true
        }
        return start
      }
      case 'call':
      case 'call_indirect':
        this.mayThrow(live)
        if (!this.marks.calls.has(node)) return live
        if (this.mode === 'forward') {
          this.afterCalls.set(node, live.slice())
          return live
        }
        live.set(this.afterCalls.get(node)!)
        live[this.reach! >>> 5]! |= 1 << (this.reach! & 31)
        return live
      case 'if': {
        if (this.marks.rewinding.has(node)) {
          if (this.mode === 'forward') return live
          return this.within(labels, live.slice(), node.then, live)
        }
        const label = live.slice()
        const otherwise = live.slice()
        const then = this.within(labels, label, node.then, live)
        if (node.else !== null) this.within(labels, label, node.else, otherwise)
        or(then, otherwise)
        return then
      }
      default:
        return live
    }
  }

  /** At an instruction that may throw: what the handlers it may reach read is live too. */
  private mayThrow(live: Uint32Array): void {
    const handlers = this.handlers[this.handlers.length - 1]
    if (handlers !== undefined) or(live, handlers)
  }

  private reaches(live: Uint32Array): boolean {
    return this.reach === null || (live[this.reach >>> 5]! & (1 << (this.reach & 31))) !== 0
  }

  /** `sequence` inside a block, loop or if whose label holds `label`; no closure per construct, as the analysis runs often. */
  private within(labels: Uint32Array[], label: Uint32Array, nodes: Node[], live: Uint32Array): Uint32Array {
    labels.push(label)
    try {
      return this.sequence(nodes, live, labels)
    } finally {
      labels.pop()
    }
  }
}

/** What is live at the label `depth` levels out: a function, not a closure made at every step (it was most of a transform's garbage). */
function target(labels: Uint32Array[], depth: number): Uint32Array {
  return labels[labels.length - 1 - depth]!
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
      largest = Math.max(largest, indexImmediate(node.bytes))
    } else if (node.kind === 'block' || node.kind === 'loop') largest = Math.max(largest, largestLocal(node.body))
    else if (node.kind === 'try') largest = Math.max(largest, largestLocal(node.body), ...node.catches.map((handler) => largestLocal(handler.body)))
    else if (node.kind === 'if') largest = Math.max(largest, largestLocal(node.then), node.else === null ? -1 : largestLocal(node.else))
  }
  return largest
}

