/*
 * The two ends of an instrumented body: the rewind prologue, which takes the
 * frame's record off the Asyncify stack and restores the saved locals, and
 * the unwind epilogue, which saves them and puts the record on. They are
 * made after every body of the module is instrumented: whether a run of
 * locals is copied by a shared function (frame-copies.ts) depends on how many
 * frames of the module have one like it.
 */
import { leb, sleb } from '../../runtime-shim/wasm-writer.js'
import { DecodeUnsupported, type ValType } from './body.js'
import { MIN_RUN, runs, type FrameCopies } from './frame-copies.js'
import { LOAD, SIZE, STORE } from './value-types.js'

/** What an unwind saves of one function. */
export interface SavedFrame {
  /** Every local's type by index, parameters first. */
  types: ValType[]
  /** The locals saved, in index order. */
  saved: number[]
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
  offsets: Map<number, number>
  size: number
}

/** The runs of locals of one type the frame could copy with a shared function. */
export function frameRuns(frame: SavedFrame): { type: ValType; count: number }[] {
  return [...byType(frame)].flatMap(([type, locals]) => (locals.length < MIN_RUN ? [] : runs(locals.length).map((count) => ({ type, count }))))
}

/** The prologue and the epilogue, with the runs `copies` shares copied by its functions. */
export function frameCode(frame: SavedFrame, globals: AsyncifyGlobals, copies: FrameCopies): { prologue: number[]; epilogue: number[] } {
  const record = layout(frame, copies)
  return { prologue: rewindPrologue(frame, record, globals, copies), epilogue: unwindEpilogue(frame, record, globals, copies) }
}

function byType(frame: SavedFrame): Map<ValType, number[]> {
  const types = new Map<ValType, number[]>()
  for (const local of frame.saved) {
    const type = frame.types[local]!
    if (SIZE[type] === 0 || LOAD[type] < 0) throw new DecodeUnsupported(`a ${type} local cannot be saved`)
    types.set(type, [...(types.get(type) ?? []), local])
  }
  return types
}

function layout(frame: SavedFrame, copies: FrameCopies): FrameRecord {
  const chained: { type: ValType; locals: number[] }[] = []
  const single: number[] = []
  for (const [type, locals] of byType(frame)) {
    if (locals.length < MIN_RUN) {
      single.push(...locals)
      continue
    }
    let from = 0
    for (const count of runs(locals.length)) {
      const run = locals.slice(from, from + count)
      if (copies.shares(type, count)) chained.push({ type, locals: run })
      else single.push(...run)
      from += count
    }
  }
  let size = chained.reduce((total, run) => total + run.locals.length * SIZE[run.type], 0)
  const offsets = new Map<number, number>()
  for (const local of single.sort((a, b) => a - b)) {
    offsets.set(local, size)
    size += SIZE[frame.types[local]!]
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
function rewindPrologue(frame: SavedFrame, record: FrameRecord, globals: AsyncifyGlobals, copies: FrameCopies): number[] {
  const { ptr } = frame
  const data = leb(globals.data)
  const code = [GLOBAL_GET, ...leb(globals.state), ...IF_EMPTY]
  code.push(GLOBAL_GET, ...data, GLOBAL_GET, ...data, I32_LOAD, 2, 0, I32_CONST, ...sleb(record.size), I32_SUB)
  code.push(LOCAL_TEE, ...leb(ptr), I32_STORE, 2, 0)
  if (record.runs.length > 0) {
    code.push(LOCAL_GET, ...leb(ptr))
    for (const run of record.runs) {
      code.push(CALL, ...leb(copies.restore(run.type, run.locals.length)))
      for (const local of [...run.locals].reverse()) code.push(LOCAL_SET, ...leb(local))
    }
    code.push(DROP)
  }
  for (const [local, offset] of record.offsets) code.push(LOCAL_GET, ...leb(ptr), LOAD[frame.types[local]!], 0, ...leb(offset), LOCAL_SET, ...leb(local))
  code.push(END)
  return code
}

/**
 * `ptr = data.current; if (ptr + size <= data.end) save; data.current = ptr + size`, then the results' zeros:
 * past the end nothing is written, but the position still moves on, so the runtime finds it past the end after the unwind.
 */
function unwindEpilogue(frame: SavedFrame, record: FrameRecord, globals: AsyncifyGlobals, copies: FrameCopies): number[] {
  const { ptr } = frame
  const data = leb(globals.data)
  const code = [GLOBAL_GET, ...data, I32_LOAD, 2, 0, LOCAL_SET, ...leb(ptr)]
  code.push(LOCAL_GET, ...leb(ptr), I32_CONST, ...sleb(record.size), I32_ADD, GLOBAL_GET, ...data, I32_LOAD, 2, 4, I32_LE_U, ...IF_EMPTY)
  if (record.runs.length > 0) {
    code.push(LOCAL_GET, ...leb(ptr))
    for (const run of record.runs) {
      for (const local of run.locals) code.push(LOCAL_GET, ...leb(local))
      code.push(CALL, ...leb(copies.save(run.type, run.locals.length)))
    }
    code.push(DROP)
  }
  for (const [local, offset] of record.offsets) code.push(LOCAL_GET, ...leb(ptr), LOCAL_GET, ...leb(local), STORE[frame.types[local]!], 0, ...leb(offset))
  code.push(END)
  code.push(GLOBAL_GET, ...data, LOCAL_GET, ...leb(ptr), I32_CONST, ...sleb(record.size), I32_ADD, I32_STORE, 2, 0)
  for (const type of frame.results) code.push(...CONST[type])
  return code
}
