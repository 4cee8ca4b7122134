/*
 * V8 sizes its inlining budget from the share of a module's functions whose
 * bodies are under 50 bytes; at optimize 3 the direct engine keeps the
 * input's share with empty functions appended last
 * (src/transform/direct/small-functions.ts).
 */
import { readFileSync } from 'node:fs'
import { dirname, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'
import { asyncifyWasm, type OptimizeLevel } from 'unplugin-asyncify/transform'
import { describe, expect, it } from 'vitest'
import { MAX_FUNCTIONS, SMALL_BODY, emptyFunctionsForShare } from '../../src/transform/direct/small-functions.js'
import { scanModule } from '../../src/transform/scan.js'

const root = resolve(dirname(fileURLToPath(import.meta.url)), '../..')

describe('emptyFunctionsForShare', () => {
  const sizes = (small: number, large: number) => [...Array<number>(small).fill(SMALL_BODY - 1), ...Array<number>(large).fill(SMALL_BODY)]

  it('adds none when the input has a quarter or less small functions: V8 gives it its smallest budget either way', () => {
    expect(emptyFunctionsForShare(sizes(25, 75), sizes(0, 100), MAX_FUNCTIONS)).toBe(0)
  })

  it('adds the fewest that bring the output back to the input share', () => {
    // 30 of 100 in, 10 of 100 out: (10 + n) / (100 + n) >= 0.3 first holds at n = 29 (39 / 129 = 0.3023).
    expect(emptyFunctionsForShare(sizes(30, 70), sizes(10, 90), MAX_FUNCTIONS)).toBe(29)
    expect((10 + 28) / (100 + 28)).toBeLessThan(0.3)
  })

  it('counts a share past a half as a half: V8 gives every such module its largest budget', () => {
    expect(emptyFunctionsForShare(sizes(90, 10), sizes(20, 80), MAX_FUNCTIONS)).toBe(60)
  })

  it('adds no more than the engines let a module have: a module past their limit would not compile', () => {
    expect(emptyFunctionsForShare(sizes(30, 70), sizes(10, 90), 5)).toBe(5)
    expect(emptyFunctionsForShare(sizes(30, 70), sizes(10, 90), 0)).toBe(0)
  })

  it('adds none when the output kept the share', () => {
    expect(emptyFunctionsForShare(sizes(30, 70), sizes(40, 70), MAX_FUNCTIONS)).toBe(0)
  })
})

describe("SQLite's build keeps the share of small functions V8 sized its inlining budget from", () => {
  const input = new Uint8Array(readFileSync(resolve(root, 'node_modules/@sqlite.org/sqlite-wasm/sqlite-wasm/jswasm/sqlite3.wasm')))
  const imports = ['wasi_snapshot_preview1.fd_read', 'wasi_snapshot_preview1.fd_write', 'env.__syscall_openat']
  const share = (bodies: { size: number }[]) => bodies.filter(({ size }) => size < SMALL_BODY).length / bodies.length
  const before = scanModule(input, { code: false })

  it('has more than a quarter small functions untouched, so that the share matters', () => {
    expect(share(before.bodies)).toBeGreaterThan(0.25)
  })

  it('at optimize 3, with the fewest empty functions appended last, which nothing calls, exports or references', async () => {
    const { wasm, report } = await asyncifyWasm(input, { imports, mode: 'asyncify', optimize: 3 })
    expect(report.engine).toBe('direct')
    const after = scanModule(wasm!)
    const imported = after.functions.filter((fn) => fn.imported !== null).length
    let empty = 0
    while (after.bodies[after.bodies.length - 1 - empty]!.size === 2) empty++
    expect(empty).toBeGreaterThan(0)
    expect(share(after.bodies)).toBeGreaterThanOrEqual(share(before.bodies))
    expect(share(after.bodies.slice(0, -1))).toBeLessThan(share(before.bodies))

    const first = imported + after.bodies.length - empty
    for (let index = first; index < after.functions.length; index++) {
      expect(after.functions[index]!.type).toEqual({ params: [], results: [] })
    }
    const called = after.bodies.flatMap((body) => [...body.calls])
    expect(called.filter((index) => index >= first)).toEqual([])
    expect([...after.referenced].filter((index) => index >= first)).toEqual([])
    expect(after.exports.filter((entry) => entry.kind === 'function' && entry.index >= first)).toEqual([])
    await WebAssembly.compile(new Uint8Array(wasm!))
  })

  it.each([
    [2, 'the default, which ran no faster with them'],
    ['z', 'where size comes first'],
  ] as [OptimizeLevel, string][])('at optimize %s (%s), with none', async (optimize) => {
    const { wasm } = await asyncifyWasm(input, { imports, mode: 'asyncify', optimize })
    const after = scanModule(wasm!, { code: false })
    expect(after.bodies.filter(({ size }) => size === 2)).toEqual([])
    expect(share(after.bodies)).toBeLessThan(share(before.bodies))
  })
})
