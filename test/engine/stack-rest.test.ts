/*
 * Where the C stack pointer rests between suspensions (test/fixtures/c/
 * rest.c), on either path: a call on a stack of its own keeps suspending in a
 * loop after the call that held the program's stack has finished; a call
 * started meanwhile takes the program's stack and must find its buffer intact,
 * while the first keeps using stack after every resume. On the JSPI path the
 * loop's suspensions are the ones the import trampolines book in wasm.
 */
import { asyncifyStats } from 'unplugin-asyncify/runtime'
import { describe, expect, it } from 'vitest'
import { compileC } from '../helpers/compile-c.js'
import { asyncified, deferred } from '../helpers/engine.js'

describe('the C stack pointer between suspensions', () => {
  it('rests outside a looping call\'s own stack, so a call started meanwhile keeps its frames', async () => {
    // tick(id) answers when the test says: each id has a queue of pending answers.
    const waiting = new Map<number, ReturnType<typeof deferred<number>>[]>()
    const answer = (id: number) => waiting.get(id)!.shift()!.resolve(id)
    const { instance, exports } = await asyncified(compileC('rest.c'), {}, {
      env: {
        tick: (id: number) => {
          const next = deferred<number>()
          if (!waiting.has(id)) waiting.set(id, [])
          waiting.get(id)!.push(next)
          return next.promise
        },
      },
    })
    const settle = () => new Promise((resolve) => setTimeout(resolve, 0))
    const rest = asyncifyStats(instance).stackPointer
    // Z takes the program's stack and waits; X starts under it on a stack of its own.
    const z = exports.hold(1, 1)
    const x = exports.hold(2, 40)
    await settle()
    // Z finishes: the program's stack is free again, X still waits on its own.
    answer(1)
    expect(await z).toBe(1)
    // X resumes and suspends again, over and over, with nothing in between.
    for (let i = 0; i < 10; i++) {
      answer(2)
      await settle()
    }
    expect(asyncifyStats(instance).stackPointer).toBe(rest)
    // W starts now, takes the program's stack and waits; X runs on, using stack after each resume.
    const w = exports.hold(3, 2)
    await settle()
    for (let i = 0; i < 30; i++) {
      answer(2)
      await settle()
    }
    expect(await x).toBe(1)
    answer(3)
    await settle()
    answer(3)
    expect(await w).toBe(1)
    expect(asyncifyStats(instance)).toMatchObject({ suspendedCalls: 0, stackPointer: rest })
  })
})
