import { asyncifyStats } from 'unplugin-asyncify/runtime'
import { describe, expect, it } from 'vitest'
import { compileC } from '../helpers/compile-c.js'
import { asyncified, later } from '../helpers/engine.js'

/*
 * A hostile schedule for storm.c: thousands of overlapping calls of `work`,
 * each recursing to its own depth and awaiting its `step` import several
 * times; every step resolves after a random timer, returns a plain value,
 * calls another export (synchronously or after awaiting), or rejects. The
 * whole schedule comes from a seeded generator, and every call's answer is
 * worked out here in JavaScript from storm.c's arithmetic, not from a run.
 */

const u32 = (x: number) => x >>> 0
const u64 = (x: bigint) => BigInt.asUintN(64, x)

/** mulberry32: a small seeded generator, so a failure replays exactly. */
function generator(seed: number) {
  return () => {
    seed = (seed + 0x6d2b79f5) | 0
    let t = Math.imul(seed ^ (seed >>> 15), 1 | seed)
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t
    return ((t ^ (t >>> 14)) >>> 0) / 2 ** 32
  }
}

const TABLE_SIZE = 1 << 16
const tableByte = (i: number) => (i * 131 + 7) & 255

/** storm.c's digest(x). */
function digest(x: number): number {
  let sum = 0
  for (let i = 0; i < 128; i++) sum = u32(Math.imul(sum, 33) + (tableByte((x + i * 7) % TABLE_SIZE) ^ i))
  return sum | 0
}

/** storm.c's work(id, depth), given what each step(id, k) returns. */
function work(id: number, depth: number, stepValue: (k: number) => number): bigint {
  let k = 0
  const descend = (level: number, carry: bigint, scale: number): bigint => {
    let sum = 0
    for (let i = 0; i < 24; i++) sum = u32(Math.imul(sum, 33) + ((id * 7 + level * 13 + i) & 255))
    const t = tableByte((id * 31 + level) % TABLE_SIZE)
    const a = id * 31 + level * t
    const b = u64(carry * 3n + BigInt(t) * 1000003n)
    const c = Math.fround(Math.fround(id + t) / Math.fround(level + 3))
    const d = scale * 0.75 + (t + 1) / (level + 1)
    let below = level === depth ? u64(BigInt(stepValue(k++))) : descend(level + 1, b, d)
    if (level % 3 === 0) below = u64(below + BigInt(stepValue(k++)))
    return u64(
      below * 3n +
        BigInt(a) +
        b +
        BigInt(Math.trunc(Math.fround(c * 1000))) +
        BigInt(Math.trunc(d * 1024)) +
        BigInt(sum),
    )
  }
  return BigInt.asIntN(64, descend(0, BigInt(id), id / 7))
}

/** How many times work(id, depth) calls step: at the bottom, and at every level divisible by 3. */
const stepCount = (depth: number) => 1 + Math.floor(depth / 3) + 1

type StepKind =
  | 'timer' // resolves after a 0-3 ms timer
  | 'plain' // returns a plain value: no suspension
  | 'digest-now' // calls the synchronous export digest() before returning a Promise
  | 'digest-later' // calls digest() after its await, while the call is suspended
  | 'nested-now' // starts another work() call synchronously, while wasm is on the stack, and waits for it
  | 'nested-later' // awaits a timer, then starts another work() call and waits for it
  | 'reject' // rejects after a timer: the call's Promise rejects with this very error

interface Step {
  kind: StepKind
  delay: number
  /** For nested kinds: the call this step starts. */
  nested?: Call
}

interface Call {
  id: number
  depth: number
  steps: Step[]
  /** Set for a call whose steps include a rejection. */
  error?: Error
}

const stepBase = (id: number, k: number) => (id * 7919 + k * 104729) % 65536

describe('thousands of overlapping calls with random delays, re-entrance and rejections', () => {
  it('2,000 calls each return their own value or their own rejection, and the heap and stacks end where they started', async () => {
    const random = generator(0xa51f7)
    const pick = <T>(items: readonly T[]) => items[Math.floor(random() * items.length)]!
    const nestedCalls: Call[] = []
    const plan = (id: number, outer: boolean): Call => {
      const depth = Math.floor(random() * 21)
      const call: Call = { id, depth, steps: [] }
      const kinds: StepKind[] = outer
        ? ['timer', 'timer', 'timer', 'plain', 'digest-now', 'digest-later', 'nested-now', 'nested-later']
        : ['timer', 'timer', 'plain', 'digest-now', 'digest-later']
      for (let k = 0; k < stepCount(depth); k++) {
        const kind = outer && random() < 0.03 ? 'reject' : pick(kinds)
        const step: Step = { kind, delay: Math.floor(random() * 4) }
        if (kind === 'nested-now' || kind === 'nested-later') {
          step.nested = plan(100_000 + nestedCalls.length, false)
          nestedCalls.push(step.nested)
        }
        call.steps.push(step)
        if (kind === 'reject') {
          call.error = new Error(`call ${id} rejected at step ${k}`)
          break
        }
      }
      return call
    }
    const calls = Array.from({ length: 2000 }, (_, id) => plan(id + 1, true))
    const byId = new Map([...calls, ...nestedCalls].map((call) => [call.id, call]))

    /** What step(id, k) returns to C; a nested call contributes the low 16 bits of its result. */
    const expectedStep = (call: Call, k: number): number => {
      const step = call.steps[k]!
      const base = stepBase(call.id, k)
      if (step.kind === 'digest-now' || step.kind === 'digest-later') return (base + digest(call.id + k)) | 0
      if (step.nested) return (base + Number(BigInt.asUintN(16, expected(step.nested)))) | 0
      return base
    }
    const expected = (call: Call) => work(call.id, call.depth, (k) => expectedStep(call, k))

    let exports!: Record<string, any>
    const nestedResults = new Map<number, Promise<bigint>>()
    const startNested = (call: Call) => {
      const result = exports.work(call.id, call.depth) as Promise<bigint>
      nestedResults.set(call.id, result)
      return result
    }
    const heapDamage: { id: number; bytes: number }[] = []
    const loaded = await asyncified(compileC('storm.c'), { imports: ['env.step'] }, {
      env: {
        step: (id: number, k: number): number | Promise<number> => {
          const call = byId.get(id)
          const step = call?.steps[k]
          if (call === undefined || step === undefined) {
            // Only a damaged frame (the id, or the step counter on the C stack) gets here.
            throw new Error(`step(${id}, ${k}) is not a step of any planned call: a frame was damaged`)
          }
          const base = stepBase(id, k)
          switch (step.kind) {
            case 'plain':
              return base
            case 'timer':
              return later(base, step.delay)
            case 'digest-now':
              return later((base + exports.digest(id + k)) | 0, step.delay)
            case 'digest-later':
              return later(null, step.delay).then(() => (base + exports.digest(id + k)) | 0)
            case 'nested-now': {
              const nested = startNested(step.nested!)
              return nested.then((value) => (base + Number(BigInt.asUintN(16, value))) | 0)
            }
            case 'nested-later':
              return later(null, step.delay)
                .then(() => startNested(step.nested!))
                .then((value) => (base + Number(BigInt.asUintN(16, value))) | 0)
            case 'reject':
              return later(null, step.delay).then(() => Promise.reject(call.error))
          }
        },
        report: (id: number, bytes: number) => heapDamage.push({ id, bytes }),
      },
    })
    exports = loaded.exports
    exports._initialize()
    expect(exports.setup(TABLE_SIZE)).toBe(0)
    const baseline = asyncifyStats(loaded.instance)

    const running: Promise<bigint>[] = []
    for (const call of calls) {
      const result = exports.work(call.id, call.depth) as Promise<bigint>
      // Rejections are expected; they are checked once everything has settled.
      result.catch(() => {})
      running.push(result)
      // Start them in bursts, so new calls arrive while older ones resume.
      if (call.id % 50 === 0) await later(null, Math.floor(random() * 3))
    }
    const outcomes = await Promise.allSettled(running)
    const nestedOutcomes = await Promise.allSettled(nestedCalls.map((call) => nestedResults.get(call.id)!))

    const mismatches: { id: number; expected: string; actual: string }[] = []
    const compare = (call: Call, outcome: PromiseSettledResult<bigint>) => {
      // Only the very Error object the import rejected with counts, not a copy with the same message.
      const want = call.error ? `rejected with its own error (${call.error.message})` : `resolved to ${expected(call)}`
      const got =
        outcome.status === 'fulfilled'
          ? `resolved to ${outcome.value}`
          : call.error !== undefined && outcome.reason === call.error
            ? `rejected with its own error (${call.error.message})`
            : `rejected with ${String(outcome.reason)}`
      if (got !== want) mismatches.push({ id: call.id, expected: want, actual: got })
    }
    calls.forEach((call, i) => compare(call, outcomes[i]!))
    nestedCalls.forEach((call, i) => compare(call, nestedOutcomes[i]!))
    expect(mismatches).toEqual([])
    expect(heapDamage).toEqual([])
    expect(exports.heap_check()).toBe(0)
    expect(asyncifyStats(loaded.instance)).toEqual(baseline)

    // The schedule really was hostile: every kind of step happened, and often.
    const counts = new Map<StepKind, number>()
    for (const call of [...calls, ...nestedCalls]) {
      for (const step of call.steps) counts.set(step.kind, (counts.get(step.kind) ?? 0) + 1)
    }
    for (const kind of ['timer', 'plain', 'digest-now', 'digest-later', 'nested-now', 'nested-later', 'reject'] as const) {
      expect(counts.get(kind) ?? 0, kind).toBeGreaterThan(100)
    }
  })
})
