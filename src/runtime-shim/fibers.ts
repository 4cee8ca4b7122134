/*
 * Fibers on the Asyncify path (include/asyncify.h; transform/fibers.ts adds
 * the entry export). What each fiber is, its handle, and the memory the
 * runtime gives fibers created without stacks of their own. The switching
 * itself is the Asyncify driver's (asyncify-driver.ts).
 *
 * Two kinds of fiber:
 *   - a call's own context: the export call's original stack, whose bottom
 *     frame is the export. Its Asyncify data lives where a suspended call's
 *     does (the driver's region), and only code running in that call can
 *     switch back to it, because rewinding it means calling that export again.
 *   - a created fiber: `entry(arg)` on its own C stack, with its own Asyncify
 *     buffer in linear memory, rewound by calling the entry export again.
 *     Any call may run it, one at a time.
 * States: new (never ran), ready (switched away from), running (on some
 * call's stack now), waiting (its call waits for a Promise), finished (it
 * returned, or an exception left it).
 */
import { AsyncifyError } from './errors.js'
import type { OwnedMemory } from './owned-memory.js'

export type FiberState = 'new' | 'ready' | 'running' | 'waiting' | 'finished'

/** Asyncify's data header: `{ u32 cur, u32 end }`, then the saved stack. */
export const HEADER = 8

export interface Fiber<Call = unknown> {
  readonly handle: number
  /** The call whose own context this is; null for a created fiber. */
  readonly main: Call | null
  /** A created fiber's entry: a function table index and its argument. */
  readonly entry: number
  readonly arg: number
  state: FiberState
  /** Its C stack pointer while it does not run (a created fiber's starts at its stack's top). */
  sp: number
  /** The import its last unwind started at: its next rewind must end there. */
  suspendedAt: string
  /** A created fiber's Asyncify buffer, header included: `[start, end)`. */
  readonly buffer: { start: number; end: number }
  /** Where its saved data ends while it does not run. */
  dataEnd: number
  /** The fiber that switched to it last: where control goes when it returns. */
  resumer: Fiber<Call> | null
  /** What the runtime allocated for it, given back when it is freed. */
  readonly owned: { stack: number; stackSize: number; buffer: number; bufferSize: number } | null
}

/** A C stack and an Asyncify buffer, as `fiber_create` receives them (null: the runtime allocates). */
export interface FiberMemory {
  stack: number | null
  stackSize: number
  buffer: number | null
  bufferSize: number
}

/** clang keeps the C stack 16-byte aligned. */
const STACK_ALIGN = 16

export class FiberTable<Call> {
  private readonly fibers = new Map<number, Fiber<Call>>()
  private nextHandle = 1
  /** Blocks of freed fibers by size, reused before taking more memory. */
  private readonly pool = new Map<number, number[]>()

  constructor(
    private readonly label: string,
    private readonly owned: () => OwnedMemory,
  ) {}

  /** Live fibers (not freed), call contexts included. */
  get size(): number {
    return this.fibers.size
  }

  contextOf(call: Call): Fiber<Call> {
    return this.add({ main: call, entry: 0, arg: 0, state: 'running', sp: 0, buffer: { start: 0, end: 0 }, owned: null })
  }

  create(entry: number, arg: number, memory: FiberMemory): Fiber<Call> {
    if (entry === 0) throw invalid(this.label, 'fiber_create got a null entry function')
    const stackSize = alignDown(memory.stackSize, STACK_ALIGN)
    if (stackSize < 256 || memory.bufferSize < HEADER + 64) {
      throw invalid(
        this.label,
        `fiber_create got a C stack of ${memory.stackSize} bytes and an Asyncify buffer of ${memory.bufferSize}; ` +
          `give at least 256 and ${HEADER + 64} bytes, or 0 for the defaults`,
      )
    }
    const stack = memory.stack ?? this.take(stackSize, 'a fiber\'s C stack')
    const buffer = memory.buffer ?? this.take(memory.bufferSize, 'a fiber\'s Asyncify buffer')
    const owned =
      memory.stack === null || memory.buffer === null
        ? { stack: memory.stack === null ? stack : 0, stackSize, buffer: memory.buffer === null ? buffer : 0, bufferSize: memory.bufferSize }
        : null
    return this.add({
      main: null,
      entry,
      arg,
      state: 'new',
      sp: alignDown(stack + stackSize, STACK_ALIGN),
      buffer: { start: buffer, end: buffer + memory.bufferSize },
      owned,
    })
  }

  /** The fiber of `handle`, or a coded error naming what the program did. */
  get(handle: number, what: string): Fiber<Call> {
    const fiber = this.fibers.get(handle)
    if (!fiber) throw invalid(this.label, `${what} got ${handle}, which is no fiber (never created, or freed)`)
    return fiber
  }

  /** Gives back a fiber that does not run; a call's context goes when its call ends (`end`). */
  free(fiber: Fiber<Call>): void {
    if (fiber.main !== null) {
      throw invalid(this.label, `fiber_free got fiber ${fiber.handle}, an export call's own context, which ends when that call returns`)
    }
    if (fiber.state === 'running' || fiber.state === 'waiting') {
      throw new AsyncifyError(
        'ASYNCIFY_FIBER_BUSY',
        `${this.label}: fiber_free got fiber ${fiber.handle}, which is ${fiber.state === 'running' ? 'running' : 'waiting for a Promise'}; ` +
          `switch away from it, or let it return, before freeing it`,
      )
    }
    this.end(fiber)
  }

  /** The fiber will never run again: its handle and what the runtime allocated for it are given back. */
  end(fiber: Fiber<Call>): void {
    fiber.state = 'finished'
    if (!this.fibers.delete(fiber.handle) || !fiber.owned) return
    const { stack, stackSize, buffer, bufferSize } = fiber.owned
    if (stack !== 0) this.spare(stackSize).push(stack)
    if (buffer !== 0) this.spare(bufferSize).push(buffer)
  }

  private add(fields: Omit<Fiber<Call>, 'handle' | 'suspendedAt' | 'dataEnd' | 'resumer'>): Fiber<Call> {
    const fiber: Fiber<Call> = { handle: this.nextHandle++, suspendedAt: '', dataEnd: 0, resumer: null, ...fields }
    this.fibers.set(fiber.handle, fiber)
    return fiber
  }

  private take(bytes: number, purpose: string): number {
    return this.spare(bytes).pop() ?? this.owned().allocate(bytes, STACK_ALIGN, purpose)
  }

  private spare(bytes: number): number[] {
    let list = this.pool.get(bytes)
    if (!list) this.pool.set(bytes, (list = []))
    return list
  }
}

export function invalid(label: string, problem: string): AsyncifyError {
  return new AsyncifyError('ASYNCIFY_FIBER_INVALID', `${label}: ${problem}`)
}

function alignDown(value: number, align: number): number {
  return value - (value % align)
}
