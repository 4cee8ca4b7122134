/*
 * Asyncify without flattening: instruments one decoded body so that it
 * can unwind at its call sites that may suspend and rewind back to them, with
 * the state, data layout and API of Binaryen's Asyncify.
 *
 * The body is walked frame by frame. In a frame, each item that holds a site
 * (a call that may unwind, or a block, loop or if with one inside) follows
 * the end of a block opened at the frame's start, and a dispatcher first in
 * the innermost of them branches, when rewinding, by the site index to the
 * end of the block before the item holding that site: the code before it is
 * skipped, with one state check per frame going forward and none per item.
 * Values on the operand stack across a block's end live in temporaries. The
 * locals a rewind's paths read (liveness.ts, told which branches are the
 * dispatchers'; temporaries included) are saved at an unwind and restored at
 * a rewind, so the values a skipped segment computed, an `if`'s condition
 * among them, are what they were. The call a rewind re-enters ignores its
 * arguments, so what only computes them, if it cannot trap, reads nothing
 * that needs saving (`ignoreArgumentReads`); a function with nothing to save
 * writes no record. The code that computes an item's inputs right before it
 * runs again instead, after the block's end, when running it again has no
 * effect but its values (`rerunTail`): pure code gives the same values
 * (nothing runs between it and the item, so the restored locals are the ones
 * it read); loads may give others, which a call's arguments may be (the
 * callee restores what it reads on a rewind). An if's condition or a
 * call_indirect's table index must be as it was: when it may differ, the
 * value of the first run is chosen from a temporary after it is computed
 * again (`chooseFirstRun`). So does a frame's first segment when it only
 * branches and moves locals in a way the item after it cannot disturb
 * (`replayable`): a rewind takes its branches as the first run did, and it
 * needs no block. Code after a frame's last site runs as it was: a rewind
 * entered that frame only for a site in it, and the state is normal once the
 * site's call has rewound.
 *
 * A legacy `try` is a frame like a block's: a rewind enters it and
 * dispatches in its body. Its handlers are never rewound into: the exception
 * being handled cannot be saved (Binaryen's Asyncify traps there too). So a
 * call in a handler that may unwind is followed by a check that traps when
 * it does (the runtime reports ASYNCIFY_UNSUPPORTED_SUSPENSION), and a direct
 * call of a function that can suspend, known at build time, is refused
 * (`SuspensionInHandler`), by name in the transform's error.
 *
 * One kind of callee does read its arguments on a rewind: a function only
 * instrumented code calls, directly, each call computing the arguments of
 * the first run again from restored locals, or from parameters that hold
 * them in turn (`callsSavingMore`, module.ts's `ArgumentsAgain`). The
 * parameters no write changes before a site leave its
 * record; when they were all of it, it writes none, and a loop calling such
 * a small function that may suspend runs one state check per call, not two.
 */
import { leb, sleb } from '../../runtime-shim/wasm-writer.js'
import { TYPE_CODES, defaultable, indexImmediate, shortBytes, typeBytes } from './decode.js'
import { LOAD, STORE, recordLayout, typeOrder, type FrameHelpers, type FrameRecords, type RecordLayout } from './frame-records.js'
import { liveAtStart, type RewindMarks } from './liveness.js'
import { writesAny } from './local-writes.js'
import { DecodeUnsupported, ReferenceSaved, SuspensionInHandler, type DecodedBody, type FuncType, type Node, type ValType } from './body.js'

export interface Sites {
  /** Whether a direct call to `func` may unwind. */
  call(func: number): boolean
  /** Whether a `call_indirect` naming `typeIndex` may unwind. */
  indirect(typeIndex: number): boolean
  /** Whether `func` may take its arguments again on a rewind (`DirectPlan.argumentsAgain`): its calls say what passing them would cost. */
  argumentsAgain(func: number): boolean
}

/**
 * Asyncify's state, and the Asyncify stack's position and end: the API
 * functions copy `{ cur, end }` from memory into the two globals when an
 * unwind or a rewind starts and `cur` back when it stops, so each frame's
 * record costs no memory access but its own.
 */
export interface AsyncifyGlobals {
  state: number
  cur: number
  end: number
}

const OP = {
  localGet: 0x20,
  localSet: 0x21,
  localTee: 0x22,
  globalGet: 0x23,
  globalSet: 0x24,
  drop: 0x1a,
  select: 0x1b,
  i32Const: 0x41,
  i32Eqz: 0x45,
  i32LtU: 0x49,
  i32LeU: 0x4d,
  i32Add: 0x6a,
  i32Sub: 0x6b,
  i32And: 0x71,
  call: 0x10,
} as const

/** A value of each number type, what a function returns while it unwinds (its caller ignores it). */
const CONST: Partial<Record<ValType, number[]>> = {
  i32: [0x41, 0],
  i64: [0x42, 0],
  f32: [0x43, 0, 0, 0, 0],
  f64: [0x44, 0, 0, 0, 0, 0, 0, 0, 0],
  v128: [0xfd, 0x0c, ...new Array<number>(16).fill(0)],
}

/**
 * What a function returns of `type` while it unwinds: a number type's zero,
 * a nullable reference's null. A reference that cannot be null has no value
 * to make here: ReferenceSaved.
 */
function placeholder(type: ValType): number[] {
  const zero = CONST[type]
  if (zero) return zero
  const bytes = type === 'ref' ? null : typeBytes(type)
  // ref.null takes the heap type of a nullable reference's encoding: its last bytes, or funcref's or externref's one.
  if (bytes?.length === 1) return [0xd0, bytes[0]!]
  if (bytes?.[0] === 0x63) return [0xd0, ...bytes.slice(1)]
  throw new ReferenceSaved(type, null, 'result')
}
const EMPTY: FuncType = { params: [], results: [] }
const EMPTY_TYPE = new Uint8Array([0x40])
/** The unwind block's type when its branches carry the site's index. */
const INDEX: FuncType = { params: [], results: ['i32'] }
const INDEX_TYPE = new Uint8Array([TYPE_CODES.i32])
const NOTHING = new Uint8Array(0)

/** The stack effects of added instructions: left empty, as nothing asks for them, and one list for all (nothing writes to it). */
const NO_TYPES: ValType[] = []

function op(...bytes: number[]): Node {
  const shared = bytes.length === 1 ? shortBytes(bytes[0]!) : bytes.length === 2 ? shortBytes(bytes[0]!, bytes[1]!) : new Uint8Array(bytes)
  return { kind: 'op', bytes: shared, pops: NO_TYPES, pushes: NO_TYPES, before: null }
}

function guard(condition: Node[], body: Node[]): Node[] {
  return [...condition, { kind: 'if', type: EMPTY, typeBytes: EMPTY_TYPE, then: body, else: null, before: null }]
}

/** A frame of the output: original (an input label, by its position among input labels) or added. */
interface Frame {
  original: boolean
}

export class BodyInstrumenter {
  private readonly locals: ValType[]
  private readonly idx: number
  private readonly ptr: number
  private readonly frames: Frame[] = []
  /** For each input label open now (outermost first): its index in `frames`. */
  private readonly labels: number[] = []
  /** For each input label open now: whether a branch to it leaves the function quietly (`leavesQuietly`). */
  private readonly exits: boolean[] = []
  private nextSite = 0
  /** The locals an unwind saves and a rewind restores (liveness.ts), in record order, and their types. */
  private saved: number[] = []
  private recordTypes: ValType[] = []
  /** The instrumented body, without the record's code. */
  private body: Node[] = []
  /** Temporaries by type: pool[type][k] is the k-th temporary of that type. */
  private readonly pool = new Map<ValType, number[]>()
  /**
   * Each site's index, which its unwind branch carries out to the epilogue's
   * `idx = k`, and the drop of it going forward; when no dispatcher reads idx,
   * both are dropped and the branch carries nothing.
   */
  private readonly indexCarried: Extract<Node, { kind: 'op' }>[] = []
  private indexRead = false
  /**
   * The state checks after site calls from which the function leaves
   * quietly (`leavesQuietly`). With nothing to save, going on unwinds as the
   * check's branch would: they are left out.
   */
  private readonly quietChecks = new Set<Node>()
  /** The locals live at the start on a rewind's paths (liveness.ts), `ptr` excluded. */
  private live = new Set<number>()
  /**
   * Calls to functions that may take their arguments again, with the locals
   * the code computing the arguments reads, when a rewind computes them
   * exactly from those; null when it does not.
   */
  private readonly argumentCalls: { callee: number; reads: Set<number> | null }[] = []
  /** `parametersKeptToSites`, once asked. */
  private kept: Set<number> | null = null
  /** What the state decides in the output, for the liveness of a rewind. */
  private readonly marks: RewindMarks = { rewinding: new Set(), calls: new Set(), ignored: new Set(), entryTests: new Set() }
  /** The frames' entry tests (`entryTest`), fused: where each went, and what it writes and loads through. */
  private readonly fused: FusedTest[] = []
  /** The first instruction of each choice of a first run's value (`chooseFirstRun`). */
  private readonly choosers = new Set<Node>()
  /** What `finish` wrote, for `forward`: the body without the restore in front when it has a check of its own (`restoreChecked`). */
  private finished: { body: Node[]; helpers: FrameHelpers | null; layout: RecordLayout | null; restoreChecked: boolean } | null = null
  /** The dispatch a frame hands to the block it starts with (`Handoff`), until that block's frame takes it. */
  private handoff: Handoff | null = null
  /**
   * Branches to hint as rarely taken: the prologue's `if`, entered only on a
   * rewind. Hinted, V8 in Node 26 ran a suspend path's loop as fast as the
   * untouched one where it had run 1.5x slower (bench: the non-suspending
   * loop), though Chromium 156 ran it 1.26x slower where it had not; hinting
   * the unwind exits and dispatchers too gained nothing in total and cost
   * SQLite 6% more bytes where this costs 0.7% (docs/performance-notes.md).
   */
  readonly unlikely = new Set<Node>()

  constructor(
    private readonly decoded: DecodedBody,
    private readonly type: FuncType,
    private readonly sites: Sites,
    private readonly globals: AsyncifyGlobals,
    /** The order of the saved locals in the record: by index, or by type for records that shared helpers may write. */
    private readonly recordOrder: 'index' | 'type',
    /** Whether frames may run their entry tests before their state checks (`entryTest`). */
    private readonly entryTests: boolean,
  ) {
    this.locals = [...type.params, ...decoded.locals]
    this.idx = this.addLocal('i32')
    this.ptr = this.addLocal('i32')
  }

  /**
   * Instruments the body and returns the types its frame record holds, in
   * record order; null when it has no site (it is returned as it was). Then
   * `finish` adds the code that writes and reads the record.
   */
  instrument(): ValType[] | null {
    const rewound = this.hasSite(this.decoded.body)
    if (!rewound && !this.handlerSite(this.decoded.body)) return null
    // Frames: the function's own label (a branch to it returns, as in the input), then the unwind block.
    this.frames.push({ original: true })
    this.frames.push({ original: false })
    this.labels.push(0)
    this.exits.push(true)
    this.body = this.sequence(this.decoded.body, new Map(), true)
    this.exits.pop()
    this.labels.pop()
    this.frames.length = 0
    // Every site is the last item of its frame: nothing asks which site a rewind is for.
    if (!this.indexRead) for (const node of this.indexCarried) node.bytes = NOTHING
    // The function's label and the unwind block's both lead out of the function. With sites in handlers alone, nothing is ever rewound.
    this.live = rewound ? liveAtStart(this.body, 2, this.locals.length, this.marks) : new Set()
    this.live.delete(this.ptr)
    for (const test of this.fused) if (!this.runsSafely(test)) unfuse(test)
    this.record([...this.live])
    return this.recordTypes
  }

  /**
   * Whether an entry test runs safely on a rewind: it writes no local a
   * rewind's paths read (it would overwrite the restored value), and each
   * parameter a load's address comes from holds its argument up to every site
   * and is restored (or passed again exactly), so the load reads where the
   * first run did, in a memory that can only have grown.
   */
  private runsSafely(test: FusedTest): boolean {
    if ([...test.writes].some((local) => this.live.has(local))) return false
    if (test.addresses.size === 0) return true
    const kept = this.parametersKeptToSites()
    return [...test.addresses].every((param) => this.live.has(param) && kept.has(param))
  }

  /** The types its frame record holds, in record order (after `takeArgumentsAgain`, without what it took). */
  get types(): ValType[] {
    return this.recordTypes
  }

  private record(saved: number[]): void {
    saved.sort((a, b) => a - b)
    this.saved = this.recordOrder === 'index' ? saved : typeOrder(saved, (local) => this.locals[local]!)
    this.recordTypes = this.saved.map((local) => this.locals[local]!)
  }

  /**
   * The functions (of those that may take their arguments again) some call
   * here could pass the arguments of the first run again only by saving
   * more: computed from loads or globals, or held in temporaries, or from
   * locals the record does not hold. Every other call already does so, as
   * the code computing the arguments runs again from restored locals.
   */
  callsSavingMore(exactParameters: boolean): Set<number> {
    const exact = exactParameters ? this.parametersKeptToSites() : new Set<number>()
    const callees = new Set<number>()
    for (const { callee, reads } of this.argumentCalls) {
      if (reads === null || [...reads].some((local) => !this.live.has(local) && !exact.has(local))) callees.add(callee)
    }
    return callees
  }

  /**
   * Whether the record holds parameters that keep their arguments up to
   * every site (`parametersKeptToSites`), which taking its arguments again,
   * the function would not need (`takeArgumentsAgain`).
   */
  savesArguments(): boolean {
    const kept = this.parametersKeptToSites()
    return this.saved.some((local) => kept.has(local))
  }

  /**
   * The function takes its arguments again: each caller passes, on a
   * rewind, the arguments of the first run (`callsSavingMore` found none
   * that must save more for it), and the parameters `savesArguments` found
   * hold them then. They leave the record: all of it, when they were all it
   * held.
   */
  takeArgumentsAgain(): void {
    const kept = this.parametersKeptToSites()
    this.record(this.saved.filter((local) => !kept.has(local)))
  }

  /** The instrumented body, its record written in place, or by the helpers `records` has for its types. */
  finish(records: FrameRecords | null): DecodedBody {
    const helpers = records === null || this.saved.length === 0 ? null : records.helpers(this.recordTypes)
    // Written in place: where each local lives in the record, and its size.
    const layout = helpers === null && this.saved.length > 0 ? recordLayout(this.recordTypes) : null
    const body = this.withoutQuietChecks()
    const restore = this.restore(helpers, layout)
    const entry = this.joinFirstCheck(body, restore) ? [] : this.unlikelyGuard(restore)
    this.finished = { body, helpers, layout, restoreChecked: entry.length > 0 }
    return this.framed([...entry, ...body], helpers, layout)
  }

  /**
   * After `finish`, the body to run going forward when the finished one is
   * appended as function `rewind` and called only to rewind: the same code
   * and record, without what only a rewind needs (dispatchers, guards, the
   * state checks fused into entry tests, choices of a first run's value, the
   * restore), and first a state check that hands a rewind to `rewind` with
   * the arguments. Null unless that checks the state less often where it
   * counts: when a loop has such a check (it runs each iteration), or, in a
   * function without loops, there are more than one (the restore's
   * included; the hand-off's runs once per call as one of them would), the
   * first not fused into an entry test (the only check a call that leaves
   * there runs: a buffered read's fast path, which in Node 24 ran 1.6x
   * slower with the hand-off). Checks outside the loops of a function with
   * loops run once per call, next to the loops' work. Leaving the loop-free
   * functions out made SQLite's output 2.22x its input instead of 2.48x and
   * its workload as fast where V8 inlines, but 3-4% slower in Node 20, which
   * does not (docs/performance-notes.md). (With `optimize: 3`: each function
   * copied costs its body twice.)
   */
  forward(rewind: number): DecodedBody | null {
    const { body, helpers, layout, restoreChecked } = this.finished!
    const stripped: Stripped = { outside: restoreChecked ? 1 : 0, inLoops: 0, first: restoreChecked ? 'other' : null, loops: 0, sawLoop: false }
    const code = this.withoutRewinding(body, stripped)
    if (stripped.inLoops === 0 && (stripped.outside <= 1 || stripped.first === 'entry test' || stripped.sawLoop)) return null
    const args = this.type.params.map((_, k) => op(OP.localGet, ...leb(k)))
    const handOff = this.unlikelyGuard([...args, op(OP.call, ...leb(rewind)), { kind: 'return', before: null }])
    return this.framed([...handOff, ...code], helpers, layout)
  }

  /** `inner` in the unwind block, after it the code that saves the record. */
  private framed(inner: Node[], helpers: FrameHelpers | null, layout: RecordLayout | null): DecodedBody {
    const code: Node[] = [
      {
        kind: 'block',
        type: this.indexRead ? INDEX : EMPTY,
        typeBytes: this.indexRead ? INDEX_TYPE : EMPTY_TYPE,
        before: null,
        body: [...inner, { kind: 'return', before: null }],
      },
      ...(this.indexRead ? [op(OP.localSet, ...leb(this.idx))] : []),
      ...this.unwindEpilogue(helpers, layout),
    ]
    return { locals: this.locals.slice(this.type.params.length), body: code }
  }

  /**
   * `nodes` without what only a rewind runs, copied where anything inside
   * goes; `stripped` counts the state checks that went.
   */
  private withoutRewinding(nodes: Node[], stripped: Stripped): Node[] {
    const went = (kind: 'entry test' | 'other') => {
      stripped.first ??= kind
      if (stripped.loops > 0) stripped.inLoops++
      else stripped.outside++
    }
    const out: Node[] = []
    for (let k = 0; k < nodes.length; k++) {
      const node = nodes[k]!
      if (this.choosers.has(node)) {
        // local.get t, the state, i32.eqz, select: going forward the value just computed, which local.tee t keeps.
        k += 3
        went('other')
        continue
      }
      const next = nodes[k + 1]
      if (this.readsState(node) && next !== undefined && this.marks.rewinding.has(next)) {
        // A dispatcher or a guard, and the state it reads.
        k++
        went('other')
        continue
      }
      if (this.readsState(node) && this.marks.entryTests.has(node)) {
        // A fused entry test's check: the state, i32.eqz, i32.and; its branch then takes the test's condition alone.
        k += 2
        went('entry test')
        continue
      }
      if (node.kind === 'loop') {
        stripped.sawLoop = true
        stripped.loops++
        out.push({ ...node, body: this.withoutRewinding(node.body, stripped) })
        stripped.loops--
      } else if (node.kind === 'block') out.push({ ...node, body: this.withoutRewinding(node.body, stripped) })
      else if (node.kind === 'if') out.push({ ...node, then: this.withoutRewinding(node.then, stripped), else: node.else === null ? null : this.withoutRewinding(node.else, stripped) })
      else if (node.kind === 'try') {
        out.push({ ...node, body: this.withoutRewinding(node.body, stripped), catches: node.catches.map((handler) => ({ ...handler, body: this.withoutRewinding(handler.body, stripped) })) })
      } else out.push(node)
    }
    return out
  }

  private readsState(node: Node): boolean {
    return node.kind === 'op' && node.bytes[0] === OP.globalGet && indexImmediate(node.bytes) === this.globals.state
  }

  /**
   * The body, without the checks after calls the function leaves quietly
   * from when it has nothing to save: unwinding, it returns the call's result
   * (or what pure code made of it) instead of a placeholder, which its
   * caller ignores as it does the placeholder, having checked the state. (A
   * rewind that missed its import leaves the same way, and the runtime still
   * finds the export returning while rewinding.)
   */
  private withoutQuietChecks(): Node[] {
    if (this.saved.length > 0 || this.indexRead || this.quietChecks.size === 0) return this.body
    const strip = (nodes: Node[]): Node[] =>
      nodes.flatMap((node): Node[] => {
        if (this.quietChecks.has(node)) return []
        if (node.kind === 'block' || node.kind === 'loop') return [{ ...node, body: strip(node.body) }]
        if (node.kind === 'if') return [{ ...node, then: strip(node.then), else: node.else === null ? null : strip(node.else) }]
        if (node.kind === 'try') return [{ ...node, body: strip(node.body) }]
        return [node]
      })
    return strip(this.body)
  }

  private addLocal(type: ValType): number {
    this.locals.push(type)
    return this.locals.length - 1
  }

  /**
   * Temporaries for `types`, from `base` on (per type); returns them and the base after them. A value
   * that cannot be null has none: set inside a block and read after it, such a local would not
   * validate, and a rewind, which restores no reference, would read it unset.
   */
  private temps(types: ValType[], base: Map<ValType, number>): { locals: number[]; next: Map<ValType, number> } {
    const next = new Map(base)
    const locals = types.map((type) => {
      if (!defaultable(type)) throw new ReferenceSaved(type)
      const k = next.get(type) ?? 0
      next.set(type, k + 1)
      const list = this.pool.get(type) ?? []
      this.pool.set(type, list)
      while (list.length <= k) list.push(this.addLocal(type))
      return list[k]!
    })
    return { locals, next }
  }

  /**
   * The parameters that still hold their arguments wherever a site runs: no
   * write to them comes before a site in the body's order, nor in a loop that
   * holds a site (its back edge leads to the site again); only those can
   * reach a site, since every other branch goes forward.
   */
  private parametersKeptToSites(): Set<number> {
    if (this.kept !== null) return this.kept
    const kept = (this.kept = new Set(this.type.params.keys()))
    let siteAfter = false
    const visit = (nodes: Node[], loopHoldsSite: boolean) => {
      for (let k = nodes.length - 1; k >= 0; k--) {
        const node = nodes[k]!
        // Unreachable code is not written out.
        if (node.before === null) continue
        if (this.isSite(node)) siteAfter = true
        else if (node.kind === 'op' && (node.bytes[0] === OP.localSet || node.bytes[0] === OP.localTee)) {
          if (siteAfter || loopHoldsSite) kept.delete(indexImmediate(node.bytes))
        } else if (node.kind === 'block') visit(node.body, loopHoldsSite)
        else if (node.kind === 'try') {
          for (let h = node.catches.length - 1; h >= 0; h--) visit(node.catches[h]!.body, loopHoldsSite)
          visit(node.body, loopHoldsSite)
        } else if (node.kind === 'loop') visit(node.body, loopHoldsSite || this.hasSite(node.body))
        else if (node.kind === 'if') {
          if (node.else !== null) visit(node.else, loopHoldsSite)
          visit(node.then, loopHoldsSite)
        }
      }
    }
    visit(this.decoded.body, false)
    return kept
  }

  private hasSite(nodes: Node[]): boolean {
    for (const node of nodes) {
      if (node.before === null) return false
      if (this.isSite(node)) return true
      if ((node.kind === 'block' || node.kind === 'loop' || node.kind === 'try') && this.hasSite(node.body)) return true
      if (node.kind === 'if' && (this.hasSite(node.then) || (node.else !== null && this.hasSite(node.else)))) return true
    }
    return false
  }

  /** Whether a handler in `nodes` (at any depth) holds a call that may unwind. */
  private handlerSite(nodes: Node[], inHandler = false): boolean {
    for (const node of nodes) {
      if (node.before === null) return false
      if (inHandler && this.isSite(node)) return true
      if ((node.kind === 'block' || node.kind === 'loop') && this.handlerSite(node.body, inHandler)) return true
      if (node.kind === 'if' && (this.handlerSite(node.then, inHandler) || (node.else !== null && this.handlerSite(node.else, inHandler)))) return true
      if (node.kind === 'try' && (this.handlerSite(node.body, inHandler) || node.catches.some((handler) => this.handlerSite(handler.body, true)))) return true
    }
    return false
  }

  private isSite(node: Node): boolean {
    return (node.kind === 'call' && this.sites.call(node.func)) || (node.kind === 'call_indirect' && this.sites.indirect(node.typeIndex))
  }

  private holdsSite(node: Node): boolean {
    if (node.before === null) return false
    if (this.isSite(node)) return true
    if (node.kind === 'block' || node.kind === 'loop' || node.kind === 'try') return this.hasSite(node.body)
    if (node.kind === 'if') return this.hasSite(node.then) || (node.else !== null && this.hasSite(node.else))
    return false
  }

  /** The depth of input label `depth` (relative) as seen from the output's current frame. */
  private depthOf(depth: number): number {
    const frame = this.labels[this.labels.length - 1 - depth]!
    return this.frames.length - 1 - frame
  }

  /**
   * Re-emits nodes without sites a rewind enters: the same, with branch
   * depths for the output's frames; in a handler, each call that may unwind
   * followed by a trap when it does (`inHandler`).
   */
  private copy(nodes: Node[], inHandler = false): Node[] {
    const out: Node[] = []
    for (const node of nodes) {
      out.push(this.copied(node, inHandler))
      if (!inHandler || node.before === null || !this.isSite(node)) continue
      if (node.kind === 'call') throw new SuspensionInHandler(node.func)
      out.push(op(OP.globalGet, ...leb(this.globals.state)), { kind: 'if', type: EMPTY, typeBytes: EMPTY_TYPE, then: [{ kind: 'unreachable', before: null }], else: null, before: null })
    }
    return out
  }

  private copied(node: Node, inHandler: boolean): Node {
    switch (node.kind) {
      case 'br':
      case 'br_if':
        return { ...node, depth: this.depthOf(node.depth) }
      case 'br_table':
        return { ...node, depths: node.depths.map((d) => this.depthOf(d)), fallback: this.depthOf(node.fallback) }
      case 'rethrow':
        return { ...node, depth: this.depthOf(node.depth) }
      case 'block':
      case 'loop':
        return { ...node, body: this.within(() => this.copy(node.body, inHandler)) }
      case 'if':
        return {
          ...node,
          then: this.within(() => this.copy(node.then, inHandler)),
          else: node.else === null ? null : this.within(() => this.copy(node.else!, inHandler)),
        }
      case 'try':
        return this.withHandlers(node, this.within(() => this.copy(node.body, inHandler)))
      default:
        return node
    }
  }

  /** `node` (a try) with `body`, its handlers copied, and its delegate's depth for the output's frames: called in the try's enclosing frame. */
  private withHandlers(node: Extract<Node, { kind: 'try' }>, body: Node[]): Node {
    return {
      ...node,
      body,
      catches: node.catches.map((handler) => ({ ...handler, body: this.within(() => this.copy(handler.body, true)) })),
      delegate: node.delegate === null ? null : this.depthOf(node.delegate),
    }
  }

  /** Runs `emit` inside a new original frame (an input label); `exits`: whether a branch to the label leaves the function quietly. */
  private within<T>(emit: () => T, exits = false): T {
    this.frames.push({ original: true })
    this.labels.push(this.frames.length - 1)
    this.exits.push(exits)
    try {
      return emit()
    } finally {
      this.exits.pop()
      this.labels.pop()
      this.frames.pop()
    }
  }

  /**
   * A frame's instructions (input `nodes`), leaving `results` on the stack.
   * Dead code after an unconditional branch is dropped.
   *
   * The frame's items holding sites, I0 to In, each end a block opened at
   * the frame's start (Bj ends right before Ij, B0 innermost), and a
   * dispatcher first in B0 branches, when rewinding, to the end of the block
   * before the item holding the rewind's site: every segment between is
   * skipped, going forward nothing is. A block ends with an empty stack, so
   * what a segment leaves under its item is held in temporaries across the
   * block's end; an item's results stay on the stack for the segment after it.
   * The first segment, when a rewind can run it again (`replayable`), has no
   * block: it runs again on the rewind to I0, and leaves its values on the
   * stack. `fallsOut`: whether the frame's end leaves the function quietly.
   *
   * A frame that starts with a block holding its first site hands its
   * dispatch to that block's frame (`Handoff`), whose dispatcher branches out
   * to this frame's blocks too: a switch, compiled to a nest of blocks each
   * starting with the next, would otherwise check the state once per case
   * each time it runs (SQLite's bytecode loop: about 200 checks per opcode).
   */
  private sequence(nodes: Node[], base: Map<ValType, number> = new Map(), fallsOut = false): Node[] {
    const handoff = this.handoff
    this.handoff = null
    const live = nodes.filter((node) => node.before !== null)
    const items: number[] = []
    live.forEach((node, i) => {
      if (this.holdsSite(node)) items.push(i)
    })
    if (items.length === 0) return this.copy(live)

    // Each item's segment (the code since the item before), and the inputs computed right before it by code a rewind
    // can run again (rerunTail): computed again after the block's end from the locals a rewind restores, as they were
    // at the call, so an if's condition only if its arms write none of them.
    const parts = items.map((at, j) => {
      const node = live[at]!
      const inputs = inputCount(node)
      const segment = live.slice(j === 0 ? 0 : items[j - 1]! + 1, at)
      const arms = node.kind === 'if' ? [node.then, node.else ?? []] : []
      let tail = rerunTail(segment, inputs, exactInputs(node))
      if (tail !== null && writesAny(arms, localsRead(tail))) tail = null
      // An if's condition or a call_indirect's table index that a rewind may compute otherwise (a function pointer
      // loaded from memory): computed again all the same, then the first run's value chosen from a temporary
      // (`chooseFirstRun`), so nothing needs a block and a state check before it. From locals the arms wrote, the
      // code computing it must not trap.
      let chosen = false
      if (tail === null && (node.kind === 'if' || node.kind === 'call_indirect')) {
        const again = rerunTail(segment, inputs, 0)
        if (again !== null && (!writesAny(arms, localsRead(again)) || cannotTrap(again))) {
          tail = again
          chosen = true
        }
      }
      return { node, inputs, tail, chosen, code: tail === null ? segment : segment.slice(0, segment.length - tail.length) }
    })
    // A test that may leave the frame first runs before the state check, fused with it: going forward it decides
    // alone, and a rewind runs it to no effect. Functions that leave at once on a fast path (a buffered read) then
    // take one branch there, not two.
    const first = parts[0]!
    const replayed = first.code.length > 0 && replayable(first.code, [first.node])
    const blocked = !replayed && first.code.length > 0
    // Blocked either way, so that a test found unsafe once the record is known can go back after the check (`unfuse`).
    // A rewind for a frame that handed its dispatch here runs the test too, to the same no effect: `runsSafely` judges
    // it on every rewind's paths.
    const test = this.entryTests && blocked ? entryTest(first.code, this.type.params.length) : null
    if (test !== null) first.code = first.code.slice(test.length)
    parts.forEach(({ node, inputs, tail }, j) => {
      if (node.kind !== 'call' || inputs === 0 || !this.sites.argumentsAgain(node.func)) return
      // Computed again after the block's end, or by the first segment run again (pure code), or held in temporaries.
      const exact = tail !== null ? tail.every((inner) => rerun(inner) === 'exact' || rerun(inner) === 'traps') : j === 0 && !blocked
      this.argumentCalls.push({ callee: node.func, reads: !exact ? null : tail === null ? new Set() : localsRead(tail) })
    })
    const n = items.length - 1
    const quiet = leavesQuietly(live.slice(items[n]! + 1), this.exits, fallsOut)
    // Nothing runs between this frame's start and that block's, so a rewind may decide there for both.
    const passing: Handoff | null = items[0] === 0 && first.node.kind === 'block' && (n > 0 || handoff !== null) ? (handoff ?? { targets: [], taker: null }) : null

    // The blocks, outermost (Bn) first; `lists` holds the bodies being written, the innermost last.
    const out: Node[] = []
    const lists: Node[][] = [out]
    const frames = this.frames.length
    for (let j = n; j >= (blocked ? 0 : 1); j--) {
      const body: Node[] = []
      lists[lists.length - 1]!.push({ kind: 'block', type: EMPTY, typeBytes: EMPTY_TYPE, body, before: null })
      lists.push(body)
      this.frames.push({ original: false })
    }
    if (test !== null) this.fuse(lists[lists.length - 1]!, live.slice(0, test.length), test)
    // The dispatcher's branch targets are known once the items are numbered: filled in at the end (or, taking a
    // handoff, at the end of the frame that started it).
    const dispatch: Node[] = []
    // The label a branch from inside the dispatcher's if counts its depths from: Bj is at dispatching - j.
    const dispatching = this.frames.length
    if (passing === null && (n > 0 || handoff !== null)) {
      const node: Node = { kind: 'if', type: EMPTY, typeBytes: EMPTY_TYPE, then: dispatch, else: null, before: null }
      this.marks.rewinding.add(node)
      lists[lists.length - 1]!.push(op(OP.globalGet, ...leb(this.globals.state)), node)
    } else if (blocked) {
      const skip: Node = { kind: 'br_if', depth: 0, before: null }
      this.marks.rewinding.add(skip)
      lists[lists.length - 1]!.push(op(OP.globalGet, ...leb(this.globals.state)), skip)
    }

    const ranges: { first: number; last: number }[] = []
    let top = base
    try {
      parts.forEach(({ node, inputs, tail, chosen, code }, j) => {
        const into = () => lists[lists.length - 1]!
        let held: { type: ValType; local: number }[] = []
        if (j > 0 || blocked) {
          // What the segment leaves under the item (its inputs too, unless computed again): held in temporaries across the block's end.
          const stack = node.before!.slice(0, node.before!.length - (tail === null ? 0 : inputs))
          const spill = this.temps(stack, base)
          into().push(...this.copy(code), ...[...spill.locals].reverse().map((local) => op(OP.localSet, ...leb(local))))
          lists.pop()
          this.frames.pop()
          held = stack.map((type, k) => ({ type, local: spill.locals[k]! }))
          // The item's own frames use temporaries past these: a rewind into it reads them, after theirs, back from one record.
          top = maxBase(base, spill.next)
        } else if (replayed) {
          into().push(...this.copy(code))
        }
        const args = tail === null ? held.slice(held.length - inputs) : []
        const below = tail === null ? held.slice(0, held.length - inputs) : held
        into().push(...below.map((value) => op(OP.localGet, ...leb(value.local))))
        let computed = tail === null ? args.map((value) => op(OP.localGet, ...leb(value.local))) : this.copy(tail)
        let itemBase = top
        if (chosen) {
          // Its own frames use temporaries past the one holding the first run's value.
          const first = this.temps(['i32'], top)
          computed = [...computed, ...this.chooseFirstRun(first.locals[0]!)]
          itemBase = first.next
        }
        const site = this.nextSite
        if (j === 0 && passing !== null) this.handoff = passing
        into().push(...this.item(node, computed, itemBase, j === n && quiet))
        if (this.handoff !== null) throw new Error('a handed-off dispatch was not taken')
        ranges.push({ first: site, last: this.nextSite - 1 })
      })
    } finally {
      this.frames.length = frames
    }
    out.push(...this.copy(live.slice(items[n]! + 1)))
    const own: Dispatched[] = ranges.map((range, j) => ({ ...range, depth: blocked ? j + 1 : j }))
    if (passing !== null) {
      for (let j = 1; j <= n; j++) passing.targets.push({ ...ranges[j]!, label: dispatching - j })
      if (handoff === null) {
        if (passing.taker === null) throw new Error('a handed-off dispatch has no dispatcher')
        const { dispatch: taken, own: takers, label } = passing.taker
        taken.push(...this.dispatcher([...takers, ...passing.targets.map((target) => ({ first: target.first, last: target.last, depth: label - target.label }))]))
      }
    } else if (handoff !== null) {
      handoff.taker = { dispatch, own, label: dispatching }
    } else if (n > 0) {
      dispatch.push(...this.dispatcher(own))
    }
    return out
  }

  /**
   * After code that computed an item's top input again (its value on a
   * rewind may differ), the value to use: the one just computed going
   * forward, else the first run's, which `local` holds (it is restored). A
   * `select`, not a branch: no block around the code before it, and no
   * temporaries holding what it leaves.
   */
  private chooseFirstRun(local: number): Node[] {
    const first = op(OP.localGet, ...leb(local))
    this.choosers.add(first)
    return [
      first,
      op(OP.globalGet, ...leb(this.globals.state)),
      op(OP.i32Eqz),
      op(OP.select),
      op(OP.localTee, ...leb(local)),
    ]
  }

  /**
   * Puts an entry test (`entryTest`) first in `list`, before the state check
   * that comes next, its branch taken only when the state is normal: its
   * condition, a comparison (0 or 1) or made one by two `eqz`s, and-ed with
   * the state's `eqz`. Marked for the liveness of a rewind, which runs it but
   * never takes its branch: what is live is then the same as with the test
   * after the check, where a rewind skips it, so `unfuse` can put it back
   * there.
   */
  private fuse(list: Node[], nodes: Node[], { writes, addresses, truthy }: EntryTest): void {
    const test = this.copy(nodes)
    // An and with the state's eqz keeps only the condition's low bit: a value such as 2 becomes 0 or 1 first.
    const normalized = truthy ? [op(OP.i32Eqz), op(OP.i32Eqz)] : []
    const fused = [...test.slice(0, -1), ...normalized, op(OP.globalGet, ...leb(this.globals.state)), op(OP.i32Eqz), op(OP.i32And), test[test.length - 1]!]
    for (const node of fused) this.marks.entryTests.add(node)
    list.push(...fused)
    this.fused.push({ list, at: list.length - fused.length, fused, test, writes, addresses })
  }

  /**
   * The dispatcher's branch, inside its if, by the range that holds idx (in
   * site order, without gaps) to its depth: the block before the item
   * holding that site, or one a frame around it handed its dispatch from.
   * A br_table over the sites, or a chain of comparisons, whichever is
   * smaller. Depth 0 leaves the if, to I0 when it has no block; the last
   * range is the default.
   */
  private dispatcher(ranges: Dispatched[]): Node[] {
    this.indexRead = true
    const n = ranges.length - 1
    const first = ranges[0]!.first
    const getIndex = op(OP.localGet, ...leb(this.idx))
    const shifted = first === 0 ? [] : [op(OP.i32Const, ...sleb(first)), op(OP.i32Sub)]
    const depths: number[] = []
    for (let j = 0; j < n; j++) for (let site = ranges[j]!.first; site <= ranges[j]!.last; site++) depths.push(ranges[j]!.depth)
    const table: Node[] = [getIndex, ...shifted, { kind: 'br_table', depths, fallback: ranges[n]!.depth, before: null }]
    const chain: Node[] = []
    for (let j = 0; j < n; j++) {
      chain.push(op(OP.localGet, ...leb(this.idx)), op(OP.i32Const, ...sleb(ranges[j + 1]!.first)), op(OP.i32LtU), { kind: 'br_if', depth: ranges[j]!.depth, before: null })
    }
    chain.push({ kind: 'br', depth: ranges[n]!.depth, before: null })
    return encodedSize(table) <= encodedSize(chain) ? table : chain
  }

  /**
   * One item holding a site, after `inputs`, the code that puts its inputs on
   * the stack; its results stay there. Its own frames use temporaries from
   * `base` on. `quiet`: whether the function leaves quietly after it.
   */
  private item(node: Node, inputs: Node[], base: Map<ValType, number>, quiet: boolean): Node[] {
    if (node.kind === 'call' || node.kind === 'call_indirect') {
      const index = op(OP.i32Const, ...sleb(this.nextSite++)) as Extract<Node, { kind: 'op' }>
      const drop = op(OP.drop) as Extract<Node, { kind: 'op' }>
      this.indexCarried.push(index, drop)
      const call = this.copied(node, false)
      this.marks.calls.add(call)
      this.ignoreArgumentReads(node, inputs)
      // Normal (0) goes on; unwinding (1) leaves with the site's index. Rewinding (2) after a call means the rewind
      // missed its import: leaving too ends the export still rewinding, which the runtime reports as
      // ASYNCIFY_REWIND_MISMATCH.
      const check: Node[] = [op(OP.globalGet, ...leb(this.globals.state)), { kind: 'br_if', depth: this.frames.length - 2, before: null }]
      if (quiet) for (const inner of check) this.quietChecks.add(inner)
      return [...inputs, call, index, ...check, drop]
    }
    if (node.kind !== 'block' && node.kind !== 'loop' && node.kind !== 'if' && node.kind !== 'try') throw new Error(`not an item: ${node.kind}`)
    if (node.type.params.length > 0) throw new DecodeUnsupported('blocks with parameters are not handled')
    if (node.kind === 'try') {
      // Its body is a frame a rewind enters, as a block's; leaving it normally goes on after the try.
      return [...inputs, this.withHandlers(node, this.within(() => this.sequence(node.body, base, quiet), quiet))]
    }
    if (node.kind === 'if') {
      const then = this.within(() => this.sequence(node.then, base, quiet), quiet)
      const otherwise = node.else === null ? null : this.within(() => this.sequence(node.else!, base, quiet), quiet)
      return [...inputs, { ...node, then, else: otherwise }]
    }
    // A branch to a loop's label runs its body again.
    return [...inputs, this.within(() => ({ ...node, body: this.sequence(node.body, base, quiet) }) as Node, quiet && node.kind === 'block')]
  }

  /**
   * Marks the reads in `computed` (the code that puts a site call's inputs on
   * the stack) that only compute arguments as ignored by a rewind
   * (liveness.ts): a rewind re-enters the call, which ignores them, so the
   * locals they read need no saving for it. Run from locals a rewind did not
   * restore, that code must not trap: no load, division or truncation, else
   * nothing is marked. A call_indirect's table index must be as it was: it is
   * the last value, and its own instruction's reads count (a local.get or a
   * constant, else nothing is marked).
   */
  private ignoreArgumentReads(call: Node, computed: Node[]): void {
    let args = computed
    if (call.kind === 'call_indirect') {
      const index = computed[computed.length - 1]
      if (index === undefined || index.kind !== 'op' || (index.bytes[0] !== OP.localGet && index.bytes[0] !== OP.i32Const)) return
      args = computed.slice(0, -1)
    }
    if (!cannotTrap(args)) return
    for (const node of args) if (node.kind === 'op' && node.bytes[0] === OP.localGet) this.marks.ignored.add(node)
  }

  /** At a rewind, the saved locals come back from the frame's record: in place, or through shared helpers; nothing when it has none. */
  private restore(helpers: FrameHelpers | null, layout: RecordLayout | null): Node[] {
    if (layout !== null) {
      const { offsets, size } = layout
      const cur = leb(this.globals.cur)
      return [
        // ptr = cur - size; cur = ptr
        op(OP.globalGet, ...cur),
        op(OP.i32Const, ...sleb(size)),
        op(OP.i32Sub),
        op(OP.localTee, ...leb(this.ptr)),
        op(OP.globalSet, ...cur),
        ...this.loads(offsets),
      ]
    }
    if (helpers === null) return []
    return helpers.offsets === null
      ? [op(OP.call, ...leb(helpers.restore)), ...[...this.saved].reverse().map((local) => op(OP.localSet, ...leb(local)))]
      : [op(OP.call, ...leb(helpers.restore)), op(OP.localSet, ...leb(this.ptr)), ...this.loads(helpers.offsets)]
  }

  /**
   * `code` run only at a rewind, first in the function, its branch hinted as
   * rarely taken. A function is entered normal or rewinding, never
   * unwinding: any state but normal is a rewind.
   */
  private unlikelyGuard(code: Node[]): Node[] {
    if (code.length === 0) return []
    const guarded = guard([op(OP.globalGet, ...leb(this.globals.state))], code)
    this.unlikely.add(guarded[guarded.length - 1]!)
    return guarded
  }

  /**
   * Puts the restore (non-empty) first in the root's first state check, when
   * that is the first code the function runs (only blocks open before it):
   * the state is checked once on entry, not twice. A dispatcher's `if` takes
   * the restore before its branch; a guard (`br_if`) becomes an `if` holding
   * the restore and the branch. Edits `body` in place; whether it did.
   *
   * Not in a function with a loop: there Node 20 (V8 11.3) ran the joined
   * form slower (a loop of buffered reads 1.3x, SQLite's bytecode loop 2.5%;
   * docs/performance-notes.md), while a function without one runs its entry
   * once per call, and Node 22 and 26 ran SQLite alike or faster.
   */
  private joinFirstCheck(body: Node[], restore: Node[]): boolean {
    if (restore.length === 0 || hasLoop(body)) return false
    let list = body
    while (list[0]?.kind === 'block') list = list[0].body
    const [get, check] = list
    if (get?.kind !== 'op' || check === undefined || !this.marks.rewinding.has(check)) return false
    let joined: Node
    if (check.kind === 'if') joined = { ...check, then: [...restore, ...check.then] }
    else if (check.kind === 'br_if') joined = { kind: 'if', type: EMPTY, typeBytes: EMPTY_TYPE, then: [...restore, { kind: 'br', depth: check.depth + 1, before: null }], else: null, before: null }
    else return false
    list[1] = joined
    this.unlikely.add(joined)
    // What only a rewind runs (`forward` leaves it out).
    this.marks.rewinding.add(joined)
    return true
  }

  /** Each saved local, loaded from its offset in the record at `ptr`. */
  private loads(offsets: number[]): Node[] {
    return this.saved.flatMap((local, k) => [
      op(OP.localGet, ...leb(this.ptr)),
      op(...LOAD[this.locals[local]!]!, 0, ...leb(offsets[k]!)),
      op(OP.localSet, ...leb(local)),
    ])
  }

  /** At an unwind, the saved locals go into the frame's record (in place, or through a shared helper), and the function returns placeholders. */
  private unwindEpilogue(helpers: FrameHelpers | null, layout: RecordLayout | null): Node[] {
    const placeholders = this.type.results.map((type) => op(...placeholder(type)))
    if (helpers !== null) return [...this.saved.map((local) => op(OP.localGet, ...leb(local))), op(OP.call, ...leb(helpers.save)), ...placeholders]
    if (layout === null) return placeholders
    const { offsets, size } = layout
    const cur = leb(this.globals.cur)
    return [
      // ptr = cur; cur += size; written only if it fits
      op(OP.globalGet, ...cur),
      op(OP.localTee, ...leb(this.ptr)),
      op(OP.i32Const, ...sleb(size)),
      op(OP.i32Add),
      op(OP.globalSet, ...cur),
      op(OP.globalGet, ...cur),
      op(OP.globalGet, ...leb(this.globals.end)),
      op(OP.i32LeU),
      // Past the end nothing is written, but the position still moves on: the runtime finds it past the end after the unwind.
      {
        kind: 'if',
        type: EMPTY,
        typeBytes: EMPTY_TYPE,
        then: this.saved.flatMap((local, k) => [
          op(OP.localGet, ...leb(this.ptr)),
          op(OP.localGet, ...leb(local)),
          op(...STORE[this.locals[local]!]!, 0, ...leb(offsets[k]!)),
        ]),
        else: null,
        before: null,
      },
      ...placeholders,
    ]
  }
}

/** The state checks a forward body left out (`BodyInstrumenter.withoutRewinding`), while it walks the body `loops` deep. */
interface Stripped {
  /** Checks outside any loop, the restore's included. */
  outside: number
  inLoops: number
  /** The kind of the first check in the body's order. */
  first: 'entry test' | 'other' | null
  loops: number
  /** Whether the walk met a loop. */
  sawLoop: boolean
}

/** Whether `nodes` hold a loop, at any depth. */
function hasLoop(nodes: Node[]): boolean {
  return nodes.some((node) => {
    if (node.kind === 'loop') return true
    if (node.kind === 'block') return hasLoop(node.body)
    if (node.kind === 'if') return hasLoop(node.then) || (node.else !== null && hasLoop(node.else))
    if (node.kind === 'try') return hasLoop(node.body) || node.catches.some((handler) => hasLoop(handler.body))
    return false
  })
}

/** A range of site indices, and the depth a dispatcher branches to for them. */
interface Dispatched {
  first: number
  last: number
  depth: number
}

/**
 * A frame's dispatch handed to the block it starts with (`sequence`), and on
 * through a nest of such blocks to the first frame that does not start with
 * one, the taker, whose dispatcher then decides for them all: the frame that
 * started the handoff writes it once every site is numbered.
 */
interface Handoff {
  /** The sites of the frames that handed their dispatch on, after the taker's own, each with the label (in `frames`) a rewind to it branches to. */
  targets: { first: number; last: number; label: number }[]
  /** The taker's dispatcher (its if's body, to fill in), its own sites with their depths, and its if's label; set when it is written. */
  taker: { dispatch: Node[]; own: Dispatched[]; label: number } | null
}

/** A frame's entry test (`entryTest`): how many instructions it takes, the locals it writes, the parameters its loads' addresses come from. */
interface EntryTest {
  length: number
  writes: Set<number>
  addresses: Set<number>
  /** Whether its condition is any i32, not a comparison's 0 or 1: fused, it is made one first. */
  truthy: boolean
}

/** An entry test put before its frame's state check (`fuse`): `list[at]` on are `fused`, then the check's two instructions. */
interface FusedTest extends Omit<EntryTest, 'length' | 'truthy'> {
  list: Node[]
  at: number
  fused: Node[]
  /** The test as it was: its instructions and branch. */
  test: Node[]
}

/** Puts an entry test back after the state check, as it was: a rewind skips it there. */
function unfuse({ list, at, fused, test }: FusedTest): void {
  const check = list.slice(at + fused.length, at + fused.length + 2)
  list.splice(at, fused.length + 2, ...check, ...test)
}

/**
 * The test a frame's first segment starts with, when it can run before the
 * frame's state check: straight-line code putting a condition on an empty
 * stack for a `br_if` (a comparison, or any i32 that `fuse` makes one of).
 * Run again on a rewind its values do not matter (the
 * fused branch is not taken), but it must do nothing else: it may write
 * locals (`writes`, which the instrumenter checks are dead on a rewind's
 * paths) and load from addresses made of constants and parameters not
 * written before (`addresses`, which it checks are restored as they were),
 * and nothing in it may trap otherwise, write memory or a global, or call.
 * Its length, counting the branch; null when there is none.
 */
function entryTest(segment: Node[], params: number): EntryTest | null {
  // For each value on the stack: the parameters it is computed from, or null when it is not computed from those and constants alone.
  const stack: (Set<number> | null)[] = []
  const writes = new Set<number>()
  const addresses = new Set<number>()
  for (let k = 0; k < segment.length; k++) {
    const node = segment[k]!
    if (node.kind === 'br_if') {
      if (node.on) return null
      const last = segment[k - 1]
      const compares = last !== undefined && last.kind === 'op' && last.bytes[0]! >= 0x45 && last.bytes[0]! <= 0x66
      return stack.length === 1 && node.before?.length === 1 ? { length: k + 1, writes, addresses, truthy: !compares } : null
    }
    if (node.kind !== 'op' || node.before === null || stack.length < node.pops.length) return null
    const inputs = stack.splice(stack.length - node.pops.length)
    const code = node.bytes[0]!
    let value: Set<number> | null = null
    if (code === OP.localGet) {
      const local = indexImmediate(node.bytes)
      value = local < params && !writes.has(local) ? new Set([local]) : null
    } else if (code === OP.localSet || code === OP.localTee) {
      writes.add(indexImmediate(node.bytes))
      value = inputs[0]!
    } else if (code !== OP.drop) {
      const kind = rerun(node)
      if (kind === 'exact') value = inputs.every((input) => input !== null) ? new Set(inputs.flatMap((input) => [...input!])) : null
      else if (kind === 'load') {
        const address = inputs[0]
        if (address === null || address === undefined) return null
        for (const param of address) addresses.add(param)
      } else if (kind !== 'varies') return null
    }
    for (let n = 0; n < node.pushes.length; n++) stack.push(value)
  }
  return null
}

/** Per type, the larger of two temporaries' bases. */
function maxBase(a: Map<ValType, number>, b: Map<ValType, number>): Map<ValType, number> {
  const max = new Map(a)
  for (const [type, k] of b) max.set(type, Math.max(k, max.get(type) ?? 0))
  return max
}

/** The encoded size of dispatcher code: ops, branches and a br_table. */
function encodedSize(nodes: Node[]): number {
  let size = 0
  for (const node of nodes) {
    if (node.kind === 'op') size += node.bytes.length
    else if (node.kind === 'br' || node.kind === 'br_if') size += 1 + leb(node.depth).length
    else if (node.kind === 'br_table') size += 1 + leb(node.depths.length).length + [...node.depths, node.fallback].reduce((sum, depth) => sum + leb(depth).length, 0)
    else throw new Error(`not dispatcher code: ${node.kind}`)
  }
  return size
}

/**
 * The top inputs of an item a rewind must compute as they were: an if's
 * condition, a call_indirect's table index. A call's arguments may differ:
 * whatever it calls on a rewind restores the locals it reads (an instrumented
 * function) or ends the rewind without reading them (an async import's
 * wrapper in the runtime).
 */
function exactInputs(node: Node): number {
  if (node.kind === 'call') return 0
  if (node.kind === 'call_indirect' || node.kind === 'if') return 1
  return inputCount(node)
}

/** Values an item takes from the stack: a call's arguments (and table index), an if's condition. */
function inputCount(node: Node): number {
  if (node.kind === 'call') return node.type.params.length
  if (node.kind === 'call_indirect') return node.type.params.length + 1
  if (node.kind === 'if') return 1
  return 0
}

/**
 * Opcodes that neither trap, nor write, nor read what a call can change: run
 * again on a rewind (with the locals restored as they were at the call), they
 * give the same values. Float arithmetic is left out (NaN bits may differ).
 */
function pure(node: Node): boolean {
  if (node.kind !== 'op') return false
  const code = node.bytes[0]!
  return (
    // Not of a local that cannot be null: it is valid to read only inside the block that set it. (The
    // instrumenter's own instructions say no type: it reads its own temporaries where it set them.)
    (code === 0x20 && (node.pushes.length === 0 || defaultable(node.pushes[0]!))) || // local.get
    (code >= 0x41 && code <= 0x44) || // const
    (code >= 0x45 && code <= 0x5a) || // integer comparisons
    (code >= 0x67 && code <= 0x6c) || // i32 clz ctz popcnt add sub mul
    (code >= 0x71 && code <= 0x78) || // i32 bitwise and shifts
    (code >= 0x79 && code <= 0x7e) || // i64 clz ctz popcnt add sub mul
    (code >= 0x83 && code <= 0x8a) || // i64 bitwise and shifts
    code === 0xa7 || code === 0xac || code === 0xad || // wrap, extend
    (code >= 0xc0 && code <= 0xc4) // sign extension
  )
}

/**
 * Whether `rest`, the code after a frame's last item, leaves the function
 * with no effect but its results: instructions that neither trap nor write
 * anything but locals (so they end, whatever values they are given), then a
 * `return`, a branch to a label that leaves so (`exits`, the open input
 * labels, outermost first), or the frame's end when it does (`fallsOut`).
 */
function leavesQuietly(rest: Node[], exits: boolean[], fallsOut: boolean): boolean {
  for (const node of rest) {
    if (node.kind === 'return') return true
    if (node.kind === 'br') return exits[exits.length - 1 - node.depth]!
    if (node.kind !== 'op') return false
    const code = node.bytes[0]!
    const kind = rerun(node)
    if (!(kind === 'exact' || kind === 'varies' || code === OP.localSet || code === OP.localTee || code === OP.drop)) return false
  }
  return fallsOut
}

/** The locals `nodes` (op nodes) read. */
function localsRead(nodes: Node[]): Set<number> {
  const read = new Set<number>()
  for (const node of nodes) if (node.kind === 'op' && node.bytes[0] === OP.localGet) read.add(indexImmediate(node.bytes))
  return read
}

/**
 * Whether `segment`, run again on a rewind before `after` (the rest of its
 * frame, up to the last item with a site), takes the branches and writes the
 * locals it did before the call: its instructions are pure, local writes,
 * drops, selects and control flow (no call, no memory or global access); no
 * local it reads before writing it is written by it or by `after`, nor one
 * it writes by `after`. So the locals it reads were restored to the values it
 * read, and the ones it writes get the values they held at the call. A write
 * counts as before a read only in the segment's own straight line, not
 * inside a block, loop or if of it.
 */
function replayable(segment: Node[], after: Node[]): boolean {
  const exposed = new Set<number>()
  const writes = new Set<number>()
  const written = new Set<number>()
  for (const node of segment) {
    if (node.kind === 'op' && (node.bytes[0] === OP.localSet || node.bytes[0] === OP.localTee)) {
      const local = indexImmediate(node.bytes)
      written.add(local)
      writes.add(local)
      continue
    }
    const reads = new Set<number>()
    if (!replayableAccess(node, reads, writes)) return false
    for (const local of reads) if (!written.has(local)) exposed.add(local)
  }
  for (const local of exposed) if (writes.has(local)) return false
  return !writesAny([after], new Set([...exposed, ...writes]))
}

/** Collects the locals `node` reads and writes, nested code included; false when it does anything else a rewind could not run again. */
function replayableAccess(node: Node, reads: Set<number>, writes: Set<number>): boolean {
  switch (node.kind) {
    case 'block':
    case 'loop':
      return node.body.every((inner) => replayableAccess(inner, reads, writes))
    case 'if':
      return [...node.then, ...(node.else ?? [])].every((inner) => replayableAccess(inner, reads, writes))
    case 'br':
    case 'br_if':
    case 'br_table':
    case 'return':
    case 'unreachable':
      return true
    case 'op': {
      const code = node.bytes[0]!
      if (code === OP.localGet) reads.add(indexImmediate(node.bytes))
      else if (code === OP.localSet || code === OP.localTee) writes.add(indexImmediate(node.bytes))
      else return code === OP.drop || code === OP.select || pure(node)
      return true
    }
    default:
      return false
  }
}

/** How an instruction runs again on a rewind, when it has no effect but its result (and a trap). */
type Rerun =
  /** The same result from the same inputs; never traps. */
  | 'exact'
  /** The same result from the same inputs; traps on some (division, truncation, a memory access). */
  | 'traps'
  /** A result that may differ (memory, a global, float bits); never traps. */
  | 'varies'
  /** May differ, and traps on some inputs: a load, whose address decides the trap. */
  | 'load'

function rerun(node: Node): Rerun | null {
  if (node.kind !== 'op') return null
  if (pure(node) || node.bytes[0] === OP.select) return 'exact'
  const code = node.bytes[0]!
  if (code >= 0x28 && code <= 0x35) return 'load'
  if ((code >= 0x6d && code <= 0x70) || (code >= 0x7f && code <= 0x82) || (code >= 0xa8 && code <= 0xb1)) return 'traps'
  if (
    code === OP.globalGet ||
    code === 0x3f || // memory.size
    (code >= 0x5b && code <= 0x66) || // float comparisons
    (code >= 0x8b && code <= 0xa6) || // float arithmetic
    (code >= 0xb2 && code <= 0xbf) // conversions to float, demote, promote, reinterpret
  ) {
    return 'varies'
  }
  return null
}

/** Whether `nodes`, run again from any locals, have no effect but their values and never trap. */
function cannotTrap(nodes: Node[]): boolean {
  return nodes.every((node) => rerun(node) === 'exact' || rerun(node) === 'varies')
}

/**
 * The shortest run of instructions at the end of `segment` that pushes
 * exactly the top `inputs` values without taking any from below it, and that
 * a rewind can run again right before the item, from the locals restored as
 * they were at the call: no effect but its results, and no trap the first run
 * did not take (what may trap does so only on inputs that are the same again).
 * The top `exact` values must come out as they did; the others may differ. Null
 * when there is none (or nothing to compute).
 */
function rerunTail(segment: Node[], inputs: number, exact: number): Node[] | null {
  if (inputs === 0) return null
  let first = segment.length
  while (first > 0 && rerun(segment[first - 1]!) !== null) first--
  for (let start = segment.length - 1; start >= first; start--) {
    // Whether each value the run pushed may differ on the rewind, bottom first.
    const varies: boolean[] = []
    let fits = true
    for (let k = start; k < segment.length && fits; k++) {
      const node = segment[k] as Node & { kind: 'op' }
      if (varies.length < node.pops.length) fits = false
      else {
        const from = varies.splice(varies.length - node.pops.length).some(Boolean)
        const kind = rerun(node)!
        if (from && (kind === 'traps' || kind === 'load')) fits = false
        const result = from || kind === 'varies' || kind === 'load'
        for (let n = 0; n < node.pushes.length; n++) varies.push(result)
      }
    }
    if (fits && varies.length === inputs && !varies.slice(inputs - exact).some(Boolean)) return segment.slice(start)
  }
  return null
}
