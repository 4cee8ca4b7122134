/*
 * The two ends of an instrumented body: the rewind prologue, which takes the
 * frame's record off the Asyncify stack and restores the saved locals, and
 * the unwind epilogue, which saves them and puts the record on. They are
 * made after every body of the module is instrumented: whether a run of
 * locals is copied by a shared function (frame-copies.ts) depends on how many
 * frames of the module have one like it.
 */
import { sleb } from '../../runtime-shim/wasm-writer.js'
import type { ByteWriter } from './decode.js'
import { DecodeUnsupported, type ValType } from './body.js'
import { MIN_RUN, runs, type FrameCopies } from './frame-copies.js'
import { LOAD, SIZE, STORE } from './value-types.js'

/** What an unwind saves of one function: kept for every body until the ends are made, so only this. */
export interface SavedFrame {
  /** The locals saved, in index order. */
  saved: number[]
  /** Their types, in the same order. */
  types: ValType[]
  /** The local holding the record's address. */
  ptr: number
  results: ValType[]
}

export interface AsyncifyGlobals {
  state: number
  data: number
}

/** Where the record holds each saved local, and its size. */
interface FrameRecord {
  /** Runs copied by a shared function, one after another from offset 0. */
  runs: { type: ValType; locals: number[] }[]
  /** The other locals, each at its offset after them. */
  offsets: Map<number, { type: ValType; offset: number }>
  size: number
}

/** The runs of locals of one type the frame could copy with a shared function. */
export function frameRuns(frame: SavedFrame): { type: ValType; count: number }[] {
  return [...byType(frame)].flatMap(([type, locals]) => (locals.length < MIN_RUN ? [] : runs(locals.length).map((count) => ({ type, count }))))
}

/**
 * Writes the prologue, then the epilogue, to `out` (with the runs `copies`
 * shares copied by its functions); returns where the epilogue starts.
 */
export function writeFrameCode(out: ByteWriter, frame: SavedFrame, globals: AsyncifyGlobals, copies: FrameCopies): number {
  const record = layout(frame, copies)
  rewindPrologue(out, frame, record, globals, copies)
  const epilogue = out.size
  unwindEpilogue(out, frame, record, globals, copies)
  return epilogue
}

function byType(frame: SavedFrame): Map<ValType, number[]> {
  const types = new Map<ValType, number[]>()
  for (let k = 0; k < frame.saved.length; k++) {
    const type = frame.types[k]!
    if (SIZE[type] === 0 || LOAD[type] < 0) throw new DecodeUnsupported(`a ${type} local cannot be saved`)
    const locals = types.get(type)
    if (locals) locals.push(frame.saved[k]!)
    else types.set(type, [frame.saved[k]!])
  }
  return types
}

function layout(frame: SavedFrame, copies: FrameCopies): FrameRecord {
  const chained: { type: ValType; locals: number[] }[] = []
  const shared = new Set<number>()
  for (const [type, locals] of byType(frame)) {
    if (locals.length < MIN_RUN) continue
    let from = 0
    for (const count of runs(locals.length)) {
      if (copies.shares(type, count)) {
        const run = locals.slice(from, from + count)
        chained.push({ type, locals: run })
        for (const local of run) shared.add(local)
      }
      from += count
    }
  }
  let size = chained.reduce((total, run) => total + run.locals.length * SIZE[run.type], 0)
  const offsets = new Map<number, { type: ValType; offset: number }>()
  for (let k = 0; k < frame.saved.length; k++) {
    const local = frame.saved[k]!
    if (shared.has(local)) continue
    const type = frame.types[k]!
    offsets.set(local, { type, offset: size })
    size += SIZE[type]
  }
  return { runs: chained, offsets, size }
}

const GLOBAL_GET = 0x23
const LOCAL_GET = 0x20
const LOCAL_SET = 0x21
const LOCAL_TEE = 0x22
const I32_LOAD = 0x28
const I32_STORE = 0x36
const I32_CONST = 0x41
const I32_ADD = 0x6a
const I32_SUB = 0x6b
const I32_LE_U = 0x4d
const CALL = 0x10
const DROP = 0x1a
const IF_EMPTY = [0x04, 0x40]
const END = 0x0b

const CONST: Record<ValType, number[]> = {
  i32: [0x41, 0],
  i64: [0x42, 0],
  f32: [0x43, 0, 0, 0, 0],
  f64: [0x44, 0, 0, 0, 0, 0, 0, 0, 0],
  v128: [],
  funcref: [],
  externref: [],
}

/** `if (state) { ptr = data.current -= size; restore }`: a function is entered normal or rewinding, never unwinding. */
function rewindPrologue(out: ByteWriter, frame: SavedFrame, record: FrameRecord, globals: AsyncifyGlobals, copies: FrameCopies): void {
  const { ptr } = frame
  out.byte(GLOBAL_GET)
  out.u32(globals.state)
  out.bytes(IF_EMPTY)
  out.byte(GLOBAL_GET)
  out.u32(globals.data)
  out.byte(GLOBAL_GET)
  out.u32(globals.data)
  out.bytes([I32_LOAD, 2, 0, I32_CONST, ...sleb(record.size), I32_SUB, LOCAL_TEE])
  out.u32(ptr)
  out.bytes([I32_STORE, 2, 0])
  if (record.runs.length > 0) {
    out.byte(LOCAL_GET)
    out.u32(ptr)
    for (const run of record.runs) {
      out.byte(CALL)
      out.u32(copies.restore(run.type, run.locals.length))
      for (let k = run.locals.length - 1; k >= 0; k--) {
        out.byte(LOCAL_SET)
        out.u32(run.locals[k]!)
      }
    }
    out.byte(DROP)
  }
  for (const [local, { type, offset }] of record.offsets) {
    out.byte(LOCAL_GET)
    out.u32(ptr)
    out.byte(LOAD[type])
    out.byte(0)
    out.u32(offset)
    out.byte(LOCAL_SET)
    out.u32(local)
  }
  out.byte(END)
}

/**
 * `ptr = data.current; if (ptr + size <= data.end) save; data.current = ptr + size`, then the results' zeros:
 * past the end nothing is written, but the position still moves on, so the runtime finds it past the end after the unwind.
 */
function unwindEpilogue(out: ByteWriter, frame: SavedFrame, record: FrameRecord, globals: AsyncifyGlobals, copies: FrameCopies): void {
  const { ptr } = frame
  out.byte(GLOBAL_GET)
  out.u32(globals.data)
  out.bytes([I32_LOAD, 2, 0, LOCAL_SET])
  out.u32(ptr)
  out.byte(LOCAL_GET)
  out.u32(ptr)
  out.bytes([I32_CONST, ...sleb(record.size), I32_ADD, GLOBAL_GET])
  out.u32(globals.data)
  out.bytes([I32_LOAD, 2, 4, I32_LE_U, ...IF_EMPTY])
  if (record.runs.length > 0) {
    out.byte(LOCAL_GET)
    out.u32(ptr)
    for (const run of record.runs) {
      for (const local of run.locals) {
        out.byte(LOCAL_GET)
        out.u32(local)
      }
      out.byte(CALL)
      out.u32(copies.save(run.type, run.locals.length))
    }
    out.byte(DROP)
  }
  for (const [local, { type, offset }] of record.offsets) {
    out.byte(LOCAL_GET)
    out.u32(ptr)
    out.byte(LOCAL_GET)
    out.u32(local)
    out.byte(STORE[type])
    out.byte(0)
    out.u32(offset)
  }
  out.byte(END)
  out.byte(GLOBAL_GET)
  out.u32(globals.data)
  out.byte(LOCAL_GET)
  out.u32(ptr)
  out.bytes([I32_CONST, ...sleb(record.size), I32_ADD, I32_STORE, 2, 0])
  for (const type of frame.results) out.bytes(CONST[type])
}
