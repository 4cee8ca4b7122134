import { asyncifyWasm } from 'unplugin-asyncify/transform'
import { AsyncifyError, asyncifyStats } from 'unplugin-asyncify/runtime'
import { describe, expect, it } from 'vitest'
import { compileC } from '../helpers/compile-c.js'
import { asyncified, later, engine } from '../helpers/engine.js'
import { wat } from '../helpers/wat.js'

async function rejection(promise: Promise<unknown>): Promise<AsyncifyError> {
  const error = await promise.then(
    () => {
      throw new Error('expected a rejection')
    },
    (e: unknown) => e,
  )
  expect(error).toBeInstanceOf(AsyncifyError)
  return error as AsyncifyError
}

describe('decisions come from the module as emitted', () => {
  it('two C exports with the same body, merged by the optimizer, both suspend and both are reported', async () => {
    const { exports, report } = await asyncified(compileC('twins.c'), { imports: ['env.wait'] }, {
      env: { wait: (x: number) => later(x) },
    })
    expect(report.suspendingExports.sort()).toEqual(['first', 'second'])
    await expect(exports.first(2)).resolves.toBe(7)
    await expect(exports.second(5)).resolves.toBe(16)
  })
})

describe('every entry into wasm is seen', () => {
  const tableModule = wat(`(module
    (import "env" "outer" (func $outer (param i32) (result i32)))
    (import "env" "get" (func $get (param i32) (result i32)))
    (memory (export "memory") 1)
    (table (export "table") 1 funcref)
    (elem (i32.const 0) $viaTable)
    (func $viaTable (param $x i32) (result i32) (i32.add (call $get (local.get $x)) (i32.const 1000)))
    (func (export "run") (param $x i32) (result i32)
      (i32.add (call $outer (local.get $x)) (call $get (local.get $x)))))`)

  for (const imports of [['env.get'], undefined]) {
    it(`a table function called from an import refuses to suspend with a coded error (imports: ${imports ?? 'all'})`, async () => {
      let answer: (x: number) => unknown = (x) => later(x)
      let table!: WebAssembly.Table
      const { exports, instance } = await asyncified(tableModule, { imports }, {
        env: { outer: (x: number) => (table.get(0) as (x: number) => number)(x), get: (x: number) => answer(x) },
      })
      table = exports.table
      const error = await rejection(exports.run(5))
      expect(error.code).toBe('ASYNCIFY_SUSPEND_OUTSIDE_CALL')
      expect(error.message).toMatch(/"env\.get" returned a Promise.*table function called from JS/)
      expect(asyncifyStats(instance)).toEqual({ mode: engine, suspendedCalls: 0, stackPointer: null, asyncifyStackUsed: 0 })
      // The same path with a plain value needs no suspension, and the instance is still sound.
      answer = (x) => x
      await expect(exports.run(5)).resolves.toBe(1010)
    })
  }
})

describe('an overflow never leaves damage unreported', () => {
  // Each frame of $deep keeps eight i64 locals live across the call (at
  // optimize 0; the optimizer would fold the copies away). They start from a
  // mutable global, so that the direct engine saves them rather than
  // computing them again on the rewind.
  const deep = (memory: string) => `(module
    (import "env" "get" (func $get (param i32) (result i32)))
    ${memory}
    (global $zero (mut i32) (i32.const 0))
    (func $deep (param $n i32) (result i32)
      (local $a i64) (local $b i64) (local $c i64) (local $d i64)
      (local $e i64) (local $f i64) (local $g i64) (local $h i64) (local $below i32)
      (local.set $a (i64.extend_i32_u (i32.add (local.get $n) (global.get $zero))))
      (local.set $b (local.get $a)) (local.set $c (local.get $a))
      (local.set $d (local.get $a)) (local.set $e (local.get $a)) (local.set $f (local.get $a))
      (local.set $g (local.get $a)) (local.set $h (local.get $a))
      (if (i32.eqz (local.get $n))
        (then (return (call $get (i32.const 0)))))
      (local.set $below (call $deep (i32.sub (local.get $n) (i32.const 1))))
      (local.set $a (i64.add (local.get $a) (local.get $b)))
      (local.set $a (i64.add (local.get $a) (local.get $c)))
      (local.set $a (i64.add (local.get $a) (local.get $d)))
      (local.set $a (i64.add (local.get $a) (local.get $e)))
      (local.set $a (i64.add (local.get $a) (local.get $f)))
      (local.set $a (i64.add (local.get $a) (local.get $g)))
      (local.set $a (i64.add (local.get $a) (local.get $h)))
      (i32.add (local.get $below) (i32.wrap_i64 (local.get $a))))
    (func (export "run") (param $n i32) (result i32) (call $deep (local.get $n)))
    (func (export "grow") (result i32) (memory.grow (i32.const 1)))
    (func (export "peek") (param $at i32) (result i32) (i32.load (local.get $at)))
    (func (export "poke") (param $at i32) (param $v i32) (i32.store (local.get $at) (local.get $v))))`

  it('an overflow that runs to the end of memory through pages the program grew poisons the instance', async () => {
    const { exports } = await asyncified(wat(deep('(memory (export "memory") 1)')), { imports: ['env.get'], optimize: 0 }, {
      env: { get: (x: number) => later(x) },
    }, { stackSize: 1024 }, 'asyncify')
    await expect(exports.run(0)).resolves.toBe(0)
    const page = exports.grow() as number
    exports.poke(page * 65536, 0x1234)
    const overflow = await rejection(exports.run(2000))
    expect(overflow.code).toBe('ASYNCIFY_STACK_OVERFLOW')
    const after = await rejection(exports.run(1))
    expect(after.code).toBe('ASYNCIFY_INSTANCE_POISONED')
  })

  it('an overflow out of a stackRegion that traps at the end of memory poisons the instance', async () => {
    const { exports } = await asyncified(wat(deep('(memory (export "memory") 1 1)')), { imports: ['env.get'], optimize: 0 }, {
      env: { get: (x: number) => later(x) },
    }, { stackRegion: { start: 1024, size: 1024 } }, 'asyncify')
    // deep(n) = deep(n - 1) + 8n, so deep(2) = 24.
    await expect(exports.run(2)).resolves.toBe(24)
    const overflow = await rejection(exports.run(2000))
    expect(overflow.code).toBe('ASYNCIFY_STACK_OVERFLOW')
    expect((await rejection(exports.run(1))).code).toBe('ASYNCIFY_INSTANCE_POISONED')
  })

  for (const built of ['direct', 'binaryen'] as const) {
    it(`a suspension whose unwind the program made impossible (it overwrote the Asyncify stack's header) fails alone: the next one works (${built} engine)`, async () => {
      const { exports, report } = await asyncified(wat(deep('(memory (export "memory") 1 1)')), { imports: ['env.get'], optimize: 0, engine: built, stackPointer: false }, {
        env: { get: (x: number) => later(x) },
      }, { stackRegion: { start: 1024, size: 1024 } }, 'asyncify')
      expect(report.engine).toBe(built)
      await expect(exports.run(1)).resolves.toBe(8)
      // The position, at the region's start, now lies past its end: asyncify_start_unwind traps.
      exports.poke(1024, 0x7fff0000)
      expect(await rejection(exports.run(1))).toBeInstanceOf(AsyncifyError)
      await expect(exports.run(2)).resolves.toBe(24)
    })
  }

  it('an overflow that stays in the region\'s own slack is reported and the instance keeps working', async () => {
    const { exports } = await asyncified(wat(deep('(memory (export "memory") 1)')), { imports: ['env.get'], optimize: 0 }, {
      env: { get: (x: number) => later(x) },
    }, { stackSize: 1024 }, 'asyncify')
    expect((await rejection(exports.run(20))).code).toBe('ASYNCIFY_STACK_OVERFLOW')
    await expect(exports.run(0)).resolves.toBe(0)
  })
})

describe('suspensions inside catch blocks', () => {
  const catching = (body: string) =>
    wat(
      `(module
        (import "env" "get" (func $get (param i32) (result i32)))
        (type $unary (func (param i32) (result i32)))
        (tag $oops (param i32))
        (memory 1)
        (global $slot (mut i32) (i32.const 0))
        (table 1 funcref)
        (elem (i32.const 0) $viaTable)
        (func $viaTable (param $x i32) (result i32) (call $get (local.get $x)))
        (func $handler (param $x i32) (result i32)
          (try (result i32)
            (do (throw $oops (local.get $x)))
            (catch $oops ${body})))
        (func (export "run") (param $x i32) (result i32) (i32.add (call $handler (local.get $x)) (i32.const 1))))`,
      ['ExceptionHandling'],
    )

  it('a direct call that can suspend inside a catch block is refused at build time, naming the function', async () => {
    // At optimize 0 the handler keeps its own name (the optimizer would inline it into its caller).
    const error = <AsyncifyError>await asyncifyWasm(catching('(call $get (pop i32))'), { imports: ['env.get'], optimize: 0, filename: 'eh.wasm', mode: 'asyncify' }).catch(
      (e: unknown) => e as AsyncifyError,
    )
    expect(error.code).toBe('ASYNCIFY_UNSUPPORTED_FEATURE')
    expect(error.message).toMatch(/^eh\.wasm: function "handler" calls "get", which can suspend, inside a catch block/)
  })

  it('an indirect call that suspends inside a catch block gets its own code and advice, not "stack overflow"', async () => {
    const { exports, instance } = await asyncified(
      catching('(call_indirect (type $unary) (pop i32) (global.get $slot))'),
      // The optimizer would see that $slot never changes and call $viaTable directly.
      { imports: ['env.get'], optimize: 0 },
      { env: { get: (x: number) => later(x) } },
      undefined,
      'asyncify',
    )
    const error = await rejection(exports.run(5))
    expect(error.code).toBe('ASYNCIFY_UNSUPPORTED_SUSPENSION')
    expect(error.message).toMatch(/"env\.get" returned a Promise at a point Asyncify cannot unwind.*catch block/)
    expect(asyncifyStats(instance).suspendedCalls).toBe(0)
  })
})

describe('inputs the transform refuses or now handles', () => {
  it('a module with async imports and no memory is refused for Asyncify at build time, and built for JSPI alone in auto', async () => {
    const bytes = wat(`(module
      (import "env" "get" (func $get (result i32)))
      (func (export "run") (result i32) (call $get)))`)
    const error = <AsyncifyError>await asyncifyWasm(bytes, { imports: ['env.get'], filename: 'm.wasm', mode: 'asyncify' }).catch((e: unknown) => e as AsyncifyError)
    expect(error.code).toBe('ASYNCIFY_NO_MEMORY')
    expect(error.message).toMatch(/^m\.wasm: the module has no linear memory.*\(memory 1\)/)
    const auto = await asyncifyWasm(bytes, { imports: ['env.get'], filename: 'm.wasm' })
    expect(auto.report.paths).toEqual(['jspi'])
    expect(auto.report.asyncifyUnsupported).toBe(error.message)
  })

  it('a module whose own export is named like an internal one is refused, naming the export', async () => {
    const bytes = wat(`(module
      (import "env" "get" (func $get (result i32)))
      (memory 1)
      (global $g (mut i32) (i32.const 0))
      (export "__asyncify_stack_pointer" (global $g))
      (func (export "run") (result i32) (call $get)))`)
    const error = <AsyncifyError>await asyncifyWasm(bytes, { imports: ['env.get'], filename: 'm.wasm' }).catch((e: unknown) => e as AsyncifyError)
    expect(error.code).toBe('ASYNCIFY_NAME_COLLISION')
    expect(error.message).toMatch(/"__asyncify_stack_pointer".*rename that export/)
  })

  it('a module with bulk-memory and reference-types code and no target_features section transforms (its features are worked out)', async () => {
    const bytes = wat(
      `(module
        (import "env" "get" (func $get (param i32) (result i32)))
        (memory (export "memory") 1)
        (table 1 funcref)
        (func (export "run") (param $x i32) (result i32)
          (memory.copy (i32.const 0) (i32.const 16) (i32.const 4))
          (drop (ref.is_null (table.get (i32.const 0))))
          (call $get (local.get $x))))`,
      ['BulkMemory', 'BulkMemoryOpt', 'ReferenceTypes', 'CallIndirectOverlong' as never],
    )
    const { exports } = await asyncified(bytes, { imports: ['env.get'] }, { env: { get: (x: number) => later(x) } })
    await expect(exports.run(4)).resolves.toBe(4)
  })

  it('a named memory that is not exported is reached by the runtime', async () => {
    const bytes = wat(`(module
      (import "env" "get" (func $get (param i32) (result i32)))
      (memory $heap 1)
      (data (memory $heap) (i32.const 64) "\\07\\00\\00\\00")
      (func (export "run") (param $x i32) (result i32) (i32.add (i32.load (i32.const 64)) (call $get (local.get $x)))))`)
    const { exports } = await asyncified(bytes, { imports: ['env.get'] }, { env: { get: (x: number) => later(x) } })
    await expect(exports.run(5)).resolves.toBe(12)
  })
})

describe('the runtime at the edges of its options and of memory', () => {
  const simple = wat(`(module
    (import "env" "get" (func $get (param i32) (result i32)))
    (memory (export "memory") 1)
    (func (export "run") (param $x i32) (result i32) (call $get (local.get $x))))`)

  it('refuses bad runtime options with ASYNCIFY_BAD_OPTIONS naming the option', async () => {
    const { wasm } = await asyncifyWasm(simple, { imports: ['env.get'] })
    const { instantiate } = await import('unplugin-asyncify/runtime')
    const cases: [Record<string, unknown>, RegExp][] = [
      [{ shadowStackSize: 0 }, /shadowStackSize must be/],
      [{ shadowStackSize: -1 }, /shadowStackSize must be/],
      [{ stackSize: '4096' }, /stackSize must be .*"4096"/],
      [{ stackSize: 4097 }, /stackSize must be/],
      [{ stackRegion: { start: -8, size: 64 } }, /stackRegion\.start must be/],
      [{ stackRegion: null }, /stackRegion must be/],
      [{ name: 42 }, /name must be a string/],
      [{ stacksize: 4096 }, /^wasm module: unknown option "stacksize"; the options are name, stackSize, stackRegion, shadowStackSize, mode$/],
    ]
    for (const [options, message] of cases) {
      const error = (await instantiate(wasm!, { env: { get: later } }, options as never).catch((e: unknown) => e)) as AsyncifyError
      expect(error.code).toBe('ASYNCIFY_BAD_OPTIONS')
      expect(error.message).toMatch(message)
    }
  })

  it('with stackRegion in a capped memory, a call that needs an overlap C stack names what is missing and how to give it', async () => {
    const bytes = wat(`(module
      (import "env" "get" (func $get (param i32) (result i32)))
      (memory (export "memory") 2 2)
      (global $__stack_pointer (mut i32) (i32.const 65536))
      (func (export "run") (param $x i32) (result i32) (local $r i32)
        (global.set $__stack_pointer (i32.sub (global.get $__stack_pointer) (i32.const 16)))
        (local.set $r (call $get (local.get $x)))
        (global.set $__stack_pointer (i32.add (global.get $__stack_pointer) (i32.const 16)))
        (local.get $r)))`)
    const { exports } = await asyncified(bytes, { imports: ['env.get'], stackPointer: '__stack_pointer' }, {
      env: { get: (x: number) => later(x) },
    }, { stackRegion: { start: 70000, size: 4096 } }, 'asyncify')
    await expect(exports.run(1)).resolves.toBe(1)
    const [first, second] = await Promise.allSettled([exports.run(2), exports.run(3)])
    expect(first).toEqual({ status: 'fulfilled', value: 2 })
    const error = (second as PromiseRejectedResult).reason as AsyncifyError
    expect(error.code).toBe('ASYNCIFY_MEMORY_EXHAUSTED')
    expect(error.message).toMatch(/for a C stack for overlapping calls: .*export the program's malloc/)
    expect(error.message).not.toMatch(/Asyncify stack|stackRegion/)
  })

  it('works with its state above 2 GiB: overlapping calls in a memory larger than 2 GiB', async () => {
    const memory = new WebAssembly.Memory({ initial: 32769, maximum: 32800 })
    const big = wat(`(module
      (import "env" "get" (func $get (param i32) (result i32)))
      (import "env" "memory" (memory 1))
      (func (export "run") (param $x i32) (result i32)
        (i32.store (i32.const 0) (i32.mul (call $get (local.get $x)) (i32.const 2)))
        (i32.load (i32.const 0))))`)
    const { exports, instance } = await asyncified(big, { imports: ['env.get'] }, { env: { get: (x: number) => later(x, x), memory } })
    const results = await Promise.all([exports.run(3), exports.run(1), exports.run(2)])
    expect(results).toEqual([6, 2, 4])
    expect(asyncifyStats(instance).suspendedCalls).toBe(0)
    expect(memory.buffer.byteLength).toBeGreaterThan(2 ** 31)
  })
})
