/*
 * An import's JavaScript that moves the C stack pointer and leaves it moved
 * (test/fixtures/c/moved.c: it calls a synchronous export that traps while it
 * holds a frame). The untouched module, run with synchronous imports, is the
 * reference: after each import returns, the program's next frame must land
 * where it lands there, whether the import answered with a Promise (a
 * suspension) or a plain value, on either path. On the JSPI path the rounds
 * take each of the import trampoline's paths (plain call, predicted Promise,
 * the suspensions it books in wasm), and the overlapping cases make the
 * driver take a booked call in while its import's move is still pending.
 */
import { asyncifyStats } from 'unplugin-asyncify/runtime'
import { describe, expect, it } from 'vitest'
import { compileC } from '../helpers/compile-c.js'
import { asyncified, deferred, later } from '../helpers/engine.js'

type Answer = 'promise' | 'value' | 'macrotask'

interface Round {
  answer: Answer
  /** The import calls `trap_holding` first, leaving the pointer lower. */
  leak: boolean
}

const rounds = (answers: Answer[], leaks: (round: number) => boolean): Round[] =>
  answers.map((answer, round) => ({ answer, leak: leaks(round) }))

/** The import's own work for one round: a leak when the plan says. */
function leakIf(exports: Record<string, any>, round: number, plan: Round[]): void {
  if (!plan[round]!.leak) return
  expect(() => exports.trap_holding(round)).toThrow(WebAssembly.RuntimeError)
}

/** Where the frames landed after each round of the call in `slot`. */
const marksOf = (exports: Record<string, any>, slot: number, count: number) =>
  Array.from({ length: count }, (_, round) => exports.mark(slot, round) as number)

/** The untouched module, one call in slot 0 at a time, synchronous imports: `calls` of them in turn. */
async function reference(wasm: Uint8Array, plan: Round[], calls = 1) {
  let exports: Record<string, any> = {}
  const { instance } = await WebAssembly.instantiate(wasm as Uint8Array<ArrayBuffer>, {
    env: {
      step: (_slot: number, round: number) => {
        leakIf(exports, round, plan)
        return round + 1
      },
    },
  })
  exports = instance.exports as Record<string, any>
  ;(exports._initialize as (() => void) | undefined)?.()
  const runs = Array.from({ length: calls }, () => {
    const sum = exports.walk(0, plan.length) as number
    return { sum, marks: marksOf(exports, 0, plan.length) }
  })
  // The test means something only if the leaks move the frames the program sees.
  expect(new Set(runs[0]!.marks).size).toBeGreaterThan(1)
  return runs
}

describe('an import that leaves the C stack pointer moved', () => {
  const plans: Record<string, Round[]> = {
    'every import leaks, Promises in a row': rounds(['promise', 'promise', 'promise', 'promise', 'promise', 'promise'], () => true),
    'leaks in some rounds, Promises and plain values mixed': rounds(
      ['promise', 'promise', 'value', 'promise', 'promise', 'macrotask', 'value', 'value', 'promise', 'macrotask', 'promise'],
      (round) => round % 3 !== 1,
    ),
    'a leak only after the loop of awaits settled in': rounds(['promise', 'promise', 'promise', 'promise', 'promise', 'promise'], (round) => round === 4),
    'plain values first, then Promises': rounds(['value', 'value', 'promise', 'promise', 'promise'], (round) => round >= 1),
  }

  for (const level of ['-O0', '-O2']) {
    for (const [name, plan] of Object.entries(plans)) {
      it(`resumes where the import left the pointer: ${name} (${level})`, async () => {
        const wasm = compileC('moved.c', [level])
        // A second call finds the import predicted to return a Promise (on JSPI, its first suspension is the driver's).
        const expected = await reference(wasm, plan, 2)
        let exports: Record<string, any> = {}
        const loaded = await asyncified(wasm, { imports: ['env.step'] }, {
          env: {
            step: (_slot: number, round: number) => {
              leakIf(exports, round, plan)
              const value = round + 1
              const { answer } = plan[round]!
              return answer === 'value' ? value : answer === 'promise' ? Promise.resolve(value) : later(value)
            },
          },
        })
        exports = loaded.exports
        const rest = asyncifyStats(loaded.instance).stackPointer
        const runs = []
        for (let call = 0; call < 2; call++) {
          const sum = await exports.walk(0, plan.length)
          runs.push({ sum, marks: marksOf(exports, 0, plan.length) })
        }
        expect(runs).toEqual(expected)
        expect(asyncifyStats(loaded.instance)).toMatchObject({ suspendedCalls: 0, stackPointer: rest })
      })
    }
  }

  /*
   * Call A (slot 0) holds the program's stack and leaks in every import; call B
   * (slot 1) runs on a stack of its own. Each import answers when the test
   * says, so B can start, or resume, while A waits with its leak pending.
   */
  const overlaps: Record<string, (answer: (slot: number) => Promise<void>, startB: () => void) => Promise<void>> = {
    'a call starts while it waits': async (answer, startB) => {
      for (let i = 0; i < 3; i++) await answer(0)
      startB()
      for (let i = 0; i < 3; i++) await answer(0)
      for (let i = 0; i < 4; i++) await answer(1)
    },
    'another call resumes while it waits': async (answer, startB) => {
      startB()
      for (let i = 0; i < 4; i++) {
        await answer(0)
        await answer(1)
      }
      await answer(0)
      await answer(0)
    },
  }
  const LENGTH = 6
  const plan = rounds(Array<Answer>(LENGTH).fill('promise'), () => true)

  for (const [name, script] of Object.entries(overlaps)) {
    it(`resumes where the import left the pointer when ${name} (-O2)`, async () => {
      const wasm = compileC('moved.c')
      const [expected] = await reference(wasm, plan)
      const waiting = [[], []] as ReturnType<typeof deferred<number>>[][]
      let exports: Record<string, any> = {}
      const loaded = await asyncified(wasm, { imports: ['env.step'] }, {
        env: {
          step: (slot: number, round: number) => {
            if (slot === 0) leakIf(exports, round, plan)
            const next = deferred<number>()
            waiting[slot]!.push(next)
            return next.promise.then(() => round + 1)
          },
        },
      })
      exports = loaded.exports
      const rest = asyncifyStats(loaded.instance).stackPointer
      const a = exports.walk(0, LENGTH)
      let b: Promise<number> | undefined
      const answer = async (slot: number) => {
        waiting[slot]!.shift()!.resolve(0)
        await later(null)
      }
      await script(answer, () => {
        b = exports.walk(1, 4)
      })
      expect(await a).toBe(expected!.sum)
      expect(await b).toBe(1 + 2 + 3 + 4)
      expect(marksOf(exports, 0, LENGTH)).toEqual(expected!.marks)
      expect(asyncifyStats(loaded.instance)).toMatchObject({ suspendedCalls: 0, stackPointer: rest })
    })
  }
})
