import { asyncifyStats } from 'unplugin-asyncify/runtime'
import { describe, expect, it } from 'vitest'
import { compileC } from '../helpers/compile-c.js'
import { asyncified, deferred, later, engine } from '../helpers/engine.js'

const u32 = (x: number) => x >>> 0

function checksum(bytes: number[]): number {
  let sum = 0
  for (const b of bytes) sum = u32(Math.imul(sum, 33) + b)
  return sum | 0
}

describe('clang-compiled C programs', () => {
  it('a loop that awaits an import on every step computes the same result as synchronous code', async () => {
    const { exports, report } = await asyncified(compileC('loop.c'), { imports: ['env.next'] }, {
      env: { next: (i: number) => later(i * i + 1) },
    })
    let expected = 0
    for (let i = 0; i < 50; i++) expected = u32(Math.imul(expected, 31) + i * i + 1)
    await expect(exports.sum_steps(50)).resolves.toBe(expected | 0)
    expect(report.suspendingExports).toEqual(['sum_steps'])
  })

  it('qsort with an async comparator sorts through libc indirect calls', async () => {
    let comparisons = 0
    const { instance, exports } = await asyncified(compileC('sort.c'), { imports: ['env.compare'] }, {
      env: {
        compare: async (a: number, b: number) => {
          comparisons++
          await later(null)
          return a - b
        },
      },
    })
    exports._initialize()
    const values = [42, -7, 19, 3, 3, 1000, 0, -250, 77, 8, 15, 4]
    const memory = instance.exports.memory as WebAssembly.Memory
    const pointer = exports.alloc(values.length * 4) as number
    new Int32Array(memory.buffer, pointer, values.length).set(values)
    await exports.sort(pointer, values.length)
    expect([...new Int32Array(memory.buffer, pointer, values.length)]).toEqual([...values].sort((a, b) => a - b))
    expect(comparisons).toBeGreaterThan(values.length)
    exports.release(pointer)
  })

  it('recursion 400 frames deep with a suspension at the bottom keeps every frame intact', async () => {
    const { instance, exports } = await asyncified(compileC('recurse.c'), { imports: ['env.bottom'] }, {
      env: { bottom: (depth: number) => later(depth * 2) },
    })
    const before = asyncifyStats(instance).stackPointer
    expect(before).toBeGreaterThan(0)
    await expect(exports.recurse(400)).resolves.toBe(800)
    expect(asyncifyStats(instance)).toEqual({ mode: engine, suspendedCalls: 0, stackPointer: before, asyncifyStackUsed: 0 })
  })

  it('i64 and f64 values survive a suspension in parameters, locals and results', async () => {
    const { exports } = await asyncified(compileC('numbers.c'), { imports: ['env.scale64', 'env.halve'] }, {
      env: {
        scale64: (value: bigint, factor: number) => later(value * BigInt(Math.round(factor * 4))),
        halve: (value: number) => later(value / 2),
      },
    })
    const a = 0x1_0000_0001n
    const b = 2.5
    const expected = a * 3n + a * 10n + BigInt(Math.trunc(((b + 0.25) / 2) * 1000))
    await expect(exports.mix(a, b)).resolves.toBe(expected)
  })

  it('malloc-heavy code that suspends never sees the Asyncify data in its heap, even after the heap grows', async () => {
    const { instance, exports } = await asyncified(compileC('heap.c'), { imports: ['env.pause'] }, {
      env: { pause: (round: number) => later(round) },
    })
    exports._initialize()
    const memory = instance.exports.memory as WebAssembly.Memory
    // 40 blocks of 100 KiB grow memory several times after the runtime has taken its pages.
    await expect(exports.churn(40, 100 * 1024)).resolves.toBe(0)
    const pagesAfter = memory.buffer.byteLength / 65536
    expect(pagesAfter).toBeGreaterThan(60)
    await expect(exports.churn(5, 1024)).resolves.toBe(0)
  })

  it('overlapping calls that resolve out of order keep their C stack frames apart', async () => {
    const gates = new Map<string, ReturnType<typeof deferred<number>>>()
    const gate = (id: number, phase: number) => {
      const key = `${id}:${phase}`
      if (!gates.has(key)) gates.set(key, deferred<number>())
      return gates.get(key)!
    }
    const { instance, exports } = await asyncified(compileC('overlap.c'), { imports: ['env.wait'] }, {
      env: { wait: (id: number, phase: number) => gate(id, phase).promise },
    })
    const start = asyncifyStats(instance).stackPointer
    const expected = (id: number) =>
      (checksum(Array.from({ length: 256 }, (_, i) => (id * 13 + i) & 255)) + id * 10 * 1000 + id * 100) | 0
    const jobs = [1, 2, 3].map((id) => exports.job(id) as Promise<number>)
    // A synchronous export runs between suspensions on the same shadow stack.
    expect(exports.sync_work(9)).toBe(checksum(Array.from({ length: 512 }, (_, i) => (9 + i) & 255)))
    const order: [number, number][] = [[3, 0], [1, 0], [2, 0], [2, 1], [3, 1], [1, 1]]
    for (const [id, phase] of order) {
      await later(null)
      gate(id, phase).resolve(phase === 0 ? id * 10 : id * 100)
    }
    expect(await Promise.all(jobs)).toEqual([1, 2, 3].map(expected))
    expect(asyncifyStats(instance)).toEqual({ mode: engine, suspendedCalls: 0, stackPointer: start, asyncifyStackUsed: 0 })
  })

  it('random interleavings of overlapping and re-entrant calls keep every result and leave the stacks clean', async () => {
    let seed = 0x5eed
    const random = () => {
      seed = (seed + 0x6d2b79f5) | 0
      let t = Math.imul(seed ^ (seed >>> 15), 1 | seed)
      t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t
      return ((t ^ (t >>> 14)) >>> 0) / 2 ** 32
    }
    const waiting: (() => void)[] = []
    let exports!: Record<string, any>
    const nested: { id: number; result: Promise<number> }[] = []
    const loaded = await asyncified(compileC('overlap.c'), { imports: ['env.wait'] }, {
      env: {
        wait: (id: number, phase: number) => {
          // Sometimes start another job from inside the import, while wasm is on the stack.
          if (id < 100 && random() < 0.3) nested.push({ id: id + 100, result: exports.job(id + 100) })
          if (random() < 0.2) return id + phase
          return new Promise<number>((resolve) => waiting.push(() => resolve(id + phase)))
        },
      },
    })
    exports = loaded.exports
    const start = asyncifyStats(loaded.instance).stackPointer
    const expected = (id: number) =>
      (checksum(Array.from({ length: 256 }, (_, i) => (id * 13 + i) & 255)) + id * 1000 + id + 1) | 0
    for (let round = 0; round < 25; round++) {
      const ids = [1, 2, 3, 4].map((k) => k + round * 4)
      nested.length = 0
      const jobs = ids.map((id) => exports.job(id) as Promise<number>)
      let settled = false
      void Promise.allSettled(jobs).then(() => (settled = true))
      for (;;) {
        if (waiting.length === 0) {
          // Continuations run as microtasks, so after a macrotask every unsettled call has a waiter.
          await later(null)
          if (waiting.length === 0 && settled) break
          continue
        }
        const [next] = waiting.splice(Math.floor(random() * waiting.length), 1)
        next!()
        if (random() < 0.5) await later(null)
        else await Promise.resolve()
      }
      expect(await Promise.all(jobs)).toEqual(ids.map(expected))
      expect(await Promise.all(nested.map((entry) => entry.result))).toEqual(nested.map((entry) => expected(entry.id)))
    }
    expect(asyncifyStats(loaded.instance)).toEqual({ mode: engine, suspendedCalls: 0, stackPointer: start, asyncifyStackUsed: 0 })
  })
})

describe('buffers on the C stack', () => {
  it('an async import that fills a stack buffer after its await hands the bytes to C, with calls overlapping', async () => {
    let memory!: WebAssembly.Memory
    const line = (reader: number, round: number) => `reader ${reader} line ${round} ${'#'.repeat(reader * 3 + round)}`
    const release: (() => void)[] = []
    const loaded = await asyncified(compileC('read-line.c'), { imports: ['env.read_line'] }, {
      env: {
        read_line: async (reader: number, round: number, pointer: number, capacity: number) => {
          await new Promise<void>((resolve) => release.push(resolve))
          const bytes = new TextEncoder().encode(line(reader, round)).subarray(0, capacity)
          new Uint8Array(memory.buffer, pointer, bytes.length).set(bytes)
          return bytes.length
        },
      },
    })
    memory = loaded.instance.exports.memory as WebAssembly.Memory
    const start = asyncifyStats(loaded.instance).stackPointer
    const expected = (reader: number, rounds: number) => {
      let total = 0
      for (let round = 0; round < rounds; round++) {
        for (const byte of new TextEncoder().encode(line(reader, round))) total = u32(Math.imul(total, 31) + byte)
      }
      return total | 0
    }
    const readers = [1, 2, 3, 4]
    const calls = readers.map((reader) => loaded.exports.read_sum(reader, 3) as Promise<number>)
    let settled = false
    void Promise.allSettled(calls).then(() => (settled = true))
    // Release the pending reads newest first, so calls resume in the opposite order they suspended.
    while (!settled) {
      const next = release.pop()
      if (next) next()
      await later(null)
    }
    expect(await Promise.all(calls)).toEqual(readers.map((reader) => expected(reader, 3)))
    expect(asyncifyStats(loaded.instance)).toEqual({ mode: engine, suspendedCalls: 0, stackPointer: start, asyncifyStackUsed: 0 })
  })
})
