/*
 * A function body as a tree, for instrumenting it without Binaryen.
 * Structured instructions hold their bodies; every other instruction keeps its
 * encoded bytes, with what it pops and pushes, so the instrumenter can re-emit
 * it as it was and knows the operand stack at every point.
 */
import type { ScannedModule } from '../scan.js'

export type ValType = 'i32' | 'i64' | 'f32' | 'f64' | 'v128' | 'funcref' | 'externref'

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
  /** Branch depths are relative, as in the binary. */
  | (Common & { kind: 'br' | 'br_if'; depth: number })
  | (Common & { kind: 'br_table'; depths: number[]; fallback: number })
  | (Common & { kind: 'call'; func: number; type: FuncType })
  | (Common & { kind: 'call_indirect'; typeIndex: number; table: number; type: FuncType })
  /** `return`, `unreachable`: the rest of the block is unreachable. */
  | (Common & { kind: 'return' | 'unreachable' })
  /** Anything else: its bytes (opcode and immediates) as read. */
  | (Common & { kind: 'op'; bytes: Uint8Array; pops: ValType[]; pushes: ValType[] })

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

/** What `moduleTypesOf` reads of a scan, with code or without. */
type ScannedSpaces = Pick<ScannedModule, 'types' | 'functions' | 'globals' | 'tables' | 'tags'>

/** What decoding a body needs from its module. */
export interface ModuleTypes {
  /** Function types by type index (null: not a function type). */
  types: (FuncType | null)[]
  /** Function index space: the type of each function, imports first. */
  functions: FuncType[]
  /** Global index space: type of each global. */
  globals: ValType[]
  /** Table index space: element type of each table. */
  tables: ValType[]
  /** Tag index space (imported first): the type of each tag, whose parameters a throw takes and a catch receives. */
  tags: FuncType[]
}

/** The index spaces of a scanned module, as decoding reads them. */
export function moduleTypesOf(scanned: ScannedSpaces): ModuleTypes {
  const functionType = (type: { params: string[]; results: string[] }): FuncType => ({ params: type.params as ValType[], results: type.results as ValType[] })
  return {
    types: scanned.types.map((type) => type && functionType(type)),
    functions: scanned.functions.map((fn) => functionType(fn.type)),
    globals: scanned.globals.map((global) => global.type as ValType),
    tables: scanned.tables as ValType[],
    tags: scanned.tags.map((index) => {
      const type = scanned.types[index]
      if (!type) throw new DecodeUnsupported(`a tag of type ${index}, not a function type`)
      return functionType(type)
    }),
  }
}

/** A body the decoder does not handle (an instruction outside its set): the caller falls back to Binaryen. */
export class DecodeUnsupported extends Error {
  override name = 'DecodeUnsupported'
}

/**
 * A local of a reference type that a frame's record must hold (live across a
 * site of function `fn`, a function index once its module says which body
 * this is): linear memory cannot hold a reference, so no Asyncify build can
 * save it, Binaryen's included.
 */
export class ReferenceSaved extends Error {
  override name = 'ReferenceSaved'
  constructor(
    readonly type: ValType,
    readonly fn: number | null = null,
  ) {
    super(`function ${fn ?? '?'} keeps a ${type} local across a site`)
  }
}

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
