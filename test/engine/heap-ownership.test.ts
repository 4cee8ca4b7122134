import { asyncifyStats } from 'unplugin-asyncify/runtime'
import { describe, expect, it } from 'vitest'
import { compileC } from '../helpers/compile-c.js'
import { asyncified, deferred, later } from '../helpers/engine.js'

/*
 * Suspended state (the Asyncify data, the C stacks of overlapping calls) must
 * live in memory the program's allocator never hands out, whatever the
 * program does with its heap and whenever it first calls malloc.
 */

const u32 = (x: number) => x >>> 0

/** What first-malloc.c's tick import returns: any value C cannot guess. */
const tickValue = (id: number, round: number) => id * 1000 + round * 7 + 3

/** run()'s result: the sum of its tick() results (its frames add 0 when intact). */
function firstMallocTotal(id: number, rounds: number): number {
  let total = tickValue(id, -1)
  for (let round = 0; round < rounds; round++) total += tickValue(id, round)
  return total
}

interface Corruption {
  id: number
  heapBytes: number
  firstAddress: number
  stackBytes: number
}

const intact = (id: number): Corruption => ({ id, heapBytes: 0, firstAddress: 0, stackBytes: 0 })

async function loadFirstMalloc(flags: string[], firstTick: (id: number) => Promise<number>) {
  const reports: Corruption[] = []
  const loaded = await asyncified(compileC('first-malloc.c', flags), { imports: ['env.tick'] }, {
    env: {
      tick: (id: number, round: number) => (round === -1 ? firstTick(id) : later(tickValue(id, round))),
      report: (id: number, heapBytes: number, firstAddress: number, stackBytes: number) =>
        reports.push({ id, heapBytes, firstAddress, stackBytes }),
    },
  })
  loaded.exports._initialize()
  return { ...loaded, reports }
}

describe('a first malloc that comes after the first suspension', () => {
  // 100 frames deep, so every later suspension writes kilobytes of Asyncify data.
  const size = 100_000
  const rounds = 4
  const depth = 100

  it.each([
    ['keeps malloc internal', []],
    ['exports malloc and free', ['-DEXPORT_MALLOC']],
  ])('a program that %s keeps every byte of a 100,000-byte block malloc\'d after its first suspension', async (_, flags) => {
    const { instance, exports, reports } = await loadFirstMalloc(flags, (id) => later(tickValue(id, -1)))
    const baseline = asyncifyStats(instance)
    await expect(exports.run(1, 1, size, rounds, depth)).resolves.toBe(firstMallocTotal(1, rounds))
    expect(reports).toEqual([intact(1)])
    expect(asyncifyStats(instance)).toEqual(baseline)
  })

  it('two overlapping calls that both suspend before the program\'s first malloc keep their heap blocks and stack buffers', async () => {
    const gates: (() => void)[] = []
    const { instance, exports, reports } = await loadFirstMalloc([], (id) => {
      const gate = deferred<number>()
      gates.push(() => gate.resolve(tickValue(id, -1)))
      return gate.promise
    })
    const baseline = asyncifyStats(instance)
    // The second call needs a C stack of its own while the first holds the program's.
    const calls = [1, 2].map((id) => exports.run(id, 3, size, rounds, depth) as Promise<number>)
    expect(gates).toHaveLength(2)
    for (const open of gates) open()
    expect(await Promise.all(calls)).toEqual([firstMallocTotal(1, rounds), firstMallocTotal(2, rounds)])
    expect(reports.sort((a, b) => a.id - b.id)).toEqual([intact(1), intact(2)])
    expect(asyncifyStats(instance)).toEqual(baseline)
  })
})

describe('tens of megabytes of malloc while calls are suspended', () => {
  const readers = [1, 2, 3, 4]
  const rounds = 3
  const blockSize = 200_000
  const bigBlock = 10 << 20
  const line = (reader: number, round: number) => `reader ${reader} round ${round} ${'~'.repeat(reader * 17 + round * 5)}`

  function linesHash(reader: number): number {
    let total = 0
    for (let round = 0; round < rounds; round++) {
      for (const byte of new TextEncoder().encode(line(reader, round))) total = u32(Math.imul(total, 31) + byte)
    }
    return total | 0
  }

  async function loadReaders(readLine: (reader: number, round: number) => Promise<void>) {
    const reports: { reader: number; heapBytes: number; stackBytes: number }[] = []
    let memory!: WebAssembly.Memory
    const loaded = await asyncified(compileC('big-heap.c'), { imports: ['env.read_line'] }, {
      env: {
        read_line: async (reader: number, round: number, pointer: number, capacity: number) => {
          await readLine(reader, round)
          const bytes = new TextEncoder().encode(line(reader, round)).subarray(0, capacity)
          new Uint8Array(memory.buffer, pointer, bytes.length).set(bytes)
          return bytes.length
        },
        report: (reader: number, heapBytes: number, stackBytes: number) => reports.push({ reader, heapBytes, stackBytes }),
      },
    })
    memory = loaded.instance.exports.memory as WebAssembly.Memory
    loaded.exports._initialize()
    return { ...loaded, memory, reports }
  }

  it('a synchronous export that mallocs 4 x 10 MB between suspensions leaves suspended calls\' stack buffers and heap blocks intact', async () => {
    const waiting: (() => void)[] = []
    const { instance, exports, memory, reports } = await loadReaders(
      () => new Promise<void>((resolve) => waiting.push(resolve)),
    )
    const baseline = asyncifyStats(instance)
    const calls = readers.map((reader) => exports.read_all(reader, rounds, blockSize) as Promise<number>)
    const churns: number[] = []
    for (let round = 0; round < rounds; round++) {
      expect(waiting).toHaveLength(readers.length)
      churns.push(exports.churn(4, bigBlock))
      // Resume the readers newest first; each fills its line, then suspends on the next one.
      for (const resume of waiting.splice(0).reverse()) {
        resume()
        await later(null)
      }
    }
    expect(churns).toEqual([0, 0, 0])
    expect(memory.buffer.byteLength).toBeGreaterThan(4 * bigBlock)
    expect(await Promise.all(calls)).toEqual(readers.map(linesHash))
    expect(reports.sort((a, b) => a.reader - b.reader)).toEqual(
      readers.map((reader) => ({ reader, heapBytes: 0, stackBytes: 0 })),
    )
    expect(asyncifyStats(instance)).toEqual(baseline)
  })

  it('an async import that mallocs 4 x 10 MB through an export before and after its await leaves every suspended call intact', async () => {
    const churns: number[] = []
    let churn!: (count: number, size: number) => number
    const { instance, exports, memory, reports } = await loadReaders(async (reader, round) => {
      // Before the await the import's own call is still on the wasm stack; after
      // it, that call and every other reader are suspended.
      if (reader === round + 1) churns.push(churn(4, bigBlock))
      await later(null)
      if (reader === rounds + 1 - round) churns.push(churn(4, bigBlock))
    })
    churn = exports.churn
    const baseline = asyncifyStats(instance)
    const calls = readers.map((reader) => exports.read_all(reader, rounds, blockSize) as Promise<number>)
    expect(await Promise.all(calls)).toEqual(readers.map(linesHash))
    expect(churns).toEqual(new Array(2 * rounds).fill(0))
    expect(memory.buffer.byteLength).toBeGreaterThan(4 * bigBlock)
    expect(reports.sort((a, b) => a.reader - b.reader)).toEqual(
      readers.map((reader) => ({ reader, heapBytes: 0, stackBytes: 0 })),
    )
    expect(asyncifyStats(instance)).toEqual(baseline)
  })
})

describe('the program\'s view of memory', () => {
  it('a view of memory.buffer taken before any call stays attached across a suspension when the program does not grow memory', async () => {
    const { instance, exports } = await asyncified(compileC('memory-view.c'), { imports: ['env.wait'] }, {
      env: { wait: (value: number) => later(value * 2) },
    })
    const memory = instance.exports.memory as WebAssembly.Memory
    const view = new Uint8Array(memory.buffer)
    const length = view.byteLength
    exports._initialize()
    await expect(exports.stamp(1, 21)).resolves.toBe(42)
    expect(view.byteLength).toBe(length)
    // The view is the live memory: it shows what the program stored after resuming.
    const stamps = new Int32Array(view.buffer, exports.stamps_address(), 4)
    expect([...stamps]).toEqual([0, 42, 0, 0])
  })
})
