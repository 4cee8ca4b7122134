/*
 * The C shadow stack (`__stack_pointer` in clang and Rust output) for calls
 * that overlap. Both drivers need it: Asyncify leaves a suspended call's
 * frames below the pointer (unwinding skips epilogues), and JSPI switches only
 * the wasm stack, so the linear-memory frames of a suspended call stay where
 * they are either way. Frames never move (an import may still write into a
 * suspended call's stack buffer): a call runs on the program's own stack when
 * no suspended call holds it, else on a stack of its own (`size` bytes of
 * owned memory, reused). While a suspended call holds the program's stack, the
 * pointer rests just below its frames, so synchronous exports run below them.
 */
import type { OwnedMemory } from './owned-memory.js'
import type { I32Global } from './i32-global.js'

/** `StackUser` values besides addresses: no stack yet (both fields of a new user), and the program's own stack. */
export const UNASSIGNED = -1
const MAIN = 0

/** What a call keeps about its C stack. */
export interface StackUser {
  /** Its pointer: its top before the first entry, its depth while suspended. */
  sp: number
  /** The program's own stack (`MAIN`), the top of one of ours, or UNASSIGNED. */
  stack: number
}

export class ShadowStacks {
  /**
   * Where the pointer rests with no call on it: its live value when the latest
   * call from JS took the program's stack (JS may have moved it with a
   * stackAlloc-style export).
   */
  private restSp: number
  private mainHolder: StackUser | null = null
  private readonly free: number[] = []

  constructor(
    /** The C stack pointer, or null when the runtime does not manage one. */
    private readonly pointer: I32Global | null,
    private readonly owned: OwnedMemory,
    private readonly size: number,
  ) {
    this.restSp = pointer ? pointer.get() : 0
  }

  /** The pointer's value (unsigned), or null when the C stack is not managed. */
  current(): number | null {
    return this.pointer ? this.pointer.get() : null
  }

  /**
   * A call enters or resumes: the pointer moves to its stack. Returns the value
   * to give back when it leaves while another call is running. `fromJs`: no
   * other call is running, so the live pointer is where JS left it (under a
   * running call it may be on one of our stacks). `known`: the pointer's value
   * (unsigned) when the caller knows it, else null. The pointer is read or
   * written only when its value is needed or differs: each access is a call
   * into wasm.
   */
  enter(user: StackUser, fromJs: boolean, known: number | null): number {
    const sp = this.pointer
    if (!sp) return 0
    if (fromJs && user.stack !== UNASSIGNED) {
      if (user.sp !== known) sp.set(user.sp)
      return 0
    }
    const outer = known ?? sp.get()
    if (user.stack === UNASSIGNED) {
      if (this.mainHolder === null) {
        if (fromJs) this.restSp = outer
        this.mainHolder = user
        user.stack = MAIN
        user.sp = this.restSp
      } else {
        user.stack = this.free.pop() ?? this.owned.stack(this.size, 'a C stack for overlapping calls')
        user.sp = user.stack
      }
    }
    if (user.sp !== outer) sp.set(user.sp)
    return outer
  }

  /**
   * A call returns, throws (`done`) or suspends: the pointer goes back to the
   * caller's value when another call is running (`nested`), else to rest.
   * `live`: the pointer's value, when the caller already has it.
   */
  leave(user: StackUser, outer: number, nested: boolean, done: boolean, live?: number): void {
    const sp = this.pointer
    if (!sp) return
    let now = -1
    if (done) this.release(user)
    else user.sp = now = live ?? sp.get()
    const target = nested ? outer : this.mainHolder === null ? this.restSp : this.mainHolder.sp
    if (target !== now) sp.set(target)
  }

  /**
   * A call that resumed and suspends again with nothing in between: its frames
   * end at `live`, and the pointer goes back to `rest`, where it rested when
   * the call resumed, unless it rested on the call's own frames (`resumedAt`,
   * the value the call resumed with). The import trampolines do the same in
   * wasm for the suspensions they book (trampolines.ts).
   */
  park(user: StackUser, live: number, rest: number, resumedAt: number): void {
    if (!this.pointer) return
    user.sp = live
    if (rest !== resumedAt) this.pointer.set(rest)
  }

  /** A call that will never run again gives back its stack. */
  release(user: StackUser): void {
    if (user.stack === MAIN) this.mainHolder = null
    else if (user.stack !== UNASSIGNED) this.free.push(user.stack)
    user.stack = UNASSIGNED
  }
}
