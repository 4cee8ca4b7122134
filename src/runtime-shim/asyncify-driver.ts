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
 * Every unwind is checked on its way back: the rewind must end at the import
 * that started the unwind, and nothing else may run meanwhile. A mismatch is
 * ASYNCIFY_REWIND_MISMATCH and poisons the instance, never a wrong value.
 *
 * Entries. Only the wrappers of `instance.exports` are entries the driver can
 * unwind to. Wasm entered any other way (a table function called from JS, from
 * inside an import) runs above an import frame that belongs to an outer call;
 * unwinding there would return into that import's JavaScript. Every import
 * wrapper counts how many imports are running, each call records that count
 * when it enters, and a suspension at a different count is refused with
 * ASYNCIFY_SUSPEND_OUTSIDE_CALL.
 *
 * Memory (owned-memory.ts). One scratch region `[start, start + 8 + stackSize)`
 * holds the Asyncify data `{ u32 cur, u32 end }` followed by the Asyncify
 * stack, in memory the program's allocator never hands out: from its own
 * `malloc`, or pages reserved at instantiation. Binaryen checks the bound only
 * after an unwind finished, so an overflow first writes past `end`: into the
 * region's own slack (reported as AsyncifyStackOverflowError), or beyond it,
 * or up to the end of memory (a trap). Whenever the bytes past the slack may
 * have been written, the instance is poisoned: every later call rejects.
 * All addresses are unsigned (memories may exceed 2 GiB).
 *
 * Overlap. Calls may suspend and resume in any order, and an import may call
 * another export (nested, while wasm is on the JS stack). Each call owns two
 * pieces of state while suspended:
 *   - its Asyncify data: it stays in the scratch region until another call
 *     needs the region, which first copies it out (`evict`); a resume copies it
 *     back. The common single-call case never copies.
 *   - its C shadow-stack frames, which never move (shadow-stacks.ts). The
 *     driver owns the pointer at every entry into and exit from a suspending
 *     export: it points it at the call's stack on the way in and back at the
 *     caller's (or at the resting place) on the way out.
 *
 * Fibers (fibers.ts). `fiber_switch` returns a FiberSwitch where an async
 * import returns a Promise: the running fiber unwinds (a created fiber into
 * its own buffer, a call's own stack into the region like any suspension),
 * and `enter` at once starts the next fiber (its entry export, on its own C
 * stack) or rewinds it (by calling its bottom function again: the entry
 * export, or the call's export), all within one JavaScript call. A created
 * fiber that waits for a Promise makes its call wait; the rewind after the
 * Promise settles goes to that fiber. `suspendedCalls` counts only calls
 * waiting for a Promise.
 *
 * Failure. A rejection is thrown into wasm at the import's call site; any
 * exception that leaves the export (a rejection, a throwing import, a trap)
 * puts the Asyncify state back to normal and the shadow-stack pointer back to
 * its value at entry, so nothing leaks and the instance stays usable. A trap
 * while unwinding is classified: out of bounds is a stack overflow that ran
 * to the end of memory; anything else is a suspension at a point Asyncify
 * cannot unwind.
 */
import {
  AsyncifyError,
  AsyncifyStackOverflowError,
  engineStackOverflow,
  isEngineStackOverflow,
  suspendOutsideCall,
} from './errors.js'
import type { SuspendEngine } from './metadata.js'
import { OwnedMemory, type Block, type Malloc } from './owned-memory.js'
import { CALL, ImportDepth, countedImport, countedSyncImport, isThenable, type ImportHooks } from './import-depth.js'
import { i32Global, type I32Global } from './i32-global.js'
import { invoker, type WasmFunction } from './invoke.js'
import { ShadowStacks, UNASSIGNED, type StackUser } from './shadow-stacks.js'
import { FiberTable, HEADER, invalid, type Fiber } from './fibers.js'
import { FIBER_ENTRY_EXPORT, FIBER_IMPORTS, GUEST_API_MODULE } from './metadata.js'

/** A caller-chosen home for the Asyncify data, instead of memory the runtime takes. */
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
  /**
   * In the direct engine's builds with a C stack pointer, also saves the
   * pointer and returns it, and `asyncify_start_rewind` puts it back (see
   * `restoredSp`); Binaryen's return nothing.
   */
  asyncify_stop_unwind(): number | undefined
  asyncify_start_rewind(data: number): void
  asyncify_stop_rewind(): void
  /** In modules that use fibers (transform/fibers.ts). */
  [FIBER_ENTRY_EXPORT]?: (fn: number, arg: number) => void
}

/** An async import, as the driver's import hooks see it. */
interface AsyncSite {
  importName: string
  /** What wasm receives from an import that unwinds: a value of its result type. */
  placeholder: unknown
  /** fiber_switch, which unwinds for a fiber rather than a Promise. */
  switches: boolean
}

/** `pending` of a call unwinding for a fiber switch (to `next`) rather than for a Promise; compared by identity. */
const SWITCHING = Object.freeze({ switching: true })
const SWITCH_IMPORT = `${GUEST_API_MODULE}.${FIBER_IMPORTS.switch}`

interface Call extends StackUser {
  /** Set by the import that started the current unwind: a Promise to wait for, or SWITCHING. */
  pending: PromiseLike<unknown> | typeof SWITCHING | null
  /** The fiber a switch goes to, while `pending` is SWITCHING. */
  next: Fiber<Call> | null
  /** The import the current suspension started at; its rewind must end there. */
  suspendedAt: string
  value: unknown
  error: unknown
  failed: boolean
  /** How many imports were running when this call entered wasm. */
  importDepth: number
  /** End of this call's Asyncify data while it sits in the scratch region. */
  dataEnd: number
  /** This call's Asyncify data once evicted from the scratch region. */
  data: Uint8Array | null
  /** The created fiber running on this call's stack now; null while its own context runs. */
  fiber: Fiber<Call> | null
  /** Its own context as a fiber, once the program asked for it (fiber_current, or a switch away). */
  context: Fiber<Call> | null
  /** Its own context's C stack pointer while a created fiber runs. */
  contextSp: number
}

/** A snapshot of the driver's state, from `asyncifyStats(instance)`. */
export interface AsyncifyStats {
  /** How this instance suspends: Binaryen's Asyncify, or the engine's JSPI. */
  mode: SuspendEngine
  /** Calls that are suspended on a Promise now. */
  suspendedCalls: number
  /** Value of the C shadow-stack pointer (unsigned), or null when the runtime does not manage one. */
  stackPointer: number | null
  /** Bytes of Asyncify stack held in the scratch region by a suspended call (always 0 under JSPI). */
  asyncifyStackUsed: number
}

export class AsyncifyDriver implements ImportHooks<AsyncSite> {
  private readonly active: Call[] = []
  private rewinding: Call | null = null
  private readonly imports = new ImportDepth()
  private region: Block | null = null
  private owner: Call | null = null
  private suspended = 0
  private stacks!: ShadowStacks
  private pointer: I32Global | null = null
  private poisoned: AsyncifyError | null = null
  private readonly fibers: FiberTable<Call>

  private api!: AsyncifyExports
  /**
   * The C stack pointer's value (unsigned) that `asyncify_start_rewind` puts
   * back, in builds whose API saves it at `asyncify_stop_unwind`
   * (transform/direct/module.ts), else null. A call that resumes at that
   * value needs no call into wasm to set it.
   */
  private restoredSp: number | null = null
  private memory: WebAssembly.Memory | null = null
  private owned!: OwnedMemory
  private view: DataView | null = null
  /** A view on the same buffer as `view`, whose length reads 0 once growth detached that buffer. */
  private probe: Uint8Array | null = null

  /** Imports are wrapped before the instance exists; `attach` completes the driver once it does. */
  constructor(private readonly options: DriverOptions) {
    this.fibers = new FiberTable(options.label, () => this.owned)
  }

  attach(
    api: AsyncifyExports,
    memory: WebAssembly.Memory | null,
    stackPointer: WebAssembly.Global | null,
    malloc: Malloc | null,
  ): void {
    this.api = api
    this.memory = memory
    this.owned = new OwnedMemory(this.options.label, memory, malloc)
    this.owned.reserveAtInstantiation(
      this.options.stackRegion ? 0 : HEADER + this.options.stackSize,
      stackPointer ? this.options.shadowStackSize : 0,
    )
    this.pointer = stackPointer && i32Global(stackPointer)
    this.stacks = new ShadowStacks(this.pointer, this.owned, this.options.shadowStackSize)
  }

  /**
   * What the runtime supplies for include/asyncify.h's fiber calls. The
   * switch is listed as async by the transform, so it reaches wasm through
   * `asyncImport`, which gives it a wrapper of its own (`switchImport`).
   */
  guestApi(): Record<string, WasmFunction> {
    const { fibers } = this
    return {
      [FIBER_IMPORTS.create]: (entry, arg, stack, stackSize, buffer, bufferSize) =>
        fibers.create((entry as number) >>> 0, (arg as number) >>> 0, {
          stack: (stack as number) >>> 0 || null,
          stackSize: (stackSize as number) >>> 0 || this.options.shadowStackSize,
          buffer: (buffer as number) >>> 0 || null,
          bufferSize: (bufferSize as number) >>> 0 || HEADER + this.options.stackSize,
        }).handle,
      [FIBER_IMPORTS.switch]: (handle) => this.requestSwitch(handle as number),
      [FIBER_IMPORTS.free]: (handle) => fibers.free(fibers.get(handle as number, FIBER_IMPORTS.free)),
      [FIBER_IMPORTS.current]: () => {
        const call = this.suspendingCall(`${GUEST_API_MODULE}.${FIBER_IMPORTS.current}`, 1)
        return (call.fiber ?? (call.context ??= fibers.contextOf(call))).handle
      },
    }
  }

  /** Wraps an async-listed import of `arity` parameters: a thenable result suspends the wasm. */
  asyncImport(fn: WasmFunction, arity: number, placeholder: unknown, importName: string): WasmFunction {
    // fiber_switch returns the fiber to switch to, or undefined when there is nothing to do.
    const switches = importName === SWITCH_IMPORT
    return countedImport<AsyncSite>(fn, switches ? 1 : arity, this.imports, this, { importName, placeholder, switches })
  }

  /** countedImport's first hook for an async import: during a rewind, where it ends with the settled value (or the rejection). */
  importBefore(site: AsyncSite): unknown {
    const resumed = this.rewinding
    if (resumed === null) return CALL
    // On a mismatch `rewinding` stays set, so that `recover` stops the rewind.
    if (resumed.suspendedAt !== site.importName) throw this.rewindMismatch(resumed, site.importName)
    this.rewinding = null
    this.api.asyncify_stop_rewind()
    if (resumed.failed) throw resumed.error
    return resumed.value
  }

  /** countedImport's last hook for an async import: a thenable (or, from fiber_switch, a fiber) unwinds. */
  importAfter(result: unknown, site: AsyncSite): unknown {
    if (site.switches) {
      if (result === undefined) return undefined
      const call = this.suspendingCall(site.importName)
      call.next = result as Fiber<Call>
      this.startUnwind(call, SWITCHING, site.importName)
      return undefined
    }
    if (!isThenable(result)) return result
    this.startUnwind(this.suspendingCall(site.importName), result, site.importName)
    return site.placeholder
  }

  /**
   * The call an import belongs to: the innermost, entered at this import
   * depth. `inside`: imports counted above it, 1 from inside an import's
   * function (the fiber API), 0 in the wrapper's `after`.
   */
  private suspendingCall(importName: string, inside = 0): Call {
    const call = this.active[this.active.length - 1]
    if (call === undefined || call.importDepth !== this.imports.current - inside) throw suspendOutsideCall(this.options.label, importName)
    return call
  }

  /** Wraps an import that is not async (of `arity` parameters, null when unknown): it runs as it is, counted so that entries through it are seen. */
  syncImport(fn: WasmFunction, arity: number | null, importName: string, onThenable: (importName: string) => never): WasmFunction {
    const guard = () => {
      if (this.rewinding !== null) throw this.rewindMismatch(this.rewinding, importName)
    }
    return countedSyncImport(fn, arity, this.imports, guard, () => onThenable(importName))
  }

  /** Wraps an export that can reach an async import; it always returns a Promise. */
  suspendingExport(fn: WasmFunction, arity: number): (...args: unknown[]) => Promise<unknown> {
    const invoke = invoker(arity)
    const run = (args: unknown[]) => invoke(fn, args)
    return (...args) => {
      if (this.poisoned) return Promise.reject(this.poisoned)
      const call: Call = {
        pending: null,
        next: null,
        suspendedAt: '',
        value: undefined,
        error: undefined,
        failed: false,
        importDepth: this.imports.current,
        sp: UNASSIGNED,
        stack: UNASSIGNED,
        dataEnd: 0,
        data: null,
        fiber: null,
        context: null,
        contextSp: 0,
      }
      let result: unknown
      try {
        result = this.enter(call, run, args, null)
      } catch (error) {
        return Promise.reject(error)
      }
      if (call.pending === null) return Promise.resolve(result)
      return this.settle(call, run, args)
    }
  }

  /** What the driver holds now; with no call suspended, everything is back where it started. */
  stats(): AsyncifyStats {
    return {
      mode: 'asyncify',
      suspendedCalls: this.suspended,
      stackPointer: this.stacks.current(),
      asyncifyStackUsed: this.owner === null || this.region === null ? 0 : this.owner.dataEnd - (this.region.start + HEADER),
    }
  }

  private async settle(call: Call, run: (args: unknown[]) => unknown, args: unknown[]): Promise<unknown> {
    let result: unknown
    while (call.pending !== null) {
      // Switches happen inside `enter`: what is left here is a Promise.
      const pending = call.pending as PromiseLike<unknown>
      call.pending = null
      try {
        call.value = await pending
        call.failed = false
      } catch (error) {
        call.error = error
        call.failed = true
      }
      if (this.poisoned) {
        this.releaseSuspended(call)
        throw this.poisoned
      }
      this.suspended--
      if (call.fiber) {
        call.fiber.state = 'running'
        this.startFiberRewind(call, call.fiber)
      } else {
        this.startRewind(call)
      }
      // A nested call records the import count of the JS that resumes it: none.
      call.importDepth = this.imports.current
      // The rewind put the pointer back where the last unwind left it, in builds whose API does.
      result = this.enter(call, run, args, this.restoredSp)
    }
    return result
  }

  /**
   * Runs the export for `call` until it returns or waits for a Promise. A
   * fiber switch is an unwind too: the next fiber starts or rewinds at once,
   * in this loop, without returning to JavaScript. `knownSp`: the C stack
   * pointer's value when the caller knows it, else null.
   */
  private enter(call: Call, run: (args: unknown[]) => unknown, args: unknown[], knownSp: number | null): unknown {
    const outerSp = this.stacks.enter(call, this.active.length === 0, knownSp)
    if (call.fiber !== null) this.toFiberStack(call, call.fiber)
    this.active.push(call)
    let result: unknown
    try {
      result = call.fiber === null ? run(args) : this.runFiber(call.fiber)
      // Only with fibers: a switch, or a created fiber that returned, runs the next fiber now.
      if (call.pending === SWITCHING || (call.pending === null && call.fiber !== null)) result = this.runFibers(call, run, args)
    } catch (error) {
      this.active.pop()
      if (call.fiber !== null || call.context !== null) this.endFibers(call)
      throw this.recover(call, outerSp, error)
    }
    this.active.pop()
    if (this.rewinding === call) {
      // The export returned without reaching the import the call suspended at.
      this.rewinding = null
      this.api.asyncify_stop_rewind()
      const error = this.rewindMismatch(call, null)
      this.leave(call, outerSp, true, undefined)
      throw error
    }
    let live: number | undefined
    if (call.pending !== null) {
      try {
        live = this.finishUnwind(call)
      } catch (error) {
        this.leave(call, outerSp, true, undefined)
        throw error
      }
    }
    if (call.fiber !== null) {
      this.toContextStack(call, call.fiber)
      live = undefined
    }
    if (call.pending === null && call.context !== null) this.endFibers(call)
    this.leave(call, outerSp, call.pending === null, live)
    return result
  }

  /**
   * Switches fiber after fiber until the call's own context returns or a
   * fiber unwinds for a Promise (whose unwind `enter` then finishes).
   */
  private runFibers(call: Call, run: (args: unknown[]) => unknown, args: unknown[]): unknown {
    for (;;) {
      let next: Fiber<Call>
      if (call.pending === SWITCHING) {
        this.finishUnwind(call)
        next = call.next!
        call.pending = null
        call.next = null
      } else {
        next = this.fiberReturned(call, call.fiber!)
      }
      this.switchTo(call, next)
      const result = call.fiber === null ? run(args) : this.runFiber(call.fiber)
      if (this.rewinding === call) throw this.rewindMismatch(call, null)
      if (call.pending !== SWITCHING && (call.pending !== null || call.fiber === null)) return result
    }
  }

  /** Starts or rewinds a created fiber: its bottom frame is the entry export. */
  private runFiber(fiber: Fiber<Call>): unknown {
    return this.api[FIBER_ENTRY_EXPORT]!(fiber.entry, fiber.arg)
  }

  /** A call whose running fiber is a created one enters: the pointer goes from its own context's stack to the fiber's. */
  private toFiberStack(call: Call, fiber: Fiber<Call>): void {
    if (!this.pointer) return
    call.contextSp = this.pointer.get()
    this.pointer.set(fiber.sp)
  }

  /** ...and leaves: back to its own context's stack, where ShadowStacks expects it. */
  private toContextStack(call: Call, fiber: Fiber<Call>): void {
    if (!this.pointer) return
    fiber.sp = this.pointer.get()
    this.pointer.set(call.contextSp)
  }

  /** `fiber_switch(handle)`, in the running call: the fiber to switch to, or undefined when it is the running one. */
  private requestSwitch(handle: number): Fiber<Call> | undefined {
    const target = this.fibers.get(handle, FIBER_IMPORTS.switch)
    const call = this.suspendingCall(SWITCH_IMPORT, 1)
    if (target === (call.fiber ?? call.context) || (target.main === call && call.fiber === null)) return undefined
    this.checkSwitchTarget(call, target, `${FIBER_IMPORTS.switch} got fiber ${handle}`)
    return target
  }

  /** A created fiber's entry returned: it is finished, and the fiber that switched to it last runs next. */
  private fiberReturned(call: Call, fiber: Fiber<Call>): Fiber<Call> {
    fiber.state = 'finished'
    const next = fiber.resumer
    const what = `fiber ${fiber.handle} returned, so the fiber that switched to it last`
    if (next === null) throw invalid(this.options.label, `${what} should run next, but none did`)
    this.checkSwitchTarget(call, next, `${what} (${next.handle}) should run next`)
    return next
  }

  private checkSwitchTarget(call: Call, target: Fiber<Call>, what: string): void {
    const { label } = this.options
    if (target.state === 'finished') {
      throw new AsyncifyError('ASYNCIFY_FIBER_FINISHED', `${label}: ${what}, which has finished; a fiber that returned cannot run again`)
    }
    if (target.main !== null && target.main !== call) {
      throw invalid(label, `${what}, the own context of another export call: only code running in that call can switch back to it`)
    }
    if (target.state === 'running' || target.state === 'waiting') {
      throw new AsyncifyError(
        'ASYNCIFY_FIBER_BUSY',
        `${label}: ${what}, which is ${target.state === 'running' ? 'running' : 'waiting for a Promise'} in another call; ` +
          `a fiber runs on one stack at a time`,
      )
    }
  }

  /** The running fiber (just unwound at a switch, or finished) gives way to `to`, which starts or rewinds. */
  private switchTo(call: Call, to: Fiber<Call>): void {
    const from = call.fiber ?? (call.context ??= this.fibers.contextOf(call))
    const live = this.pointer ? this.pointer.get() : 0
    if (from.state !== 'finished') {
      from.state = 'ready'
      from.suspendedAt = call.suspendedAt
      to.resumer = from
    }
    if (call.fiber) call.fiber.sp = live
    else call.contextSp = live
    const fresh = to.state === 'new'
    to.state = 'running'
    call.value = undefined
    call.failed = false
    call.suspendedAt = to.suspendedAt
    if (to.main === null) {
      call.fiber = to
      // The pointer is set after the rewind starts, which may move it (`restoredSp`).
      if (!fresh) this.startFiberRewind(call, to)
      this.pointer?.set(to.sp)
    } else {
      call.fiber = null
      this.startRewind(call)
      this.pointer?.set(call.contextSp)
    }
  }

  /** The call will not run again: its own context ends, and a created fiber it was running has finished. */
  private endFibers(call: Call): void {
    if (call.fiber) call.fiber.state = 'finished'
    if (call.context) this.fibers.end(call.context)
    call.fiber = null
    call.context = null
  }

  /** `live`: the C stack pointer's value, when the caller has just read it. */
  private leave(call: Call, outerSp: number, done: boolean, live: number | undefined): void {
    this.stacks.leave(call, outerSp, this.active.length > 0, done, live)
  }

  private startUnwind(call: Call, pending: PromiseLike<unknown> | typeof SWITCHING, importName: string): void {
    if (call.fiber) {
      const { start, end } = call.fiber.buffer
      const view = this.header()
      view.setUint32(start, start + HEADER, true)
      view.setUint32(start + 4, end, true)
      call.pending = pending
      call.suspendedAt = importName
      this.api.asyncify_start_unwind(start)
      return
    }
    // The region's header already reads { start + HEADER, end } whenever no call's data sits in it (`ensureRegion`).
    const region = this.ensureRegion()
    if (this.owner !== null) this.evict(this.owner, region)
    call.pending = pending
    call.suspendedAt = importName
    this.api.asyncify_start_unwind(region.start)
  }

  /** Ends an unwind; returns the C stack pointer (unsigned) when the module's API read it on the way, else undefined. */
  private finishUnwind(call: Call): number | undefined {
    if (call.fiber !== null) {
      this.finishFiberUnwind(call, call.fiber)
      return undefined
    }
    const region = this.region!
    const { cur, live } = this.stopUnwindAt(region.start, region.end)
    if (cur > region.end) {
      call.pending = null
      const overflow = this.overflowError(cur - region.start - HEADER, null)
      if (cur > region.top) this.poison(overflow, 'wrote past the memory reserved for it')
      throw overflow
    }
    call.dataEnd = cur
    this.owner = call
    if (call.pending !== SWITCHING) this.suspended++
    return live
  }

  /** The same for a created fiber, whose unwind went to its own buffer; any overflow wrote past it into the program's memory. */
  private finishFiberUnwind(call: Call, fiber: Fiber<Call>): void {
    const { start, end } = fiber.buffer
    const { cur } = this.stopUnwindAt(start, end)
    if (cur > end) {
      call.pending = null
      const overflow = this.overflowError(cur - start - HEADER, fiber)
      this.poison(overflow, 'wrote past the end of a fiber\'s Asyncify buffer')
      throw overflow
    }
    fiber.dataEnd = cur
    if (call.pending !== SWITCHING) {
      fiber.state = 'waiting'
      this.suspended++
    }
  }

  /** Where the running fiber's unwind goes: a created fiber's own buffer, else the region. */
  private unwindBlock(call: Call): Block {
    if (!call.fiber) return this.region!
    const { start, end } = call.fiber.buffer
    return { start, end, top: end }
  }

  private startFiberRewind(call: Call, fiber: Fiber<Call>): void {
    const view = this.header()
    view.setUint32(fiber.buffer.start, fiber.dataEnd, true)
    view.setUint32(fiber.buffer.start + 4, fiber.buffer.end, true)
    this.rewinding = call
    this.api.asyncify_start_rewind(fiber.buffer.start)
  }

  private startRewind(call: Call): void {
    const region = this.region!
    if (this.owner !== call) {
      if (this.owner !== null) this.evict(this.owner, region)
      const data = call.data as Uint8Array
      new Uint8Array(this.memory!.buffer).set(data, region.start + HEADER)
      call.dataEnd = region.start + HEADER + data.length
      call.data = null
      this.header().setUint32(region.start, call.dataEnd, true)
    }
    // The rewind takes every record back off, so the header reads { start + HEADER, end } again once it has ended.
    this.owner = null
    this.rewinding = call
    this.api.asyncify_start_rewind(region.start)
  }

  /**
   * Stops an unwind into the block at `start`: returns where its data ends
   * (past `end`: an overflow, and the block's header is reset) and the C
   * stack pointer when the build's API read it. Binaryen's API keeps the
   * position in memory as it goes and traps at the stop when it is past the
   * end, so it is read, and reset when past the end, first; the direct
   * engine's keeps it in a global and writes it back at the stop, so it is
   * read again after.
   */
  private stopUnwindAt(start: number, end: number): { cur: number; live: number | undefined } {
    const view = this.header()
    let cur = view.getUint32(start, true)
    if (cur > end) view.setUint32(start, start + HEADER, true)
    const live = this.stopUnwind()
    if (cur <= end) {
      cur = view.getUint32(start, true)
      if (cur > end) view.setUint32(start, start + HEADER, true)
    }
    return { cur, live }
  }

  /** `asyncify_stop_unwind`; returns the C stack pointer when the build's API read it on the way. */
  private stopUnwind(): number | undefined {
    const saved = this.api.asyncify_stop_unwind()
    this.restoredSp = typeof saved === 'number' && this.pointer !== null ? saved >>> 0 : null
    return this.restoredSp ?? undefined
  }

  private evict(call: Call, region: Block): void {
    const start = region.start + HEADER
    call.data = new Uint8Array(this.memory!.buffer, start, call.dataEnd - start).slice()
    this.header().setUint32(region.start, start, true)
    this.owner = null
  }

  /** A suspended call that will never resume (the instance was poisoned meanwhile) gives back what it holds. */
  private releaseSuspended(call: Call): void {
    if (this.owner === call) this.owner = null
    call.data = null
    this.suspended--
    this.endFibers(call)
    this.stacks.release(call)
  }

  /** Puts the Asyncify state and the shadow stack back after an exception left wasm. */
  private recover(call: Call, outerSp: number, error: unknown): unknown {
    if (this.rewinding !== null) {
      this.rewinding = null
      this.api.asyncify_stop_rewind()
      // A rewind cut short leaves records in the region; the next unwind expects its header at the start.
      if (this.owner === null && this.region !== null) this.header().setUint32(this.region.start, this.region.start + HEADER, true)
    }
    let reported = error
    if (call.pending !== null) {
      // Nothing but Asyncify's own code runs while unwinding, so a trap here
      // is either a store past the end of memory (the stack overflowed all
      // the way) or an `unreachable` Asyncify put where it cannot unwind.
      call.pending = null
      call.next = null
      const block = this.unwindBlock(call)
      // Reset before the stop (Binaryen's API traps past the end) and after it (the direct engine's writes the position back then).
      this.header().setUint32(block.start, block.start + HEADER, true)
      this.stopUnwind()
      this.header().setUint32(block.start, block.start + HEADER, true)
      if (error instanceof WebAssembly.RuntimeError) reported = this.classifyUnwindTrap(call, error, block)
    } else if (isEngineStackOverflow(error)) {
      reported = engineStackOverflow(this.options.label, error)
    }
    this.leave(call, outerSp, true, undefined)
    return reported
  }

  private classifyUnwindTrap(call: Call, trap: WebAssembly.RuntimeError, region: Block): AsyncifyError {
    if (/out of bounds/i.test(trap.message)) {
      const overflow = this.overflowError(null, call.fiber, trap)
      // Every byte from the region to the end of memory was written.
      if (this.memory!.buffer.byteLength > region.top) this.poison(overflow, 'ran to the end of memory')
      return overflow
    }
    return new AsyncifyError(
      'ASYNCIFY_UNSUPPORTED_SUSPENSION',
      `${this.options.label}: import "${call.suspendedAt}" returned a Promise at a point Asyncify cannot unwind ` +
        `(${trap.message}), such as inside a catch block; ` +
        `make that call outside the catch block, or return a plain value there`,
      { cause: trap },
    )
  }

  private rewindMismatch(call: Call, reached: string | null): AsyncifyError {
    const error = new AsyncifyError(
      'ASYNCIFY_REWIND_MISMATCH',
      `${this.options.label}: a call suspended at import "${call.suspendedAt}" resumed ` +
        `${reached === null ? 'without reaching any import' : `at import "${reached}"`}; ` +
        `the module's control flow differs between unwind and rewind, so its state cannot be trusted. ` +
        `This is a bug in unplugin-asyncify or Binaryen: please report it with the .wasm file`,
    )
    this.poison(error, 'resumed at the wrong place')
    return error
  }

  private poison(cause: AsyncifyError, what: string): void {
    this.poisoned ??= new AsyncifyError(
      'ASYNCIFY_INSTANCE_POISONED',
      `${this.options.label}: an earlier suspension ${what}; ` +
        `this instance's memory may be damaged, so create a new instance`,
      { cause },
    )
  }

  private overflowError(needed: number | null, fiber: Fiber<Call> | null, cause?: unknown): AsyncifyStackOverflowError {
    const amount = needed === null ? 'more than that' : `${needed} bytes`
    if (fiber) {
      return new AsyncifyStackOverflowError(
        `${this.options.label}: fiber ${fiber.handle}'s Asyncify buffer overflowed: saving its stack needed ${amount}, ` +
          `but the buffer holds ${fiber.buffer.end - fiber.buffer.start - HEADER}; pass a larger asyncify_stack_size to asyncify_fiber_create`,
        cause === undefined ? undefined : { cause },
      )
    }
    const size = this.options.stackSize
    return new AsyncifyStackOverflowError(
      `${this.options.label}: the Asyncify stack overflowed: saving the suspended call stack needed ${amount}, ` +
        `but stackSize is ${size} bytes; raise it with asyncify({ stackSize }) at build time ` +
        `or instantiate(..., { stackSize }) at run time`,
      cause === undefined ? undefined : { cause },
    )
  }

  private ensureRegion(): Block {
    if (this.region) return this.region
    const { stackSize, stackRegion } = this.options
    if (stackRegion) {
      const end = stackRegion.start + HEADER + stackRegion.size
      this.region = { start: stackRegion.start, end, top: end }
    } else {
      this.region = this.owned.region(HEADER + stackSize, `the Asyncify stack (stackSize ${stackSize} bytes)`)
    }
    // Taking the region may have grown a shared memory, whose old views stay shorter.
    this.probe = null
    // Written here once, not at every unwind: an unwind ends with `cur` past the data it wrote, which a rewind
    // takes back off, an eviction copies out, or a failed unwind gives up (`finishUnwind`, `recover`), each
    // leaving `cur` at the start again; `end` never changes.
    const view = this.header()
    view.setUint32(this.region.start, this.region.start + HEADER, true)
    view.setUint32(this.region.start + 4, this.region.end, true)
    return this.region
  }

  /**
   * One DataView on memory for the Asyncify data, made again only when growth
   * detached its buffer: a new view per suspension cost more than the rest of
   * the suspension. Detachment is read from a typed array's length: asking the
   * DataView for its buffer's byteLength cost 4-7 ns more per call in V8
   * (Node 20, Node 26, Chromium), 3 or 4 calls per suspension.
   */
  private header(): DataView {
    if (this.probe === null || this.probe.length === 0) {
      const buffer = this.memory!.buffer
      this.view = new DataView(buffer)
      this.probe = new Uint8Array(buffer)
    }
    return this.view!
  }
}
