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
 * a call is pushed when it enters or resumes (`resumed`, called by the import
 * trampoline right after the engine switched back to it), and popped when it
 * suspends (`wait`) or returns (`exit`, from its export trampoline). A call
 * that throws is popped where its exception surfaces: synchronously in
 * `suspendingExport` on its first run, else in the rejection handler of its
 * Promise.
 */
import { engineStackOverflow, isEngineStackOverflow, suspendOutsideCall } from './errors.js'
import type { AsyncifyStats } from './asyncify-driver.js'
import { CALL, ImportDepth, countedImport, isThenable } from './import-depth.js'
import { i32Global } from './i32-global.js'
import { invoker, type WasmFunction } from './invoke.js'
import { OwnedMemory, type Malloc } from './owned-memory.js'
import { ShadowStacks, UNASSIGNED, type StackUser } from './shadow-stacks.js'

interface Call extends StackUser {
  /** Names the call to the import trampoline across a suspension (`signal`); never 0. */
  id: number
  importDepth: number
  /** The pointer value to give back when the call leaves. */
  outerSp: number
  /** The import it is suspended at, for messages. */
  suspendedAt: string
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

export class JspiDriver {
  private readonly active: Call[] = []
  private readonly imports = new ImportDepth()
  private suspended = 0
  private pending: PromiseLike<unknown> | null = null
  /** Calls in flight by id; ids of finished calls are reused, so the table stays small. Id 0 is `signal`'s "no Promise". */
  private readonly calls: (Call | undefined)[] = [undefined]
  private readonly freeIds: number[] = []
  /**
   * Set by an async import that returned a Promise to the id of the call that
   * is about to suspend: its trampoline then keeps the id, clears `signal` and waits.
   */
  // Annotated: the inferred `Global<"i32">` would put a generic that TypeScript's DOM types have only since 5.7 into the package's .d.ts.
  readonly signal: WebAssembly.Global = new WebAssembly.Global({ value: 'i32', mutable: true }, 0)
  private readonly signalAccess = i32Global(this.signal)
  private stacks!: ShadowStacks

  constructor(
    private readonly label: string,
    private readonly shadowStackSize: number,
  ) {}

  /** Completes the driver once the instance exists; only overlapping calls need memory of their own here. */
  attach(memory: WebAssembly.Memory | null, stackPointer: WebAssembly.Global | null, malloc: Malloc | null): void {
    const owned = new OwnedMemory(this.label, memory, malloc)
    owned.reserveAtInstantiation(0, stackPointer ? this.shadowStackSize : 0)
    this.stacks = new ShadowStacks(stackPointer, owned, this.shadowStackSize)
  }

  /** The plain half of an async import of `arity` parameters: a thenable is kept for `wait`, and `signal` set. */
  asyncImport(fn: WasmFunction, arity: number, placeholder: unknown, importName: string): WasmFunction {
    return countedImport(fn, arity, this.imports, {
      before: () => CALL,
      after: (result) => {
        if (!isThenable(result)) return result
        const call = this.active[this.active.length - 1]
        if (call === undefined || call.importDepth !== this.imports.current) throw suspendOutsideCall(this.label, importName)
        call.suspendedAt = importName
        this.pending = result
        this.signalAccess.set(call.id)
        return placeholder
      },
    })
  }

  /** The Suspending half: the call leaves the JS stack until the Promise settles. */
  wait(): () => PromiseLike<unknown> {
    return () => {
      const pending = this.pending!
      this.pending = null
      const call = this.active.pop()!
      this.stacks.leave(call, call.outerSp, this.active.length > 0, false)
      this.suspended++
      // The engine settles a Promise itself; another thenable is adopted the way `await` would.
      return pending instanceof Promise ? pending : Promise.resolve(pending)
    }
  }

  /** Called by the import trampoline as soon as the engine switched back to call `id`, with its value or its rejection. */
  resumed(): (id: number) => void {
    return (id) => {
      const call = this.calls[id]!
      this.suspended--
      call.importDepth = this.imports.current
      call.outerSp = this.stacks.enter(call, this.active.length === 0)
      this.active.push(call)
    }
  }

  /** An import that is not async, counted so that entries through it are seen. */
  syncImport(fn: WasmFunction, importName: string, onThenable: (importName: string) => never): WasmFunction {
    return countedImport(fn, null, this.imports, {
      before: () => CALL,
      after: (result) => {
        if (isThenable(result)) onThenable(importName)
        return result
      },
    })
  }

  /** Called by an export trampoline when the export returned. */
  exit(): () => void {
    return () => {
      this.finish(this.active.pop()!)
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
        outerSp: 0,
        suspendedAt: '',
      }
      this.calls[call.id] = call
      call.outerSp = this.stacks.enter(call, this.active.length === 0)
      this.active.push(call)
      let promise: Promise<unknown>
      try {
        promise = invoke(promising, args) as Promise<unknown>
      } catch (error) {
        this.abandon(call)
        return Promise.reject(this.translate(error, call))
      }
      // Still active after the synchronous part: it threw.
      this.abandon(call)
      return promise.catch((error: unknown) => {
        this.abandon(call)
        throw this.translate(error, call)
      })
    }
  }

  stats(): AsyncifyStats {
    return { mode: 'jspi', suspendedCalls: this.suspended, stackPointer: this.stacks.current(), asyncifyStackUsed: 0 }
  }

  /** A call whose exception left wasm: off the active list, then finished. */
  private abandon(call: Call): void {
    const index = this.active.lastIndexOf(call)
    if (index === -1) return
    this.active.splice(index, 1)
    this.finish(call)
  }

  /** A call that will not run again (it returned or threw, and is off the active list): its stack and id freed. */
  private finish(call: Call): void {
    this.stacks.leave(call, call.outerSp, this.active.length > 0, true)
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
