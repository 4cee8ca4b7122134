/*
 * The JSPI driver: the engine switches stacks (`WebAssembly.Suspending`,
 * `WebAssembly.promising`), this driver keeps the contract the Asyncify driver
 * keeps: the same exports return Promises, a plain value from an async import
 * costs no suspension (trampolines.ts), a suspension under wasm that was not
 * entered through `instance.exports` is ASYNCIFY_SUSPEND_OUTSIDE_CALL, and
 * overlapping calls each get their own C stack (shadow-stacks.ts), because
 * JSPI switches only the wasm stack.
 *
 * `active` holds the calls whose wasm is on the JS stack now, innermost last:
 * a call is pushed when it enters or resumes, and popped when it suspends or
 * returns (`exit`, from its export trampoline). A resume is recorded by the
 * import trampoline in the shared cells (CELL.resumed) and taken into
 * `active` by `sync` the next time the driver looks. A call that throws is
 * popped where its exception surfaces: synchronously in `suspendingExport` on
 * its first run, else in the rejection handler of its Promise. The cells
 * mirror the innermost call (`publish`) for the trampolines' fast path.
 */
import { engineStackOverflow, isEngineStackOverflow, suspendOutsideCall } from './errors.js'
import type { AsyncifyStats } from './asyncify-driver.js'
import { CALL, ImportDepth, countedImport, countedSyncImport, isThenable, type ImportHooks } from './import-depth.js'
import { i32Global, type I32Global } from './i32-global.js'
import { invoker, type WasmFunction } from './invoke.js'
import { bookedImport, predictedImport } from './predicted-import.js'
import { OwnedMemory, type Malloc } from './owned-memory.js'
import { ShadowStacks, UNASSIGNED, type StackUser } from './shadow-stacks.js'
import { allocateCells, type CellBlock } from './shared-cells.js'
import { CELL } from './trampolines.js'

interface Call extends StackUser {
  /** Names the call to the import trampoline across a suspension (`signal`); never 0. */
  id: number
  importDepth: number
  /** Whether it runs under another call (entered from one of its imports), and the pointer value to give back when it leaves then. */
  nested: boolean
  outerSp: number
  /** The import it is suspended at, for messages. */
  suspendedAt: string
  /** Suspended and not yet seen to resume. */
  suspended: boolean
  /** Returned or threw: its stack and id are given back. */
  done: boolean
  /** The pointer value to resume with when its import moved the pointer (CELL.fixes), else UNASSIGNED. */
  resumeAt: number
}

/** The JSPI part of the WebAssembly namespace (not yet in TypeScript's DOM types). */
export interface JspiApi {
  Suspending: new (fn: (...args: never[]) => unknown) => WebAssembly.ImportValue
  promising(fn: unknown): (...args: unknown[]) => Promise<unknown>
  SuspendError?: new () => Error
}

export const jspi = WebAssembly as unknown as JspiApi

export function hasJspi(): boolean {
  return typeof WebAssembly === 'object' && 'Suspending' in WebAssembly && 'promising' in WebAssembly
}

/** An async import's plain half, as the driver's import hooks see it. */
interface JspiSite {
  importName: string
  /** What wasm receives from an import that suspends: a value of its result type. */
  placeholder: unknown
  /** The import's number among the async imports (its prediction cell). */
  index: number
}

export class JspiDriver implements ImportHooks<JspiSite> {
  private readonly active: Call[] = []
  /** Shared with the import trampolines: see CELL. */
  readonly block: CellBlock
  private readonly cells: Int32Array
  private readonly imports: ImportDepth
  private suspended = 0
  private pending: PromiseLike<unknown> | null = null
  /** Calls in flight by id; ids of finished calls are reused, so the table stays small. Id 0 means "no call" in the cells. */
  private readonly calls: (Call | undefined)[] = [undefined]
  private readonly freeIds: number[] = []
  /** Async imports by index, for the call a trampoline booked (CELL.bookedImport). */
  private readonly importNames: string[] = []
  private stacks!: ShadowStacks
  /** The C stack pointer's wasm getter (signed), or null when the runtime does not manage one. */
  private readPointer: (() => number) | null = null

  constructor(
    private readonly label: string,
    private readonly shadowStackSize: number,
    asyncImportCount: number,
  ) {
    this.block = allocateCells(CELL.predict + asyncImportCount, this)
    this.cells = this.block.cells
    this.imports = new ImportDepth(this.cells)
  }

  /**
   * Completes the driver once the instance exists; only overlapping calls need
   * memory of their own here. `pointerTable`: the import trampolines' table
   * for the stack pointer's accessors.
   */
  attach(
    memory: WebAssembly.Memory | null,
    stackPointer: WebAssembly.Global | null,
    malloc: Malloc | null,
    pointerTable: WebAssembly.Table | null,
  ): void {
    const owned = new OwnedMemory(this.label, memory, malloc)
    owned.reserveAtInstantiation(0, stackPointer ? this.shadowStackSize : 0)
    const pointer: I32Global | null = stackPointer && i32Global(stackPointer)
    this.readPointer = pointer && pointer.wasm.get
    if (pointer && pointerTable) {
      pointerTable.set(0, pointer.wasm.get)
      pointerTable.set(1, pointer.wasm.set)
    }
    this.stacks = new ShadowStacks(pointer, owned, this.shadowStackSize)
  }

  /** The plain half of the async import number `index`, of `arity` parameters: a thenable is kept for `wait`, and `signal` set. */
  asyncImport(fn: WasmFunction, arity: number, placeholder: unknown, importName: string, index: number): WasmFunction {
    return countedImport<JspiSite>(fn, arity, this.imports, this, { importName, placeholder, index })
  }

  /** countedImport's first hook: JSPI has no rewind to end, so the import is always called. */
  importBefore(): unknown {
    return CALL
  }

  /** countedImport's last hook: a thenable is kept for `wait`, and the call signalled. */
  importAfter(result: unknown, site: JspiSite): unknown {
    if (!isThenable(result)) return result
    const call = this.callOf(site.importName)
    call.suspendedAt = site.importName
    this.pending = result
    this.cells[CELL.signal] = call.id
    this.cells[CELL.predict + site.index] = 1
    return site.placeholder
  }

  /**
   * The predicted halves of the same import, for `WebAssembly.Suspending`:
   * what they return is what the engine waits for; a plain value turns the
   * prediction off. `suspending` takes the call off the running list first;
   * `booked` is for a suspension the trampoline booked itself.
   */
  suspendingImports(fn: WasmFunction, arity: number, importName: string, index: number): { suspending: WasmFunction; booked: WasmFunction } {
    const { cells } = this
    const threw = () => {
      cells[CELL.threw] = 1
    }
    this.importNames[index] = importName
    const toEngine = (result: unknown) => {
      // A native Promise first: the engine waits on it as it is, and it is the common answer.
      if (result instanceof Promise) return result
      if (!isThenable(result)) {
        cells[CELL.predict + index] = 0
        return result
      }
      return Promise.resolve(result)
    }
    const settle = (result: unknown) => {
      // Where the call's frames end: the user's function may have entered wasm and left the pointer moved
      // (trampolines.ts). A call it entered that suspended saved its own pointer in the cell since: on a
      // stack of its own, so the values differ and the call resumes at `live`, which is right either way.
      const saved = cells[CELL.savedSp]!
      const read = this.readPointer
      const live = read === null ? saved : read()
      try {
        this.suspendRunning(importName, live >>> 0, saved >>> 0)
      } catch (error) {
        threw()
        throw error
      }
      return toEngine(result)
    }
    return { suspending: predictedImport(fn, arity, cells, settle, threw), booked: bookedImport(fn, arity, toEngine) }
  }

  /** The Suspending wait of the plain path: the call leaves the JS stack until the Promise settles. */
  wait(): () => PromiseLike<unknown> {
    return () => {
      const pending = this.pending!
      this.pending = null
      const live = this.cells[CELL.savedSp]! >>> 0
      this.suspendRunning(null, live, live)
      // The engine settles a Promise itself; another thenable is adopted the way `await` would.
      return pending instanceof Promise ? pending : Promise.resolve(pending)
    }
  }

  /** An import that is not async (of `arity` parameters, null when unknown), counted so that entries through it are seen. */
  syncImport(fn: WasmFunction, arity: number | null, importName: string, onThenable: (importName: string) => never): WasmFunction {
    return countedSyncImport(fn, arity, this.imports, null, () => onThenable(importName))
  }

  /** `t.f` of the import trampolines: the value a call resumes with, given the one its trampoline saved (see CELL.fixes). */
  resumeAt(): (id: number, saved: number) => number {
    return (id, saved) => {
      const call = this.calls[id]
      if (call === undefined || call.resumeAt === UNASSIGNED) return saved
      const at = call.resumeAt
      call.resumeAt = UNASSIGNED
      this.cells[CELL.fixes]! -= 1
      return at | 0
    }
  }

  /** Called by an export trampoline when the export returned. */
  exit(): () => void {
    return () => {
      const call = this.innermost()!
      this.active.pop()
      this.publish()
      this.finish(call)
    }
  }

  /** `promising` is `WebAssembly.promising` of the export's trampoline, which takes `arity` arguments. */
  suspendingExport(promising: (...args: unknown[]) => Promise<unknown>, arity: number): (...args: unknown[]) => Promise<unknown> {
    const invoke = invoker(arity)
    return (...args) => {
      const call: Call = {
        sp: UNASSIGNED,
        stack: UNASSIGNED,
        id: this.freeIds.pop() ?? this.calls.length,
        importDepth: this.imports.current,
        nested: false,
        outerSp: 0,
        suspendedAt: '',
        suspended: false,
        done: false,
        resumeAt: UNASSIGNED,
      }
      this.calls[call.id] = call
      this.sync()
      call.nested = this.active.length > 0
      call.outerSp = this.stacks.enter(call, !call.nested, null)
      this.active.push(call)
      this.publish()
      let promise: Promise<unknown>
      try {
        promise = invoke(promising, args) as Promise<unknown>
      } catch (error) {
        this.abandon(call, false)
        return Promise.reject(this.translate(error, call))
      }
      // Still running after the synchronous part: it threw.
      this.abandon(call, false)
      return promise.catch((error: unknown) => {
        this.abandon(call, true)
        throw this.translate(error, call)
      })
    }
  }

  stats(): AsyncifyStats {
    this.sync()
    return { mode: 'jspi', suspendedCalls: this.suspended, stackPointer: this.stacks.current(), asyncifyStackUsed: 0 }
  }

  /** The call an async import that returned a Promise belongs to: the innermost, entered at this import depth. */
  private callOf(importName: string): Call {
    const call = this.innermost()
    if (call === undefined || call.importDepth !== this.imports.current) throw suspendOutsideCall(this.label, importName)
    return call
  }

  private innermost(): Call | undefined {
    this.sync()
    return this.top()
  }

  /** The last running call. Not `active[length - 1]`: on an empty list that reads the property "-1" through the prototype chain, measured at 30-40 ns per suspension in Node 26. */
  private top(): Call | undefined {
    const { length } = this.active
    return length === 0 ? undefined : this.active[length - 1]
  }

  /** Takes a call the trampolines saw resume into `active`, after the suspension a trampoline booked, if any. */
  private sync(): void {
    const { cells } = this
    this.takeBooked()
    const id = cells[CELL.resumed]!
    if (id === 0) return
    cells[CELL.resumed] = 0
    cells[CELL.steady] = 0
    const call = this.calls[id]!
    call.suspended = false
    this.suspended--
    call.importDepth = cells[CELL.currentDepth]!
    // An engine resumes a stack only from a microtask: no call runs under it.
    call.nested = false
    this.active.push(call)
  }

  /**
   * A suspension the trampoline booked itself (trampolines.ts): the call
   * stayed counted as suspended and the pointer went where it rests; what the
   * books still lack is where its frames end and the import it waits at.
   * Booked where the pointer rests on its frames, they end where the import
   * left the pointer: where it rests now, or where it rested when another call
   * resumed since (the trampoline noted it in CELL.restSp). Unless the call
   * itself has resumed since (its trampoline kept the pointer then), it must
   * resume there, not where its trampoline saved the pointer.
   */
  private takeBooked(): void {
    const { cells } = this
    const id = cells[CELL.booked]!
    if (id === 0) return
    cells[CELL.booked] = 0
    const call = this.calls[id]!
    const saved = cells[CELL.bookedSp]! >>> 0
    const at = cells[CELL.bookedImport]!
    call.sp = saved
    call.suspendedAt = this.importNames[at < 0 ? ~at : at]!
    call.nested = false
    if (at < 0 || this.readPointer === null) return
    const resumedSince = cells[CELL.resumed]!
    const live = (resumedSince === 0 ? this.readPointer() : cells[CELL.restSp]!) >>> 0
    if (live === saved) return
    call.sp = live
    if (resumedSince !== id) this.resumeMoved(call, live)
  }

  /** The innermost call (its id and depth) into the cells, for the trampolines' predicted path. */
  private publish(): void {
    const top = this.top()
    this.cells[CELL.current] = top ? top.id : 0
    this.cells[CELL.currentDepth] = top ? top.importDepth : 0
  }

  /**
   * The running call suspends: off the list, and the C stack pointer back to
   * its caller's or to rest. `importName`: the import it suspends at, checked
   * to belong to it; null from `wait`, whose import was checked already.
   * `live`: where its frames end; `saved`: the value its trampoline will
   * resume it with.
   */
  private suspendRunning(importName: string | null, live: number, saved: number): void {
    const { cells } = this
    const resumed = cells[CELL.resumed]!
    let call: Call
    if (resumed !== 0 && this.active.length === 0) {
      // The books are not read through sync here: take a booked call in first.
      this.takeBooked()
      // It resumed and suspends again with nothing in between: it stays
      // counted as suspended and is never listed (the common loop of awaits),
      // and its pointer is put back as a trampoline that books it does.
      call = this.calls[resumed]!
      if (importName !== null && cells[CELL.currentDepth] !== this.imports.current) throw suspendOutsideCall(this.label, importName)
      cells[CELL.resumed] = 0
      cells[CELL.steady] = 0
      call.nested = false
      this.stacks.park(call, live, cells[CELL.restSp]! >>> 0, cells[CELL.resumeSp]! >>> 0)
    } else {
      call = importName === null ? this.innermost()! : this.callOf(importName)
      this.active.pop()
      call.suspended = true
      this.suspended++
      this.stacks.leave(call, call.outerSp, call.nested, false, live)
    }
    if (importName !== null) call.suspendedAt = importName
    if (live !== saved) this.resumeMoved(call, live)
    this.publish()
  }

  /** The call resumes at `live`, not where its trampoline saved the pointer. */
  private resumeMoved(call: Call, live: number): void {
    if (call.resumeAt === UNASSIGNED) this.cells[CELL.fixes]! += 1
    call.resumeAt = live
  }

  /**
   * A call whose exception left wasm: off the list, then finished. `dead`: its
   * Promise rejected, so it will never run again, even if it resumed and threw
   * before the driver saw it resume.
   */
  private abandon(call: Call, dead: boolean): void {
    if (call.done) return
    this.sync()
    const index = this.active.lastIndexOf(call)
    if (index !== -1) {
      this.active.splice(index, 1)
      this.publish()
    } else if (!dead) {
      return
    } else if (call.suspended) {
      call.suspended = false
      this.suspended--
    }
    this.finish(call)
  }

  /** A call that will not run again (it returned or threw, and is off the active list): its stack and id freed. */
  private finish(call: Call): void {
    call.done = true
    this.stacks.leave(call, call.outerSp, call.nested, true)
    this.calls[call.id] = undefined
    this.freeIds.push(call.id)
  }

  /** The engine's errors for what the Asyncify path reports with codes. */
  private translate(error: unknown, call: Call): unknown {
    const { SuspendError } = jspi
    if (SuspendError && error instanceof SuspendError) return suspendOutsideCall(this.label, call.suspendedAt || 'an async import', error)
    if (isEngineStackOverflow(error)) return engineStackOverflow(this.label, error)
    return error
  }
}
