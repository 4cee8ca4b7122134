/*
 * The record an instrumented function's frame writes to the Asyncify stack at
 * an unwind and reads back at a rewind: its saved locals, one after another.
 *
 * Written into each function (the default), a record costs about 15 bytes
 * per local and 31 per function.
 * With `optimize: 's'` or `'z'` the functions whose records hold
 * the same types share two helper functions appended to the module instead:
 * `save` takes the locals as arguments and writes the record, `restore` takes
 * it off the stack and returns them: 2 bytes per local and 3 per call. The
 * price is a call per frame at each unwind and each rewind, which engines
 * that do not inline wasm calls pay (Node 20: one suspension at depth 20 went
 * from about 220 to 285 ns with every record written by helpers; Chromium
 * 156 unchanged). A record type only one function uses stays in place,
 * where it is smaller.
 *
 * Returning several values is the multi-value feature, and the output keeps
 * to the input's features (read.ts): in a module that may not use it, a
 * `restore` for more than one local returns the record's address, and the
 * function loads its locals from there itself.
 *
 * Layout and semantics are those of Binaryen's Asyncify, with the stack's
 * `{ u32 cur, u32 end }` in two globals while an unwind or a rewind runs (the
 * API copies them from and back to memory, module.ts): a save writes at
 * `cur` when the record fits below `end` and moves `cur` on either way (the
 * runtime finds it past `end` after the unwind: an overflow, reported, never
 * a write past the end), and a restore moves `cur` back and reads the record
 * there.
 */
import { leb, sleb } from '../../runtime-shim/wasm-writer.js'
import { ReferenceSaved, type ValType } from './body.js'
import { TYPE_CODES } from './decode.js'

/** The opcode of the load and of the store of a saved local, by type; a memarg follows (alignment 0, the offset). */
export const LOAD: Partial<Record<ValType, number[]>> = { i32: [0x28], i64: [0x29], f32: [0x2a], f64: [0x2b], v128: [0xfd, 0x00] }
export const STORE: Partial<Record<ValType, number[]>> = { i32: [0x36], i64: [0x37], f32: [0x38], f64: [0x39], v128: [0xfd, 0x0b] }
const SIZE: Partial<Record<ValType, number>> = { i32: 4, i64: 8, f32: 4, f64: 8, v128: 16 }

/** Record order for shared helpers (`typeOrder`). */
const RANK: Partial<Record<ValType, number>> = { i32: 0, i64: 1, f32: 2, f64: 3, v128: 4 }

const [LOCAL_GET, LOCAL_TEE, GLOBAL_GET, GLOBAL_SET, I32_CONST, I32_ADD, I32_SUB, I32_LE_U, IF, VOID, END] = [
  0x20, 0x22, 0x23, 0x24, 0x41, 0x6a, 0x6b, 0x4d, 0x04, 0x40, 0x0b,
]

/** `locals` ordered by type, so that functions saving as many locals of each type have records of the same types. */
export function typeOrder(locals: number[], typeOfLocal: (local: number) => ValType): number[] {
  const rank = (local: number) => RANK[typeOfLocal(local)] ?? Number.MAX_SAFE_INTEGER
  return [...locals].sort((a, b) => rank(a) - rank(b) || a - b)
}

/** Where each local of a record lives (its offset, in record order), and the record's size. */
export interface RecordLayout {
  offsets: number[]
  size: number
}

/** The layout of a record of locals of `types`. */
export function recordLayout(types: ValType[]): RecordLayout {
  const offsets: number[] = []
  let size = 0
  for (const type of types) {
    const bytes = SIZE[type]
    if (bytes === undefined) throw new ReferenceSaved(type)
    offsets.push(size)
    size += bytes
  }
  return { offsets, size }
}

/** A function appended to the module: its type index and its body's bytes (local declarations to `end`). */
export interface AppendedFunction {
  type: number
  body: number[] | Uint8Array
}

export interface FrameHelpers {
  save: number
  restore: number
  /** Each local's offset in the record when `restore` returns the record's address, not the locals; else null. */
  offsets: number[] | null
}

/** The shared helpers of a module, made as the instrumenter asks for them. */
export class FrameRecords {
  private readonly byTypes = new Map<string, FrameHelpers>()
  /** How many functions' records hold each list of types (`count`). */
  private readonly uses = new Map<string, number>()
  /** The helpers, in function-index order from `first`. */
  readonly functions: AppendedFunction[] = []
  /** Whether a helper returns several values. */
  multiValue = false

  constructor(
    /** The function index the first helper gets. */
    private readonly first: number,
    /** The globals that hold the Asyncify stack's position and end while an unwind or a rewind runs (instrument.ts). */
    private readonly globals: { cur: number; end: number },
    private readonly typeOf: (params: ValType[], results: ValType[]) => number,
    /** Whether the output may use multi-value. */
    private readonly multiValueAllowed: boolean,
  ) {}

  /** A function's record holds `types` (in record order). */
  count(types: ValType[]): void {
    const key = types.join()
    this.uses.set(key, (this.uses.get(key) ?? 0) + 1)
  }

  /**
   * The helpers for a record of `types` (in record order, at least one), or
   * null when it is written in place: a record type only one function uses
   * costs less in place than its helpers do.
   */
  helpers(types: ValType[]): FrameHelpers | null {
    const key = types.join()
    if ((this.uses.get(key) ?? 0) < 2) return null
    const known = this.byTypes.get(key)
    if (known) return known
    const { offsets, size } = recordLayout(types)
    const cur = leb(this.globals.cur)
    const address = leb(types.length)
    // One i32 local after the parameters: the record's address.
    const save = [
      1, 1, TYPE_CODES.i32,
      GLOBAL_GET, ...cur, LOCAL_TEE, ...address, I32_CONST, ...sleb(size), I32_ADD, GLOBAL_SET, ...cur,
      GLOBAL_GET, ...cur, GLOBAL_GET, ...leb(this.globals.end), I32_LE_U,
      IF, VOID,
      ...types.flatMap((type, k) => [LOCAL_GET, ...address, LOCAL_GET, ...leb(k), ...STORE[type]!, 0, ...leb(offsets[k]!)]),
      END,
      END,
    ]
    const values = types.length === 1 || this.multiValueAllowed
    const restore = [
      1, 1, TYPE_CODES.i32,
      GLOBAL_GET, ...cur, I32_CONST, ...sleb(size), I32_SUB, LOCAL_TEE, 0, GLOBAL_SET, ...cur,
      ...(values ? types.flatMap((type, k) => [LOCAL_GET, 0, ...LOAD[type]!, 0, ...leb(offsets[k]!)]) : [LOCAL_GET, 0]),
      END,
    ]
    const index = this.first + this.functions.length
    const helpers = { save: index, restore: index + 1, offsets: values ? null : offsets }
    this.functions.push({ type: this.typeOf(types, []), body: save }, { type: this.typeOf([], values ? types : ['i32']), body: restore })
    if (values && types.length > 1) this.multiValue = true
    this.byTypes.set(key, helpers)
    return helpers
  }
}
