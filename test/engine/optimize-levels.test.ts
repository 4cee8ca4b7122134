import { asyncifyWasm, type AsyncifyEngine, type OptimizeLevel } from 'unplugin-asyncify/transform'
import { describe, expect, it } from 'vitest'
import { compileC } from '../helpers/compile-c.js'
import { asyncified, later } from '../helpers/engine.js'
import { scanModule } from '../../src/transform/scan.js'
import { codeContents, customSectionPayloads } from '../../src/transform/wasm-sections.js'
import { WasmReader } from '../../src/transform/wasm-reader.js'
import { BRANCH_HINTS, readCodeMetadata } from '../../src/transform/code-metadata.js'

const levels: OptimizeLevel[] = [0, 1, 2, 3, 's', 'z']

// The levels are Binaryen's: these tests ask for its engine, which the direct one hands what it declines.
describe('optimization never changes behaviour', () => {
  for (const [optimize, preoptimize] of levels.flatMap((level) => [false, true].map((whole) => [level, whole] as const))) {
    it(`qsort with an async comparator and overlapping calls give the same results at optimize ${optimize}${preoptimize ? ', whole module optimized first' : ''}`, async () => {
      const sort = await asyncified(compileC('sort.c'), { imports: ['env.compare'], engine: 'binaryen', optimize, preoptimize }, {
        env: { compare: (a: number, b: number) => later(a - b) },
      })
      sort.exports._initialize()
      const memory = sort.instance.exports.memory as WebAssembly.Memory
      const values = [5, -1, 99, 12, 12, 0, -40, 7]
      const pointers = [0, 1].map(() => sort.exports.alloc(values.length * 4) as number)
      pointers.forEach((p, i) => new Int32Array(memory.buffer, p, values.length).set(i ? [...values].reverse() : values))
      await Promise.all(pointers.map((p) => sort.exports.sort(p, values.length)))
      for (const p of pointers) {
        expect([...new Int32Array(memory.buffer, p, values.length)]).toEqual([...values].sort((a, b) => a - b))
      }

      const loop = await asyncified(compileC('loop.c'), { imports: ['env.next'], engine: 'binaryen', optimize, preoptimize }, {
        env: { next: (i: number) => (i % 2 ? later(i) : i) },
      })
      let expected = 0
      for (let i = 0; i < 20; i++) expected = (Math.imul(expected, 31) + i) >>> 0
      await expect(loop.exports.sum_steps(20)).resolves.toBe(expected | 0)
    })
  }
})

describe('what the levels change, as the options document it', () => {
  const build = async (bytes: Uint8Array, optimize: OptimizeLevel, preoptimize: boolean, engine: AsyncifyEngine = 'binaryen') =>
    (await asyncifyWasm(bytes, { imports: ['env.compare'], mode: 'asyncify', engine, optimize, preoptimize })).wasm!

  it('the direct engine has no optimizer to set: levels 0 to 2 give one build, 3 one for speed (rewind copies), and s and z one for size (no branch hints)', async () => {
    const bytes = compileC('sort.c')
    const outputs = await Promise.all(levels.map((level) => build(bytes, level, false, 'direct')))
    const [balanced, speed, size] = [outputs.slice(0, 3), outputs[3]!, outputs.slice(4)]
    for (const output of balanced) expect(Buffer.from(output).equals(Buffer.from(balanced[0]!))).toBe(true)
    for (const output of size) expect(Buffer.from(output).equals(Buffer.from(size[0]!))).toBe(true)
    expect(size[0]!.length).toBeLessThan(balanced[0]!.length)
    expect(speed.length).toBeGreaterThan(balanced[0]!.length)
    const { report } = await asyncifyWasm(bytes, { imports: ['env.compare'], mode: 'asyncify', optimize: 0 })
    expect(report.engine).toBe('direct')
  })

  it('at 3, report.why counts what each function costs with its rewind copy, which the name section names as the function', async () => {
    const bytes = compileC('sort.c')
    const { wasm, report } = await asyncifyWasm(bytes, { imports: ['env.compare'], mode: 'asyncify', optimize: 3 })
    const sizes = (module: Uint8Array) => {
      const scanned = scanModule(module, { code: false })
      const defined = scanned.functions.filter((fn) => fn.imported === null)
      const byName = new Map<string, { bodies: number; bytes: number }>()
      scanned.bodies.forEach((body, k) => {
        const entry = byName.get(defined[k]!.name!) ?? { bodies: 0, bytes: 0 }
        byName.set(defined[k]!.name!, { bodies: entry.bodies + 1, bytes: entry.bytes + body.size })
      })
      return byName
    }
    const [before, after] = [sizes(bytes), sizes(wasm!)]
    const copied = report.why.filter((entry) => after.get(entry.name)!.bodies === 2)
    expect(copied.length).toBeGreaterThan(0)
    for (const entry of report.why) expect(entry.addedBytes, entry.name).toBe(after.get(entry.name)!.bytes - before.get(entry.name)!.bytes)
  })

  it('at 3, each rewind copy is the body and branch hints the default level gives its function', async () => {
    const bytes = compileC('sort.c')
    const [balanced, speed] = await Promise.all([2, 3].map((optimize) => build(bytes, optimize as 2 | 3, false, 'direct')))
    const bodies = (module: Uint8Array) => {
      const scanned = scanModule(module, { code: false })
      const imported = scanned.functions.filter((fn) => fn.imported !== null).length
      const payload = customSectionPayloads(module, BRANCH_HINTS)[0]!
      const hints = readCodeMetadata(payload, 0, payload.length)!
      // Each body whole, its local declarations included.
      const reader = new WasmReader(module, codeContents(module)!.start)
      return Array.from({ length: reader.u32() }, (_, k) => {
        const size = reader.u32()
        reader.offset += size
        return {
          name: scanned.functions[imported + k]!.name!,
          code: Buffer.from(module.subarray(reader.offset - size, reader.offset)),
          hints: hints.get(imported + k) ?? [],
        }
      })
    }
    const atDefault = bodies(balanced!)
    const copies = bodies(speed!).slice(atDefault.length)
    expect(copies.length).toBeGreaterThan(0)
    for (const copy of copies) {
      const body = atDefault.find((candidate) => candidate.name === copy.name)!
      expect(copy.code.length, copy.name).toBeGreaterThan(0)
      expect(copy.code.equals(body.code), copy.name).toBe(true)
      expect(body.hints.length, copy.name).toBeGreaterThan(0)
      expect(copy.hints, copy.name).toEqual(body.hints)
    }
  })

  it('with Binaryen and without preoptimize, any level above 0 gives the same build (Asyncify cleans up at a level of its own), and 0 a larger one', async () => {
    const bytes = compileC('sort.c')
    const [zero, ...rest] = await Promise.all(levels.map((level) => build(bytes, level, false)))
    for (const output of rest) expect(Buffer.from(output).equals(Buffer.from(rest[0]!))).toBe(true)
    expect(zero!.length).toBeGreaterThan(rest[0]!.length)
  })

  it('with preoptimize, the level is the whole-module optimizer\'s', async () => {
    const bytes = compileC('sort.c', ['-O0'])
    const [one, two] = await Promise.all([build(bytes, 1, true), build(bytes, 2, true)])
    expect(Buffer.from(one).equals(Buffer.from(two))).toBe(false)
  })
})
