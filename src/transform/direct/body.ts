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
  /** Branch depths are relative, as in the binary. */
  | (Common & { kind: 'br' | 'br_if'; depth: number })
  | (Common & { kind: 'br_table'; depths: number[]; fallback: number })
  | (Common & { kind: 'call'; func: number; type: FuncType })
  | (Common & { kind: 'call_indirect'; typeIndex: number; table: number; type: FuncType })
  /** `return`, `unreachable`: the rest of the block is unreachable. */
  | (Common & { kind: 'return' | 'unreachable' })
  /** Anything else: its bytes (opcode and immediates) as read. */
  | (Common & { kind: 'op'; bytes: Uint8Array; pops: ValType[]; pushes: ValType[] })

export interface DecodedBody {
  /** Declared locals, after the parameters, one entry per local. */
  locals: ValType[]
  body: Node[]
}

/** What `moduleTypesOf` reads of a scan, with code or without. */
type ScannedSpaces = Pick<ScannedModule, 'types' | 'functions' | 'globals' | 'tables'>

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
}

/** The index spaces of a scanned module, as decoding reads them. */
export function moduleTypesOf(scanned: ScannedSpaces): ModuleTypes {
  const functionType = (type: { params: string[]; results: string[] }): FuncType => ({ params: type.params as ValType[], results: type.results as ValType[] })
  return {
    types: scanned.types.map((type) => type && functionType(type)),
    functions: scanned.functions.map((fn) => functionType(fn.type)),
    globals: scanned.globals.map((global) => global.type as ValType),
    tables: scanned.tables as ValType[],
  }
}

/** A body the decoder does not handle (an instruction outside its set): the caller falls back to Binaryen. */
export class DecodeUnsupported extends Error {
  override name = 'DecodeUnsupported'
}
