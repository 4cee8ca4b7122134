/*
 * The JSPI path and the choice between paths. This file runs in both of
 * `npm test`'s runs: under Node 20 (no JSPI) it proves the fallback and the
 * coded errors, under Node 26 (vitest.jspi.config.ts) the JSPI path itself.
 */
import { asyncifyWasm } from 'unplugin-asyncify/transform'
import { AsyncifyError, AsyncifyStackOverflowError, asyncifyStats, instantiate } from 'unplugin-asyncify/runtime'
import { describe, expect, it } from 'vitest'
import { later } from '../helpers/engine.js'
import { wat } from '../helpers/wat.js'

const jspiHere = 'Suspending' in WebAssembly && 'promising' in WebAssembly

const counter = wat(`(module
  (import "env" "get" (func $get (param i32) (result i32)))
  (import "env" "log" (func $log (param i32)))
  (memory (export "memory") 1)
  (func (export "run") (param $x i32) (result i32) (local $r i32)
    (local.set $r (call $get (local.get $x)))
    (call $log (local.get $r))
    (i32.add (local.get $r) (i32.const 1)))
  (func (export "pure") (param $x i32) (result i32) (i32.mul (local.get $x) (i32.const 2))))`)

describe('one build, the path the engine can take', () => {
  it(`auto takes ${jspiHere ? 'JSPI (this engine has it)' : 'Asyncify (this engine has no JSPI)'} and fetches only that build`, async () => {
    const result = await asyncifyWasm(counter, { imports: ['env.get'] })
    expect(result.report.paths).toEqual(['asyncify', 'jspi'])
    const fetched: string[] = []
    const { instance } = await instantiate(
      {
        jspi: () => (fetched.push('jspi'), result.jspi!.wasm),
        asyncify: () => (fetched.push('asyncify'), result.wasm!),
      },
      { env: { get: (x: number) => later(x * 10), log: () => {} } },
    )
    const exports = instance.exports as Record<string, (x: number) => unknown>
    expect(fetched).toEqual([jspiHere ? 'jspi' : 'asyncify'])
    expect(asyncifyStats(instance).mode).toBe(jspiHere ? 'jspi' : 'asyncify')
    // The same contract either way: the suspending export returns a Promise, the other does not.
    await expect(exports.run!(4)).resolves.toBe(41)
    expect(exports.pure!(4)).toBe(8)
  })

  it('mode "asyncify" takes the asyncified build even where JSPI exists', async () => {
    const result = await asyncifyWasm(counter, { imports: ['env.get'] })
    const { instance } = await instantiate({ jspi: result.jspi!.wasm, asyncify: result.wasm! }, { env: { get: later, log: () => {} } }, { mode: 'asyncify' })
    expect(asyncifyStats(instance).mode).toBe('asyncify')
  })

  it('a module built for one path is refused under a mode that insists on the other, with a coded error', async () => {
    const result = await asyncifyWasm(counter, { imports: ['env.get'], filename: 'c.wasm' })
    const error = (await instantiate(result.wasm!, { env: { get: later, log: () => {} } }, { mode: 'jspi', name: 'c.wasm' }).catch((e: unknown) => e)) as AsyncifyError
    expect(error.code).toBe('ASYNCIFY_BAD_OPTIONS')
    expect(error.message).toMatch(/^c\.wasm: mode is "jspi", but this module was built for Asyncify/)
  })

  it('mode "jspi" at build time runs no Binaryen pass and keeps the input\'s bytes', async () => {
    const result = await asyncifyWasm(counter, { imports: ['env.get'], mode: 'jspi' })
    expect(result.wasm).toBeNull()
    expect(result.report.paths).toEqual(['jspi'])
    expect(result.report.suspendingExports).toEqual(['run'])
    // Only the metadata section is added (the memory is already exported): the input is a prefix.
    expect(result.jspi!.wasm.subarray(0, counter.length)).toEqual(counter)
  })
})

describe(jspiHere ? 'the JSPI path' : 'the JSPI path on an engine without JSPI', () => {
  it(jspiHere ? 'a plain value from an async import costs no suspension: the wasm goes on synchronously' : 'a JSPI build is refused with ASYNCIFY_NO_JSPI, saying how to get a fallback', async () => {
    const result = await asyncifyWasm(counter, { imports: ['env.get'], mode: 'jspi', filename: 'j.wasm' })
    const logged: number[] = []
    const loading = instantiate(result.jspi!.wasm, { env: { get: (x: number) => (x > 100 ? later(x) : x), log: (v: number) => logged.push(v) } }, { name: 'j.wasm' })
    if (!jspiHere) {
      const error = (await loading.catch((e: unknown) => e)) as AsyncifyError
      expect(error.code).toBe('ASYNCIFY_NO_JSPI')
      expect(error.message).toMatch(/^j\.wasm: this build .* needs JSPI.*build with mode "auto"/)
      return
    }
    const exports = (await loading).instance.exports as Record<string, (x: number) => Promise<number>>
    const plain = exports.run!(7)
    // Before any await: the import's value went straight back into wasm, which logged it.
    expect(logged).toEqual([7])
    await expect(plain).resolves.toBe(8)
    const suspended = exports.run!(200)
    expect(logged).toEqual([7])
    await expect(suspended).resolves.toBe(201)
    expect(logged).toEqual([7, 200])
  })

  // A handler established before the suspension catches an exception thrown after it: legacy
  // EH with the suspension inside the catch body, which Asyncify cannot unwind.
  const catching = wat(
    `(module
      (import "env" "get" (func $get (param i32) (result i32)))
      (tag $oops (param i32))
      (memory 1)
      (func $handler (param $x i32) (result i32)
        (try (result i32)
          (do (throw $oops (call $get (local.get $x))))
          (catch $oops (call $get (i32.add (pop i32) (i32.const 100))))))
      (func (export "run") (param $x i32) (result i32) (i32.add (call $handler (local.get $x)) (i32.const 1))))`,
    ['ExceptionHandling'],
  )

  it('a module only JSPI can run (a suspension inside a catch block) builds for JSPI alone in auto, and is refused in mode "asyncify"', async () => {
    const auto = await asyncifyWasm(catching, { imports: ['env.get'], optimize: 0, filename: 'eh.wasm' })
    expect(auto.wasm).toBeNull()
    expect(auto.report.paths).toEqual(['jspi'])
    expect(auto.report.asyncifyUnsupported).toMatch(/function "handler" calls "get", which can suspend, inside a catch block/)
    const strict = (await asyncifyWasm(catching, { imports: ['env.get'], optimize: 0, mode: 'asyncify' }).catch((e: unknown) => e)) as AsyncifyError
    expect(strict.code).toBe('ASYNCIFY_UNSUPPORTED_FEATURE')

    const loading = instantiate({ jspi: auto.jspi!.wasm }, { env: { get: (x: number) => later(x * 2) } }, { name: 'eh.wasm' })
    if (!jspiHere) {
      const error = (await loading.catch((e: unknown) => e)) as AsyncifyError
      expect(error.code).toBe('ASYNCIFY_NO_JSPI')
      expect(error.message).toMatch(/^eh\.wasm: this module can only run with JSPI.*because Asyncify cannot transform it: .*inside a catch block/)
      return
    }
    const exports = (await loading).instance.exports as Record<string, (x: number) => Promise<number>>
    // get(5) = 10 is thrown, caught, and get(110) = 220 awaited in the handler; + 1.
    await expect(exports.run!(5)).resolves.toBe(221)
    await expect(Promise.all([exports.run!(1), exports.run!(2)])).resolves.toEqual([205, 209])
  })

  const onlyJspi: [what: string, text: string, features: Parameters<typeof wat>[1]][] = [
    [
      'try_table, an exception thrown after the suspension and caught by a handler set up before it',
      `(module
        (import "env" "get" (func $get (param i32) (result i32)))
        (tag $e (param i32))
        (memory 1)
        (func (export "run") (param $x i32) (result i32)
          (i32.add
            (block $caught (result i32)
              (try_table (catch $e $caught) (throw $e (call $get (local.get $x))))
              (i32.const -1))
            (i32.const 1))))`,
      ['ExceptionHandling', 'ReferenceTypes'],
    ],
    [
      'call_ref',
      `(module
        (type $t (func (param i32) (result i32)))
        (import "env" "get" (func $get (type $t)))
        (memory 1)
        (elem declare func $get)
        (func (export "run") (param $x i32) (result i32)
          (i32.add (call_ref $t (local.get $x) (ref.func $get)) (i32.const 1))))`,
      ['ReferenceTypes', 'GC'],
    ],
    [
      'a tail call',
      `(module
        (import "env" "get" (func $get (param i32) (result i32)))
        (memory 1)
        (func $inc (param $x i32) (result i32) (i32.add (call $get (local.get $x)) (i32.const 1)))
        (func (export "run") (param $x i32) (result i32) (return_call $inc (local.get $x))))`,
      ['TailCall'],
    ],
  ]
  for (const [what, text, features] of onlyJspi) {
    it(`${what}, which Asyncify cannot transform: JSPI alone in auto, ${jspiHere ? 'and it runs' : 'refused here naming why'}`, async () => {
      const result = await asyncifyWasm(wat(text, features), { imports: ['env.get'], optimize: 0, filename: 'only.wasm' })
      expect(result.report.paths).toEqual(['jspi'])
      expect(result.report.asyncifyUnsupported).toMatch(/Asyncify/)
      const loading = instantiate({ jspi: result.jspi!.wasm }, { env: { get: (x: number) => later(x * 2) } }, { name: 'only.wasm' })
      if (!jspiHere) {
        expect(((await loading.catch((e: unknown) => e)) as AsyncifyError).code).toBe('ASYNCIFY_NO_JSPI')
        return
      }
      const exports = (await loading).instance.exports as Record<string, (x: number) => Promise<number>>
      await expect(Promise.all([exports.run!(20), exports.run!(3)])).resolves.toEqual([41, 7])
    })
  }

  it('an engine stack overflow under a suspending export is an AsyncifyStackOverflowError on either path', async () => {
    const recursive = wat(`(module
      (import "env" "get" (func $get (param i32) (result i32)))
      (memory 1)
      (func $down (param $n i32) (result i32)
        (if (result i32) (i32.eqz (local.get $n))
          (then (call $get (i32.const 0)))
          (else (i32.add (call $down (i32.sub (local.get $n) (i32.const 1))) (i32.const 1)))))
      (func (export "run") (param $n i32) (result i32) (call $down (local.get $n))))`)
    const result = await asyncifyWasm(recursive, { imports: ['env.get'], optimize: 0 })
    const { instance } = await instantiate({ jspi: result.jspi!.wasm, asyncify: result.wasm! }, { env: { get: (x: number) => later(x) } })
    const exports = instance.exports as Record<string, (n: number) => Promise<number>>
    const error = await exports.run!(10_000_000).catch((e: unknown) => e)
    expect(error).toBeInstanceOf(AsyncifyStackOverflowError)
    expect((error as Error).message).toMatch(/call stack overflowed.*recurse less deeply/)
    await expect(exports.run!(100)).resolves.toBe(100)
    expect(asyncifyStats(instance).suspendedCalls).toBe(0)
  })

  if (jspiHere) {
    /*
     * An import that throws synchronously where the trampoline had already
     * booked the suspension itself (the loop of awaits), caught in wasm: the
     * call runs on, so the booking must be undone as a resume would.
     */
    it('an import that throws synchronously in the loop of awaits, caught in wasm: the call runs on, alone or overlapping', async () => {
      const walking = wat(
        `(module
          (import "env" "step" (func $step (param i32 i32) (result i32)))
          (memory 1)
          (func (export "walk") (param $call i32) (param $n i32) (result i32)
            (local $i i32) (local $sum i32)
            (block $done
              (loop $next
                (br_if $done (i32.ge_s (local.get $i) (local.get $n)))
                (block $caught
                  (try_table (catch_all $caught)
                    (local.set $sum (i32.add (local.get $sum) (call $step (local.get $call) (local.get $i)))))
                  (local.set $i (i32.add (local.get $i) (i32.const 1)))
                  (br $next))
                (local.set $sum (i32.add (local.get $sum) (i32.const 1000)))
                (local.set $i (i32.add (local.get $i) (i32.const 1)))
                (br $next)))
            (local.get $sum)))`,
        ['ExceptionHandling', 'ReferenceTypes'],
      )
      const plan = ['promise', 'promise', 'promise', 'throw', 'promise', 'promise', 'reject', 'promise', 'value', 'promise', 'throw', 'throw', 'promise']
      const result = await asyncifyWasm(walking, { imports: ['env.step'], optimize: 0 })
      const { instance } = await instantiate({ jspi: result.jspi!.wasm }, {
        env: {
          step: (call: number, i: number) => {
            const kind = plan[i]
            if (kind === 'throw') throw new Error(`call ${call}, step ${i}`)
            if (kind === 'reject') return Promise.reject(new Error(`call ${call}, step ${i}`))
            if (kind === 'value') return i
            return kind === 'promise' && call % 2 === 1 ? later(i) : Promise.resolve(i)
          },
        },
      })
      const exports = instance.exports as Record<string, (call: number, n: number) => Promise<number>>
      const expected = plan.reduce((sum, kind, i) => sum + (kind === 'throw' || kind === 'reject' ? 1000 : i), 0)
      await expect(exports.walk!(0, plan.length)).resolves.toBe(expected)
      await expect(exports.walk!(2, plan.length)).resolves.toBe(expected)
      await expect(Promise.all([0, 1, 2, 3].map((call) => exports.walk!(call, plan.length)))).resolves.toEqual([expected, expected, expected, expected])
      expect(asyncifyStats(instance).suspendedCalls).toBe(0)
    })
  }
})

/*
 * Typed references in the signatures the JSPI path wraps: a struct type in a
 * recursion group, non-null and nullable references, as async import params
 * and results and as a suspending export's. The trampolines repeat the
 * module's types, so their `(ref $box)` is the module's; Asyncify cannot
 * keep such values live across a suspension, so only JSPI runs this module.
 */
describe('typed references on the JSPI path', () => {
  const boxes = wat(
    `(module
      (rec (type $box (struct (field i32))) (type $pair (struct (field (ref $box)) (field (ref null $box)))))
      (import "env" "keep" (func $keep (param (ref $box)) (result (ref $box))))
      (import "env" "maybe" (func $maybe (param i32) (result (ref null $box))))
      (func (export "make") (param $x i32) (result (ref $box)) (struct.new $box (local.get $x)))
      (func (export "run") (param $x i32) (result i32)
        (local $kept (ref null $box))
        (local.set $kept (call $keep (struct.new $box (local.get $x))))
        (i32.add
          (struct.get $box 0 (ref.as_non_null (local.get $kept)))
          (if (result i32) (ref.is_null (call $maybe (local.get $x)))
            (then (i32.const 1000))
            (else (i32.const 0)))))
      (func (export "wrap") (param $b (ref $box)) (result (ref $pair))
        (struct.new $pair (call $keep (local.get $b)) (call $maybe (i32.const 1))))
      (func (export "first") (param $p (ref $pair)) (result i32) (struct.get $box 0 (struct.get $pair 0 (local.get $p)))))`,
    'every',
  )

  // Only JSPI runs this module: Node 20 checks its build and the error, Node 26 runs it.
  if (!jspiHere) {
    it('its build is for JSPI only, naming why Asyncify cannot run it, with what the trampolines need (Node 20 has no GC to run it)', async () => {
      const result = await asyncifyWasm(boxes, { imports: ['env.keep', 'env.maybe'], filename: 'boxes.wasm' })
      expect(result.report.paths).toEqual(['jspi'])
      expect(result.report.asyncifyUnsupported).toMatch(/^boxes\.wasm: the module has no linear memory/)
      expect(result.jspi!.metadata.types).toBeDefined()
      expect(result.jspi!.metadata.asyncImports.map((entry) => entry.typed?.results)).toEqual([['6400'], ['6300']])
    })
    return
  }

  it('async imports and suspending exports with (ref $t) signatures suspend and return the right values', async () => {
    const result = await asyncifyWasm(boxes, { imports: ['env.keep', 'env.maybe'] })
    expect(result.report.paths).toEqual(['jspi'])
    let made: (x: number) => unknown = () => null
    const { instance } = await instantiate(result.jspi!.wasm, {
      env: {
        keep: (box: unknown) => later(box),
        // A plain value some of the time: the trampoline's plain path with a typed result.
        maybe: (x: number) => (x % 2 === 0 ? later(null) : x === 1 ? made(7) : later(made(x))),
      },
    })
    const exports = instance.exports as Record<string, (...args: any[]) => any>
    made = exports.make!
    const results = await Promise.all([exports.run!(4), exports.run!(5), exports.run!(6)])
    expect(results).toEqual([1004, 5, 1006])
    const pair = await exports.wrap!(exports.make!(42))
    expect(exports.first!(pair)).toBe(42)
    expect(asyncifyStats(instance).suspendedCalls).toBe(0)
  })

  it('a value of the wrong type from an async import is a TypeError at the boundary, as without the runtime', async () => {
    const result = await asyncifyWasm(boxes, { imports: ['env.keep', 'env.maybe'] })
    const { instance } = await instantiate(result.jspi!.wasm, { env: { keep: () => later(42), maybe: () => later(null) } })
    const error = await (instance.exports as Record<string, (x: number) => Promise<number>>).run!(1).catch((e: unknown) => e)
    expect(error).toBeInstanceOf(TypeError)
  })
})
