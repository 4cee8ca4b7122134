/*
 * A function body as a tree, for instrumenting it without Binaryen.
 * Structured instructions hold their bodies; every other instruction keeps its
 * encoded bytes, with what it pops and pushes, so the instrumenter can re-emit
 * it as it was and knows the operand stack at every point.
 */

/**
 * A value type: a number type, or a reference. `funcref` and `externref` go
 * by those names; any other reference is `(ref null H)` or `(ref H)`, H a
 * type index or an abstract heap type's name (`(ref null any)`, `(ref 3)`).
 * `'ref'` is a reference whose exact type the decoder cannot see (an operand
 * in unreachable code): it is never written back, and no record can hold it.
 */
export type ValType = 'i32' | 'i64' | 'f32' | 'f64' | 'v128' | 'funcref' | 'externref' | 'ref' | `(ref ${string})`

export interface FuncType {
  params: ValType[]
  results: ValType[]
}

/** Operand stack effects are exact only in reachable code; `Node.dead` marks the rest. */
interface Common {
  /** The operand stack of the innermost block before this instruction (bottom first); null when unreachable. */
  before: ValType[] | null
  /** Where the instruction starts in the input body (its local declarations included); absent on instructions added. */
  at?: number
}

export type Node =
  | (Common & { kind: 'block' | 'loop'; type: FuncType; typeBytes: Uint8Array; body: Node[] })
  | (Common & { kind: 'if'; type: FuncType; typeBytes: Uint8Array; then: Node[]; else: Node[] | null })
  /**
   * A legacy `try` (exception handling): its body, then its handlers (run
   * with the try's label open, as its body is), or a `delegate` to the
   * handlers of the label that many levels out of the try.
   */
  | (Common & { kind: 'try'; type: FuncType; typeBytes: Uint8Array; body: Node[]; catches: Catch[]; delegate: number | null })
  /** `throw` (its tag's parameters popped), `rethrow` (of the exception the try `depth` levels out caught): the rest of the block is unreachable. */
  | (Common & { kind: 'throw'; tag: number; type: FuncType })
  | (Common & { kind: 'rethrow'; depth: number })
  /** Branch depths are relative, as in the binary. A `br_if` with `on` is a reference's test (`br_on_null` and the like). */
  | (Common & { kind: 'br' | 'br_if'; depth: number; on?: BranchOn })
  | (Common & { kind: 'br_table'; depths: number[]; fallback: number })
  | (Common & { kind: 'call'; func: number; type: FuncType })
  | (Common & { kind: 'call_indirect'; typeIndex: number; table: number; type: FuncType })
  /** `return`, `unreachable`: the rest of the block is unreachable. */
  | (Common & { kind: 'return' | 'unreachable' })
  /** Anything else: its bytes (opcode and immediates) as read. */
  | (Common & { kind: 'op'; bytes: Uint8Array; pops: ValType[]; pushes: ValType[] })

/**
 * `br_on_null`, `br_on_non_null`, `br_on_cast` or `br_on_cast_fail`: a
 * conditional branch on a reference, with its bytes before the label (opcode,
 * flags) and after it (heap types), and what it takes and leaves when not taken.
 */
export interface BranchOn {
  opcode: Uint8Array
  immediates: Uint8Array
  pops: ValType[]
  pushes: ValType[]
}

/** A legacy `catch` (the tag's parameters on the stack at its start) or, with no tag, `catch_all`. */
export interface Catch {
  tag: number | null
  body: Node[]
  /** Where its `catch` or `catch_all` starts in the input body. */
  at?: number
}

export interface DecodedBody {
  /** Declared locals, after the parameters, one entry per local. */
  locals: ValType[]
  body: Node[]
}

/** What decoding a body needs from its module. */
export interface ModuleTypes {
  /** Function types by type index (null: not a function type). */
  types: (FuncType | null)[]
  /** By type index, a struct's field types or an array's element type, packed ones read as `i32`; null for function types. */
  fields: (ValType[] | null)[]
  /** Function index space: the type of each function, imports first. */
  functions: FuncType[]
  /** Global index space: type of each global. */
  globals: ValType[]
  /** Table index space: element type of each table. */
  tables: ValType[]
  /** Tag index space (imported first): the type of each tag, whose parameters a throw takes and a catch receives. */
  tags: FuncType[]
}

/** A body the decoder does not handle (an instruction outside its set): the caller falls back to Binaryen. */
export class DecodeUnsupported extends Error {
  override name = 'DecodeUnsupported'
}

/**
 * A reference that an Asyncify build would have to keep or make, in function
 * `fn` (a function index, once its module says which body this is): a local
 * of a reference type live across a site, which linear memory cannot hold
 * (Binaryen's pass cannot either); or, `held` being `'result'`, a result of
 * a type that cannot be null, which the function has no value of to return
 * while it unwinds.
 */
export class ReferenceSaved extends Error {
  override name = 'ReferenceSaved'
  constructor(
    readonly type: ValType,
    readonly fn: number | null = null,
    readonly held: ReferenceHeld = 'local',
  ) {
    super(`function ${fn ?? '?'} would keep a ${type} (${held}) across a suspension`)
  }
}

/** What reference an Asyncify build would have to keep: see ReferenceSaved. */
export type ReferenceHeld = 'local' | 'result'

/**
 * A direct call of a function that can suspend (`callee`) inside a legacy
 * catch block of `caller` (function indices; the caller's known once its
 * module says which body this is): no Asyncify build can resume there.
 */
export class SuspensionInHandler extends Error {
  override name = 'SuspensionInHandler'
  constructor(
    readonly callee: number,
    readonly caller: number | null = null,
  ) {
    super(`function ${caller ?? '?'} calls function ${callee}, which can suspend, inside a catch block`)
  }
}
