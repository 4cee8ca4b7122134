/*
 * The Asyncify driver: runs suspending exports, turns a Promise returned by an
 * async import into an unwind, and rewinds when it settles.
 *
 * States (Binaryen's `__asyncify_state`, mirrored here without asking wasm):
 *   normal     wasm runs as compiled.
 *   unwinding  an async import returned a thenable: we called
 *              `asyncify_start_unwind`, the import returned a placeholder of its
 *              result type, and every instrumented frame saves its locals to the
 *              Asyncify stack and returns, up to the export we called.
 *   rewinding  the thenable settled: we called `asyncify_start_rewind` and the
 *              same export again; frames restore their locals and re-enter the
 *              call they left, down to the import, which calls
 *              `asyncify_stop_rewind` and returns the settled value (or throws
 *              the rejection at the call site).
 *
 * Memory. One scratch region `[start, start + 8 + stackSize)` holds the Asyncify
 * data `{ i32 cur, i32 end }` followed by the Asyncify stack. By default it is
 * made with `memory.grow` on the first suspension, so it lies above every page
 * the program's allocator (sbrk/dlmalloc, which only uses pages it grew itself)
 * can hand out, and its slack up to the end of memory absorbs overflow: Binaryen
 * only checks the bound after an unwind has finished, so an overflow first
 * writes past `end`. Past the end of memory the write traps instead, which we
 * report as AsyncifyStackOverflowError. If the program grew memory after us and
 * an overflow wrote beyond our pages, its heap may be damaged: the instance is
 * poisoned and every later suspending call rejects.
 *
 * Overlap. Calls may suspend and resume in any order, and an import may call
 * another export (nested, while wasm is on the JS stack). Each call owns two
 * pieces of state while suspended:
 *   - its Asyncify data: it stays in the scratch region until another call
 *     needs the region, which first copies it out (`evict`); a resume copies it
 *     back. The common single-call case never copies.
 *   - its C shadow-stack frames (`__stack_pointer` in clang and Rust output):
 *     unwinding skips the epilogues, so the frames below the pointer stay live,
 *     and an import may still write into them (`read(fd, buf, n)` with `buf` on
 *     the stack fills it after its await). So they never move: a call runs on
 *     the program's own stack when no suspended call holds it, and otherwise
 *     on a stack of its own (`shadowStackSize` bytes, made with `memory.grow`
 *     like the Asyncify region and reused). While a suspended call holds the
 *     program's stack, the pointer rests just below its frames, so synchronous
 *     exports called meanwhile run below them. The driver owns the pointer at
 *     every entry into and exit from a suspending export: it points it at the
 *     call's stack on the way in and back at the caller's (or at the resting
 *     place) on the way out.
 *
 * Failure. A rejection is thrown into wasm at the import's call site; any
 * exception that leaves the export (a rejection, a throwing import, a trap)
 * puts the Asyncify state back to normal and the shadow-stack pointer back to
 * its value at entry, so nothing leaks and the instance stays usable.
 */
import { AsyncifyError, AsyncifyStackOverflowError } from './errors.js'

const PAGE = 65536
const HEADER = 8
/** `Call.stack` values besides the top address of one of the driver's stacks. */
const UNASSIGNED = -1
const MAIN = 0

/** A caller-chosen home for the Asyncify data, instead of pages grown at the end of memory. */
export interface StackRegion {
  /** Address of 8 + size bytes that the program never touches. */
  start: number
  size: number
}

export interface DriverOptions {
  label: string
  stackSize: number
  stackRegion: StackRegion | undefined
  /** Bytes of C stack for a call that overlaps another one. */
  shadowStackSize: number
}

/** The functions the Asyncify pass exports. */
export interface AsyncifyExports {
  asyncify_start_unwind(data: number): void
  asyncify_stop_unwind(): void
  asyncify_start_rewind(data: number): void
  asyncify_stop_rewind(): void
}

interface Call {
  /** Set by the import that started the current unwind. */
  pending: PromiseLike<unknown> | null
  value: unknown
  error: unknown
  failed: boolean
  /** Where this call's C stack pointer is: its top before the first entry, its depth while suspended. */
  sp: number
  /** The C stack this call runs on: the program's own (`MAIN`), or one of the driver's. */
  stack: number
  /** End of this call's Asyncify data while it sits in the scratch region. */
  dataEnd: number
  /** This call's Asyncify data once evicted from the scratch region. */
  data: Uint8Array | null
}

/** A snapshot of the driver's state, from `asyncifyStats(instance)`. */
export interface AsyncifyStats {
  /** Calls that are suspended on a Promise now. */
  suspendedCalls: number
  /** Value of the C shadow-stack pointer, or null when the module has none. */
  stackPointer: number | null
  /** Bytes of Asyncify stack held in the scratch region by a suspended call. */
  asyncifyStackUsed: number
}

type WasmFunction = (...args: unknown[]) => unknown

export function isThenable(value: unknown): value is PromiseLike<unknown> {
  return (
    value !== null &&
    (typeof value === 'object' || typeof value === 'function') &&
    typeof (value as { then?: unknown }).then === 'function'
  )
}

export class AsyncifyDriver {
  private readonly active: Call[] = []
  private rewinding: Call | null = null
  private regionStart = -1
  private regionEnd = -1
  /** End of the pages that belong to the region (its slack ends here). */
  private regionTop = -1
  private owner: Call | null = null
  private suspended = 0
  /** The program's stack pointer with no call on it, and the call that holds that stack. */
  private restSp = 0
  private mainHolder: Call | null = null
  /** Tops of the driver's own C stacks that no call holds. */
  private readonly freeStacks: number[] = []
  private poisoned: AsyncifyError | null = null

  private api!: AsyncifyExports
  private memory: WebAssembly.Memory | null = null
  private stackPointer: WebAssembly.Global | null = null

  /** Imports are wrapped before the instance exists; `attach` completes the driver once it does. */
  constructor(private readonly options: DriverOptions) {}

  attach(api: AsyncifyExports, memory: WebAssembly.Memory | null, stackPointer: WebAssembly.Global | null): void {
    this.api = api
    this.memory = memory
    this.stackPointer = stackPointer
    if (stackPointer) this.restSp = stackPointer.value as number
  }

  /** Wraps an async-listed import: a thenable result suspends the wasm. */
  asyncImport(fn: WasmFunction, placeholder: unknown, importName: string): WasmFunction {
    return (...args) => {
      const resumed = this.rewinding
      if (resumed !== null) {
        this.rewinding = null
        this.api.asyncify_stop_rewind()
        if (resumed.failed) throw resumed.error
        return resumed.value
      }
      const result = fn(...args)
      if (!isThenable(result)) return result
      const call = this.active[this.active.length - 1]
      if (call === undefined) {
        throw new AsyncifyError(
          'ASYNCIFY_SUSPEND_OUTSIDE_CALL',
          `${this.options.label}: import "${importName}" returned a Promise outside of a suspending export call ` +
            `(during instantiation, or through a table function called from JS); ` +
            `it can only suspend when wasm was entered through an export of instance.exports`,
        )
      }
      this.startUnwind(call, result)
      return placeholder
    }
  }

  /** Wraps an export that can reach an async import; it always returns a Promise. */
  suspendingExport(fn: WasmFunction): (...args: unknown[]) => Promise<unknown> {
    return (...args) => {
      if (this.poisoned) return Promise.reject(this.poisoned)
      const call: Call = {
        pending: null,
        value: undefined,
        error: undefined,
        failed: false,
        sp: -1,
        stack: UNASSIGNED,
        dataEnd: 0,
        data: null,
      }
      let result: unknown
      try {
        result = this.enter(call, fn, args)
      } catch (error) {
        return Promise.reject(error)
      }
      if (call.pending === null) return Promise.resolve(result)
      return this.settle(call, fn, args)
    }
  }

  /** What the driver holds now; with no call suspended, everything is back where it started. */
  stats(): AsyncifyStats {
    return {
      suspendedCalls: this.suspended,
      stackPointer: this.stackPointer ? (this.stackPointer.value as number) : null,
      asyncifyStackUsed: this.owner === null ? 0 : this.owner.dataEnd - (this.regionStart + HEADER),
    }
  }

  private async settle(call: Call, fn: WasmFunction, args: unknown[]): Promise<unknown> {
    let result: unknown
    while (call.pending !== null) {
      const pending = call.pending
      call.pending = null
      try {
        call.value = await pending
        call.failed = false
      } catch (error) {
        call.error = error
        call.failed = true
      }
      if (this.poisoned) throw this.poisoned
      this.startRewind(call)
      result = this.enter(call, fn, args)
    }
    return result
  }

  /** Runs `fn` for `call` until it returns or finishes unwinding. */
  private enter(call: Call, fn: WasmFunction, args: unknown[]): unknown {
    const sp = this.stackPointer
    const outerSp = sp ? (sp.value as number) : 0
    if (sp) {
      if (call.stack === UNASSIGNED) this.assignStack(call)
      sp.value = call.sp
    }
    this.active.push(call)
    let result: unknown
    try {
      result = fn(...args)
    } catch (error) {
      this.active.pop()
      throw this.recover(call, outerSp, error)
    }
    this.active.pop()
    if (call.pending !== null) {
      try {
        this.finishUnwind(call)
      } catch (error) {
        this.leave(call, outerSp, true)
        throw error
      }
    }
    this.leave(call, outerSp, call.pending === null)
    return result
  }

  /** The program's stack when no call holds it, else one of the driver's. */
  private assignStack(call: Call): void {
    if (this.mainHolder === null) {
      this.mainHolder = call
      call.stack = MAIN
      call.sp = this.restSp
      return
    }
    call.stack = this.freeStacks.pop() ?? this.reserve(this.options.shadowStackSize, 'a C stack for overlapping calls').end
    call.sp = call.stack
  }

  /** Points the C stack pointer back at the caller, or at its resting place; frees the call's stack when it is done. */
  private leave(call: Call, outerSp: number, done: boolean): void {
    const sp = this.stackPointer
    if (!sp) return
    if (done) {
      if (call.stack === MAIN) this.mainHolder = null
      else if (call.stack !== UNASSIGNED) this.freeStacks.push(call.stack)
      call.stack = UNASSIGNED
    } else {
      call.sp = sp.value as number
    }
    if (this.active.length > 0) sp.value = outerSp
    else sp.value = this.mainHolder === null ? this.restSp : this.mainHolder.sp
  }

  private startUnwind(call: Call, pending: PromiseLike<unknown>): void {
    this.ensureRegion()
    if (this.owner !== null) this.evict(this.owner)
    const view = new DataView(this.memory!.buffer)
    view.setInt32(this.regionStart, this.regionStart + HEADER, true)
    view.setInt32(this.regionStart + 4, this.regionEnd, true)
    call.pending = pending
    this.api.asyncify_start_unwind(this.regionStart)
  }

  private finishUnwind(call: Call): void {
    const view = new DataView(this.memory!.buffer)
    const cur = view.getInt32(this.regionStart, true)
    if (cur > this.regionEnd) {
      view.setInt32(this.regionStart, this.regionStart + HEADER, true)
      this.api.asyncify_stop_unwind()
      call.pending = null
      const overflow = this.overflowError(cur - this.regionStart - HEADER)
      if (cur > this.regionTop) {
        this.poisoned = new AsyncifyError(
          'ASYNCIFY_INSTANCE_POISONED',
          `${this.options.label}: an earlier Asyncify stack overflow wrote past the memory reserved for it; ` +
            `this instance's memory may be damaged, so create a new instance`,
          { cause: overflow },
        )
      }
      throw overflow
    }
    this.api.asyncify_stop_unwind()
    call.dataEnd = cur
    this.owner = call
    this.suspended++
  }

  private startRewind(call: Call): void {
    const view = new DataView(this.memory!.buffer)
    if (this.owner !== call) {
      if (this.owner !== null) this.evict(this.owner)
      const data = call.data as Uint8Array
      new Uint8Array(this.memory!.buffer).set(data, this.regionStart + HEADER)
      call.dataEnd = this.regionStart + HEADER + data.length
      call.data = null
      view.setInt32(this.regionStart, call.dataEnd, true)
    }
    view.setInt32(this.regionStart + 4, this.regionEnd, true)
    this.owner = null
    this.suspended--
    this.rewinding = call
    this.api.asyncify_start_rewind(this.regionStart)
  }

  private evict(call: Call): void {
    const start = this.regionStart + HEADER
    call.data = new Uint8Array(this.memory!.buffer, start, call.dataEnd - start).slice()
    this.owner = null
  }

  /** Puts the Asyncify state and the shadow stack back after an exception left wasm. */
  private recover(call: Call, outerSp: number, error: unknown): unknown {
    if (this.rewinding !== null) {
      this.rewinding = null
      this.api.asyncify_stop_rewind()
    }
    let reported = error
    if (call.pending !== null) {
      // Nothing but Asyncify's own stores runs while unwinding, so a trap here
      // is a write past the end of memory: the stack overflowed.
      call.pending = null
      new DataView(this.memory!.buffer).setInt32(this.regionStart, this.regionStart + HEADER, true)
      this.api.asyncify_stop_unwind()
      if (error instanceof WebAssembly.RuntimeError) reported = this.overflowError(null, error)
    }
    this.leave(call, outerSp, true)
    return reported
  }

  private overflowError(needed: number | null, cause?: unknown): AsyncifyStackOverflowError {
    const size = this.options.stackSize
    const amount = needed === null ? 'more than that' : `${needed} bytes`
    return new AsyncifyStackOverflowError(
      `${this.options.label}: the Asyncify stack overflowed: saving the suspended call stack needed ${amount}, ` +
        `but stackSize is ${size} bytes; raise it with asyncify({ stackSize }) at build time ` +
        `or instantiate(..., { stackSize }) at run time`,
      cause === undefined ? undefined : { cause },
    )
  }

  private ensureRegion(): void {
    if (this.regionStart >= 0) return
    const { stackSize, stackRegion } = this.options
    if (stackRegion) {
      this.regionStart = stackRegion.start
      this.regionEnd = stackRegion.start + HEADER + stackRegion.size
      this.regionTop = this.regionEnd
      return
    }
    const { start, end } = this.reserve(HEADER + stackSize, `the Asyncify stack (stackSize ${stackSize} bytes)`)
    this.regionStart = start
    this.regionEnd = start + HEADER + stackSize
    this.regionTop = end
  }

  /**
   * Pages at the end of memory, which allocators built on `memory.grow`
   * (wasi-libc, Rust) never hand out because they did not grow them.
   */
  private reserve(bytes: number, purpose: string): { start: number; end: number } {
    const { label } = this.options
    if (this.memory === null) {
      throw new AsyncifyError(
        'ASYNCIFY_NOT_TRANSFORMED',
        `${label}: the module has no linear memory, so a suspended call has nowhere to be kept; ` +
          `give it a memory (clang and Rust always do) and transform it again`,
      )
    }
    const pages = Math.ceil(bytes / PAGE)
    let previous: number
    try {
      previous = this.memory.grow(pages)
    } catch (cause) {
      throw new AsyncifyError(
        'ASYNCIFY_MEMORY_EXHAUSTED',
        `${label}: could not grow memory by ${pages} page(s) for ${purpose}: ` +
          `memory is at its maximum of ${this.memory.buffer.byteLength / PAGE} pages; ` +
          `link with a larger maximum (clang: -Wl,--max-memory=N), lower stackSize or shadowStackSize, ` +
          `or pass instantiate(..., { stackRegion: { start, size } }) with memory the program never uses`,
        { cause },
      )
    }
    return { start: previous * PAGE, end: (previous + pages) * PAGE }
  }
}
