/*
 * Functions the instrumented bodies share to save and restore runs of locals
 * of one type: a frame with many locals calls one per run of up to
 * `MAX_RUN` instead of a load or store with its address per local (2 bytes
 * per local instead of 7, each way). A save takes the address and the values
 * and returns the address after them, a restore takes the address and
 * returns the address after them and the values (a multi-value result), so
 * the runs of a frame chain on the operand stack. Only the ones that pay for
 * themselves in the module are made, appended after `first`.
 */
import { leb, sleb } from '../../runtime-shim/wasm-writer.js'
import type { ValType } from './body.js'
import { LOAD, SIZE, STORE } from './value-types.js'

/** Runs shorter than this stay inline: a call would save no bytes worth its cost at every unwind. */
export const MIN_RUN = 4
export const MAX_RUN = 8

export interface FrameCopies {
  /** Whether runs of `count` locals of `type` are copied by a shared function. */
  shares(type: ValType, count: number): boolean
  /** The function that stores `count` values of `type` from an address: (address, values) -> the address after them. */
  save(type: ValType, count: number): number
  /** The function that loads them: (address) -> (the address after them, values). */
  restore(type: ValType, count: number): number
}

export interface AppendedFunction {
  name: null
  type: number
  code: number[]
}

/**
 * The functions of a module: a run is shared when the frames that have one
 * like it save more bytes (2 * (5n - 3) each, against a store and a load with
 * an address per local) than its two functions and their types cost (about
 * 14n + 32).
 */
export class FrameCopyFunctions implements FrameCopies {
  private readonly made = new Map<string, number>()
  private readonly uses = new Map<string, number>()
  readonly functions: AppendedFunction[] = []

  constructor(
    private readonly first: number,
    private readonly typeOf: (params: ValType[], results: ValType[]) => number,
  ) {}

  /** Whether any restore was made: the module then has multi-value results. */
  get multiValue(): boolean {
    return [...this.made.keys()].some((key) => key.startsWith('restore'))
  }

  /** A frame has a run of `count` locals of `type`: counted before any is made. */
  note(type: ValType, count: number): void {
    const key = `${type} ${count}`
    this.uses.set(key, (this.uses.get(key) ?? 0) + 1)
  }

  shares(type: ValType, count: number): boolean {
    return (this.uses.get(`${type} ${count}`) ?? 0) * (10 * count - 6) > 14 * count + 32
  }

  save(type: ValType, count: number): number {
    return this.make(`save ${type} ${count}`, () => {
      const code: number[] = []
      for (let k = 0; k < count; k++) code.push(0x20, 0, 0x20, ...leb(k + 1), STORE[type], 0, ...leb(k * SIZE[type]))
      code.push(...after(type, count))
      return { type: this.typeOf(['i32', ...repeat(type, count)], ['i32']), code }
    })
  }

  restore(type: ValType, count: number): number {
    return this.make(`restore ${type} ${count}`, () => {
      const code = after(type, count)
      for (let k = 0; k < count; k++) code.push(0x20, 0, LOAD[type], 0, ...leb(k * SIZE[type]))
      return { type: this.typeOf(['i32'], ['i32', ...repeat(type, count)]), code }
    })
  }

  private make(key: string, build: () => { type: number; code: number[] }): number {
    let index = this.made.get(key)
    if (index === undefined) {
      index = this.first + this.functions.length
      this.functions.push({ name: null, ...build() })
      this.made.set(key, index)
    }
    return index
  }
}

/** The sizes `count` locals split into: as even as can be, none over MAX_RUN. */
export function runs(count: number): number[] {
  const parts = Math.ceil(count / MAX_RUN)
  return Array.from({ length: parts }, (_, k) => Math.floor(count / parts) + (k < count % parts ? 1 : 0))
}

/** `address + count * size`: the address after the run. */
function after(type: ValType, count: number): number[] {
  return [0x20, 0, 0x41, ...sleb(count * SIZE[type]), 0x6a]
}

function repeat(type: ValType, count: number): ValType[] {
  return Array.from({ length: count }, () => type)
}
