import { readFileSync } from 'node:fs'
import { AsyncifyError, AsyncifyStackOverflowError, AsyncifyUnlistedImportError, asyncifyStats } from 'unplugin-asyncify/runtime'
import { describe, expect, it } from 'vitest'
import { compileC } from '../helpers/compile-c.js'
import { asyncified, deferred, engine, later, type Engine } from '../helpers/engine.js'
import { wat } from '../helpers/wat.js'

const behaviour = wat(readFileSync(new URL('../fixtures/wat/behaviour.wat', import.meta.url), 'utf8'))
const listed = { imports: ['env.get', 'env.get64'], filename: 'behaviour.wasm' }

function load(env: Record<string, unknown>, runtime?: Parameters<typeof asyncified>[3], on: Engine = engine) {
  return asyncified(behaviour, listed, { env: { get: (x: number) => x, get64: (x: bigint) => x, log: () => {}, ...env } }, runtime, on)
}

describe('runtime behaviour', () => {
  it('exports that cannot reach an async import stay synchronous', async () => {
    const { exports, report } = await load({})
    expect(exports.pure(21)).toBe(42)
    expect(exports.logs(1)).toBeUndefined()
    expect(report.suspendingExports.sort()).toEqual(['add_after', 'boom', 'deep', 'twice', 'wide'])
    expect(exports.add_after(1)).toBeInstanceOf(Promise)
  })

  it('an async import that returns a plain value takes the fast path and still resolves', async () => {
    const { instance, exports } = await load({ get: (x: number) => x * 10 })
    await expect(exports.add_after(4)).resolves.toBe(44)
    expect(asyncifyStats(instance).asyncifyStackUsed).toBe(0)
  })

  it('a thenable that is not a native Promise suspends like one', async () => {
    const { exports } = await load({ get: (x: number) => ({ then: (resolve: (v: number) => void) => resolve(x + 1) }) })
    await expect(exports.add_after(5)).resolves.toBe(11)
  })

  it('overlapping calls that resolve out of order return the right values', async () => {
    const gates = new Map<number, ReturnType<typeof deferred<number>>>()
    const { instance, exports } = await load({
      get: (x: number) => {
        const gate = deferred<number>()
        gates.set(x, gate)
        return gate.promise
      },
    })
    const first = exports.twice(10)
    const second = exports.twice(20)
    const third = exports.add_after(30)
    expect(asyncifyStats(instance).suspendedCalls).toBe(3)
    gates.get(30)!.resolve(300)
    gates.get(20)!.resolve(2)
    await later(null)
    gates.get(21)!.resolve(3)
    gates.get(10)!.resolve(5)
    await later(null)
    gates.get(11)!.resolve(7)
    expect(await Promise.all([first, second, third])).toEqual([12, 5, 330])
    expect(asyncifyStats(instance)).toEqual({ mode: engine, suspendedCalls: 0, stackPointer: null, asyncifyStackUsed: 0 })
  })

  it('an async import that awaits another export call completes (re-entrance after suspending)', async () => {
    let exports!: Record<string, any>
    ;({ exports } = await load({
      get: async (x: number) => (x === 100 ? await exports.add_after(5) : later(x * 10)),
    }))
    await expect(exports.add_after(100)).resolves.toBe(155)
  })

  it('an import that synchronously calls a suspending export while wasm is on the stack completes', async () => {
    let exports!: Record<string, any>
    ;({ exports } = await load({
      get: (x: number) => (x === 100 ? exports.add_after(5) : later(x * 10)),
    }))
    await expect(exports.twice(100)).resolves.toBe(55 + 1010)
  })

  it('a rejection is thrown at the call site and rejects the export with the original error', async () => {
    const reason = new Error('no data')
    const { exports } = await load({ get: () => Promise.reject(reason) })
    await expect(exports.add_after(1)).rejects.toBe(reason)
  })

  it('10,000 rejections in a row leak nothing and the next call returns the right value', async () => {
    let fail = true
    const { instance, exports } = await load({ get: (x: number) => (fail ? Promise.reject(new Error(`r${x}`)) : later(x)) })
    for (let i = 0; i < 10_000; i++) await expect(exports.deep(3)).rejects.toThrow(`r0`)
    fail = false
    await expect(exports.deep(3)).resolves.toBe(3)
    expect(asyncifyStats(instance)).toEqual({ mode: engine, suspendedCalls: 0, stackPointer: null, asyncifyStackUsed: 0 })
  })

  it('rejections and throwing imports leave the C shadow stack where it started', async () => {
    let mode: 'reject' | 'throw' | 'ok' = 'reject'
    const { instance, exports } = await asyncified(compileC('recurse.c'), { imports: ['env.bottom'] }, {
      env: {
        bottom: (depth: number) => {
          if (mode === 'throw') throw new Error('thrown')
          return mode === 'reject' ? Promise.reject(new Error('rejected')) : later(depth)
        },
      },
    })
    const start = asyncifyStats(instance).stackPointer
    for (let i = 0; i < 1000; i++) await expect(exports.recurse(30)).rejects.toThrow('rejected')
    mode = 'throw'
    for (let i = 0; i < 100; i++) await expect(exports.recurse(30)).rejects.toThrow('thrown')
    expect(asyncifyStats(instance)).toEqual({ mode: engine, suspendedCalls: 0, stackPointer: start, asyncifyStackUsed: 0 })
    mode = 'ok'
    await expect(exports.recurse(30)).resolves.toBe(30)
    expect(exports.stack_probe()).toBeLessThan(start!)
  })

  it('i64 parameters and results cross a suspension as BigInt', async () => {
    const { exports } = await load({ get64: (x: bigint) => later(x * 2n) })
    const big = 2n ** 40n + 7n
    await expect(exports.wide(big)).resolves.toBe(big * 3n)
    await expect(exports.wide(-5n)).resolves.toBe(-15n)
  })

  // The JSPI path calls an import that returned a Promise last time through
  // the Suspending import directly (trampolines.ts): these pin what a wrong
  // guess must still do.
  it('an async import that switches between plain values and Promises returns every value, in order, in overlapping calls', async () => {
    const pattern = (x: number) => (x % 7 < 3 ? later(x * 10) : x % 7 === 3 ? Promise.resolve(x * 10) : x * 10)
    const { instance, exports } = await load({ get: pattern })
    const calls: Promise<number>[] = []
    for (let x = 0; x < 300; x++) calls.push(exports.twice(x), exports.deep(x % 5))
    const results = await Promise.all(calls)
    for (let x = 0; x < 300; x++) {
      expect(results[2 * x]).toBe(x * 10 + (x + 1) * 10)
      expect(results[2 * x + 1]).toBe(x % 5)
    }
    expect(asyncifyStats(instance).suspendedCalls).toBe(0)
  })

  it('after an import returned Promises, wasm called from JS outside any export call still gets its plain values, and a Promise there is a coded error', async () => {
    const viaTable = wat(`(module
      (import "env" "get" (func $get (param i32) (result i32)))
      (memory 1)
      (table (export "table") 1 funcref)
      (elem (i32.const 0) $through)
      (func $through (param i32) (result i32) (call $get (local.get 0)))
      (func (export "run") (param i32) (result i32) (call $get (local.get 0))))`)
    const { instance, exports } = await asyncified(viaTable, { imports: ['env.get'] }, { env: { get: (x: number) => (x < 100 ? later(x) : x) } })
    for (let i = 0; i < 5; i++) await expect(exports.run(i)).resolves.toBe(i)
    const through = (exports.table as WebAssembly.Table).get(0) as (x: number) => number
    expect(through(200)).toBe(200)
    const error = (() => {
      try {
        through(1)
      } catch (caught) {
        return caught
      }
    })() as AsyncifyError
    expect(error).toBeInstanceOf(AsyncifyError)
    expect(error.code).toBe('ASYNCIFY_SUSPEND_OUTSIDE_CALL')
    await expect(exports.run(7)).resolves.toBe(7)
    expect(asyncifyStats(instance).suspendedCalls).toBe(0)
  })

  it('overflowing the Asyncify stack gives an error naming the size and the option, and the instance recovers', async () => {
    const { instance, exports } = await load({ get: (x: number) => later(x) }, { stackSize: 256 }, 'asyncify')
    const error = await exports.deep(500).catch((e: unknown) => e)
    expect(error).toBeInstanceOf(AsyncifyStackOverflowError)
    expect((error as AsyncifyError).code).toBe('ASYNCIFY_STACK_OVERFLOW')
    expect((error as Error).message).toMatch(/stackSize is 256 bytes/)
    expect((error as Error).message).toMatch(/asyncify\(\{ stackSize \}\)/)
    await expect(exports.deep(3)).resolves.toBe(3)
    expect(asyncifyStats(instance).suspendedCalls).toBe(0)
  })

  it('an unlisted import that returns a Promise gives an error naming the import and the option', async () => {
    const { exports } = await load({ log: () => later(undefined) })
    expect(() => exports.logs(1)).toThrow(AsyncifyUnlistedImportError)
    expect(() => exports.logs(1)).toThrow(/"env\.log".*asyncify\(\{ imports \}\)/)
  })

  it('a missing import is the engine\'s own LinkError', async () => {
    await expect(asyncified(behaviour, listed, { env: { get: () => 0, log: () => {} } })).rejects.toBeInstanceOf(
      WebAssembly.LinkError,
    )
  })

  // The runtime wraps imports and calls exports through one closure per arity up to 4 and a rest parameter beyond.
  for (const returns of ['Promises', 'plain values'] as const) {
    it(`async imports and suspending exports of 0 to 6 parameters get exactly their arguments, with imports returning ${returns}`, async () => {
      const arities = [0, 1, 2, 3, 4, 5, 6]
      const params = (k: number) => (k === 0 ? '' : `(param${' i32'.repeat(k)})`)
      const gets = (k: number) => Array.from({ length: k }, (_, i) => `(local.get ${i})`).join(' ')
      const bytes = wat(`(module
        ${arities.map((k) => `(import "env" "a${k}" (func $a${k} ${params(k)} (result i32)))`).join('\n')}
        (memory (export "memory") 1)
        ${arities.map((k) => `(func (export "call${k}") ${params(k)} (result i32) (i32.add (call $a${k} ${gets(k)}) (call $a${k} ${gets(k)})))`).join('\n')})`)
      const seen: unknown[][] = []
      const env = Object.fromEntries(
        arities.map((k) => [
          `a${k}`,
          // Weighted by position, so that a swapped or dropped argument changes the sum.
          function (...args: number[]) {
            seen.push(args)
            const sum = args.reduce((total, value, i) => total + (i + 1) * value, 100)
            return returns === 'Promises' ? later(sum) : sum
          },
        ]),
      )
      const { exports } = await asyncified(bytes, { imports: ['env.*'], filename: 'arity.wasm' }, { env })
      for (const k of arities) {
        seen.length = 0
        const args = Array.from({ length: k }, (_, i) => 10 * (i + 1))
        const sum = args.reduce((total, value, i) => total + (i + 1) * value, 100)
        await expect(exports[`call${k}`](...args)).resolves.toBe(2 * sum)
        expect(seen).toEqual([args, args])
      }
    })
  }

  it('imports that are not async, of 0 to 6 parameters, get exactly their arguments, also under a name imported twice with two counts', async () => {
    const arities = [0, 1, 2, 3, 4, 5, 6]
    const params = (k: number) => (k === 0 ? '' : `(param${' i32'.repeat(k)})`)
    const gets = (k: number) => Array.from({ length: k }, (_, i) => `(local.get ${i})`).join(' ')
    const bytes = wat(`(module
      ${arities.map((k) => `(import "env" "s${k}" (func $s${k} ${params(k)} (result i32)))`).join('\n')}
      (import "env" "dup" (func $dup1 (param i32) (result i32)))
      (import "env" "dup" (func $dup2 (param i32 i32) (result i32)))
      (import "env" "wait" (func $wait (param i32) (result i32)))
      (memory (export "memory") 1)
      ${arities.map((k) => `(func (export "call${k}") ${params(k)} (result i32) (i32.add (call $s${k} ${gets(k)}) (call $s${k} ${gets(k)})))`).join('\n')}
      (func (export "dup") (param i32 i32) (result i32) (i32.add (call $dup1 (local.get 0)) (call $dup2 (local.get 0) (local.get 1))))
      (func (export "after") (param i32) (result i32) (call $s2 (call $wait (local.get 0)) (i32.const 7))))`)
    const seen: unknown[][] = []
    // Weighted by position, so that a swapped or dropped argument changes the sum.
    const sum = (...args: number[]) => args.reduce((total, value, i) => total + (i + 1) * value, 100)
    const weighed = (...args: number[]) => {
      seen.push(args)
      return sum(...args)
    }
    const env = { ...Object.fromEntries(arities.map((k) => [`s${k}`, weighed])), dup: weighed, wait: (x: number) => later(x + 1) }
    const { exports, wasm } = await asyncified(bytes, { imports: ['env.wait'], filename: 'sync-arity.wasm' }, { env })
    const [section] = WebAssembly.Module.customSections(new WebAssembly.Module(wasm as Uint8Array<ArrayBuffer>), 'unplugin-asyncify')
    // Each wrapper declares its import's parameters; the name imported with two counts keeps the rest parameter.
    expect((JSON.parse(new TextDecoder().decode(section)) as { importArities: unknown }).importArities).toEqual(
      Object.fromEntries(arities.map((k) => [`env.s${k}`, k])),
    )
    for (const k of arities) {
      seen.length = 0
      const args = Array.from({ length: k }, (_, i) => 10 * (i + 1))
      expect(exports[`call${k}`](...args)).toBe(2 * sum(...args))
      expect(seen).toEqual([args, args])
    }
    seen.length = 0
    expect(exports.dup(3, 4)).toBe(sum(3) + sum(3, 4))
    expect(seen).toEqual([[3], [3, 4]])
    seen.length = 0
    await expect(exports.after(5)).resolves.toBe(sum(6, 7))
    expect(seen).toEqual([[6, 7]])
  })

  it('traps keep function names in stack traces and leave the instance usable', async () => {
    const { exports } = await load({ get: (x: number) => later(x) })
    const error = await exports.boom(1).catch((e: unknown) => e)
    expect(error).toBeInstanceOf(WebAssembly.RuntimeError)
    expect((error as Error).stack).toMatch(/boom/)
    await expect(exports.add_after(2)).resolves.toBe(4)
  })
})
