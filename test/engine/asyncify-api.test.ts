/*
 * Modules that drive Asyncify themselves through Binaryen's API imports
 * (asyncify.start_unwind, ...): a real clang program whose scheduler runs
 * generators (test/fixtures/c/coroutines.c), Binaryen's own examples, and a
 * module whose other imports move when the API's become its functions. Each
 * engine builds them, and only for Asyncify: `npm test` runs this file under
 * Node 20 and again under Node 26, where mode "auto" must still pick Asyncify.
 */
import { readFileSync } from 'node:fs'
import { asyncifyWasm, type TransformOptions } from 'unplugin-asyncify/transform'
import { AsyncifyError, asyncifyStats, instantiate } from 'unplugin-asyncify/runtime'
import { describe, expect, it } from 'vitest'
import { Random } from '../../scripts/fuzz/random.js'
import { compileC } from '../helpers/compile-c.js'
import { embeddedMap, mappedFrames } from '../helpers/embedded-map.js'
import { randomCoroutineProgram } from '../helpers/random-coroutines.js'
import { wat } from '../helpers/wat.js'

const ENGINES = ['direct', 'binaryen'] as const
type BuildEngine = (typeof ENGINES)[number]

const coroutines = compileC('coroutines.c')
const fixture = (name: string) => readFileSync(new URL(`../fixtures/wat/${name}`, import.meta.url), 'utf8')

// Binaryen's pipeline instruments every function that makes an indirect call in such a module, so its build has
// exports that return Promises where the direct engine's return values: every call is awaited.
type Exports = Record<string, (...args: number[]) => unknown>

// A scheduler whose API imports sit among others that its code calls, puts in its table, exports and takes a
// reference to: each of those indices moves when the API's imports become functions of the module.
const RENUMBERED = `(module
  (type $unary (func (param i32) (result i32)))
  (import "env" "log" (func $log (param i32)))
  (import "asyncify" "start_unwind" (func $start_unwind (param i32)))
  (import "env" "twice" (func $twice (param i32) (result i32)))
  (import "asyncify" "stop_unwind" (func $stop_unwind))
  (import "asyncify" "start_rewind" (func $start_rewind (param i32)))
  (import "env" "thrice" (func $thrice (param i32) (result i32)))
  (import "asyncify" "stop_rewind" (func $stop_rewind))
  (memory 1 1)
  (table 3 funcref)
  (elem (i32.const 0) $twice $thrice)
  (elem (table 0) (i32.const 2) funcref (ref.func $step))
  (global $thrice_ref funcref (ref.func $thrice))
  (global $rewinding (mut i32) (i32.const 0))
  (global $suspended (mut i32) (i32.const 0))
  (export "twice" (func $twice))
  (export "thrice_ref" (global $thrice_ref))
  ;; The top of the runtime: suspends once, into the buffer at 16.
  (func $pause
    (if (global.get $rewinding)
      (then (global.set $rewinding (i32.const 0)) (call $stop_rewind))
      (else
        (global.set $suspended (i32.const 1))
        (i32.store (i32.const 16) (i32.const 32))
        (i32.store (i32.const 20) (i32.const 1024))
        (call $start_unwind (i32.const 16)))))
  ;; Logs, pauses, then calls the imports through the table; $x and $y live across the pause.
  (func $step (param $x i32) (result i32) (local $y i32)
    (local.set $y (call $twice (local.get $x)))
    (call $log (local.get $y))
    (call $pause)
    (i32.add
      (call_indirect (type $unary) (local.get $y) (i32.const 1))
      (call_indirect (type $unary) (local.get $x) (i32.const 0))))
  (func $entry (param $x i32) (result i32)
    (call_indirect (type $unary) (local.get $x) (i32.const 2)))
  ;; The bottom: runs $step to its end, logging 1000 at each pause.
  (func (export "main") (param $x i32) (result i32) (local $result i32)
    (local.set $result (call $entry (local.get $x)))
    (loop $again
      (if (global.get $suspended)
        (then
          (call $stop_unwind)
          (global.set $suspended (i32.const 0))
          (call $log (i32.const 1000))
          (global.set $rewinding (i32.const 1))
          (call $start_rewind (i32.const 16))
          (local.set $result (call $entry (local.get $x)))
          (br $again))))
    (local.get $result)))`

async function build(bytes: Uint8Array, engine: BuildEngine, options: TransformOptions = {}) {
  const result = await asyncifyWasm(bytes, { filename: 'coroutines.wasm', engine, ...options })
  expect(result.report.engine).toBe(engine)
  return result
}

async function load(engine: BuildEngine): Promise<Exports> {
  const { wasm } = await build(coroutines, engine)
  return (await instantiate({ asyncify: wasm! }, {})).instance.exports as Exports
}

// The generators of coroutines.c: fibonacci, mixed types, a tree walk yielding at every depth, a frame with C stack data.
const GENERATORS = [
  [0, 60],
  [1, 500],
  [2, 7],
  [3, 200],
] as const

describe.each(ENGINES)('a C program that drives Asyncify itself (the %s engine)', (engine) => {
  it('builds for Asyncify alone, saying why there is no JSPI build', async () => {
    const { report, wasm, jspi } = await build(coroutines, engine)
    expect(report.paths).toEqual(['asyncify'])
    expect(wasm).not.toBeNull()
    expect(jspi).toBeNull()
    expect(report.jspiUnsupported).toMatch(/drives Asyncify itself through the asyncify\.\* imports/)
    // The generators and what enters them: the scheduler (run, run_pair) and the top of the runtime (yield) are not.
    expect(report.functions.instrumented).toBeGreaterThanOrEqual(5)
  })

  it('each generator yields, one value per rewind, what its plain twin computes', async () => {
    const exports = await load(engine)
    for (const [which, n] of GENERATORS) {
      const expected = await exports.plain!(which, n)
      expect(typeof expected).toBe('bigint')
      expect(await exports.run!(which, n)).toBe(expected)
    }
  })

  it('two generators take turns, each unwound into a buffer of its own', async () => {
    const exports = await load(engine)
    for (const [first, second, n] of [
      [0, 1, 40],
      [1, 3, 70],
      [2, 0, 5],
      [3, 3, 33],
    ] as const) {
      expect(await exports.run_pair!(first, second, n)).toBe(await exports.plain_pair!(first, second, n))
    }
  })

  it('an unwind that runs past the end of its buffer traps when the scheduler stops it, as Binaryen\'s does', async () => {
    const exports = await load(engine)
    exports.set_buffer_size!(8)
    expect(() => exports.run!(2, 7)).toThrow(WebAssembly.RuntimeError)
    exports.set_buffer_size!(4096)
    expect(await exports.run!(2, 7)).toBe(await exports.plain!(2, 7))
  })

  it('with debug, a trap after the rewinds has a stack trace whose frames map to the C functions and lines', async () => {
    const source = readFileSync(new URL('../fixtures/c/coroutines.c', import.meta.url), 'utf8').split('\n')
    const lineOf = (marker: string) => source.findIndex((line) => line.includes(`// line: ${marker}`)) + 1
    const { wasm } = await build(compileC('coroutines.c', ['-g']), engine, { debug: true })
    const exports = (await instantiate({ asyncify: wasm! }, {})).instance.exports as Exports
    exports.set_trap_at!(5)
    const error = (await (async () => exports.run!(0, 10))().catch((e: unknown) => e)) as Error
    expect(error).toBeInstanceOf(WebAssembly.RuntimeError)
    expect(mappedFrames(error.stack!, embeddedMap(wasm!)).slice(0, 3)).toEqual([
      { name: 'fibonacci', source: 'coroutines.c', line: lineOf('fibonacci') },
      { name: 'enter', source: 'coroutines.c', line: lineOf('enter') },
      { name: 'run', source: 'coroutines.c', line: lineOf('run') },
    ])
  })

  it('mode "jspi" is refused with a coded error naming the file and the fix', async () => {
    const error = (await asyncifyWasm(coroutines, { filename: 'coroutines.wasm', engine, mode: 'jspi' }).catch((e: unknown) => e)) as AsyncifyError
    expect(error).toBeInstanceOf(AsyncifyError)
    expect(error.code).toBe('ASYNCIFY_API_NEEDS_ASYNCIFY')
    expect(error.message).toMatch(/^coroutines\.wasm: cannot build for JSPI alone: .*build with mode "auto" or "asyncify"/)
  })

  it('in mode auto, an engine with JSPI runs the Asyncify build', async () => {
    const { wasm } = await build(coroutines, engine)
    const { instance } = await instantiate({ asyncify: wasm! }, {})
    expect(asyncifyStats(instance).mode).toBe('asyncify')
    const exports = instance.exports as Exports
    expect(await exports.run!(0, 60)).toBe(await exports.plain!(0, 60))
  })
})

describe('the direct engine on a module that drives Asyncify itself', () => {
  it('is what builds it by default, and both engines build the same program', async () => {
    const { report } = await asyncifyWasm(coroutines, { filename: 'coroutines.wasm' })
    expect(report.engine).toBe('direct')
    const [direct, binaryen] = [await load('direct'), await load('binaryen')]
    for (const [which, n] of GENERATORS) expect(await direct.run!(which, n)).toBe(await binaryen.run!(which, n))
  })

  it('keeps every other import, export, table entry and reference working when the API imports leave the import section', async () => {
    const bytes = wat(RENUMBERED, ['ReferenceTypes', 'BulkMemory'])
    for (const engine of ENGINES) {
      const { wasm } = await build(bytes, engine, { imports: [] })
      const log: number[] = []
      const env = { log: (x: number) => void log.push(x), twice: (x: number) => 2 * x, thrice: (x: number) => 3 * x }
      const exports = (await instantiate({ asyncify: wasm! }, { env })).instance.exports as Record<string, any>
      // step(5): twice(5) logged, a pause the scheduler logs as 1000, then thrice(10) + twice(5) through the table.
      expect(exports.main(5)).toBe(40)
      expect(log).toEqual([10, 1000])
      expect(exports.twice(4)).toBe(8)
      expect(exports.thrice_ref.value(4)).toBe(12)
    }
  })

  for (const name of ['inlining.wat', 'inlining-one-call-site.wat']) {
    it(`runs Binaryen's ${name} right: 1 2 3`, async () => {
      const lines: number[] = []
      const { wasm, report } = await asyncifyWasm(wat(fixture(name)), { filename: name })
      expect(report.engine).toBe('direct')
      await instantiate(wasm!, { spectest: { print: (x: number) => void lines.push(x) } })
      expect(lines).toEqual([1, 2, 3])
    })
  }

  it('takes code named in the runtime option as runtime, and without it goes wrong as Binaryen\'s build does', async () => {
    const bytes = wat(fixture('runtime-through-helper.wat'))
    const printed = async (options: TransformOptions) => {
      const lines: number[] = []
      const { wasm, report } = await asyncifyWasm(bytes, { filename: 'helper.wasm', ...options })
      await instantiate(wasm!, { spectest: { print: (x: number) => void lines.push(x) } }).catch(() => {})
      return { lines, engine: report.engine }
    }
    expect(await printed({ runtime: ['runtime'] })).toEqual({ lines: [1, 2, 3], engine: 'direct' })
    const without = await printed({})
    expect(without.engine).toBe('direct')
    expect(without.lines).toEqual((await printed({ engine: 'binaryen' })).lines)
    expect(without.lines).not.toEqual([1, 2, 3])
  })

  it('builds 150 random programs that drive Asyncify themselves into what their untouched twins compute', async () => {
    let pauses = 0
    for (let seed = 0; seed < 150; seed++) {
      const { driven, reference } = randomCoroutineProgram(new Random(seed))
      const twin = new WebAssembly.Instance(new WebAssembly.Module(wat(reference, ['NontrappingFPToInt']) as Uint8Array<ArrayBuffer>)).exports as Record<string, any>
      const expected = { result: twin.main(seed), trace: twin.trace.value, pauses: twin.pauses.value }
      pauses += expected.pauses
      // Binaryen's pipeline takes a tenth of them, as a second opinion on the reference.
      for (const engine of seed % 10 === 0 ? ENGINES : (['direct'] as const)) {
        const { wasm } = await build(wat(driven, ['NontrappingFPToInt']), engine, { imports: [], mode: 'asyncify', filename: `coroutines-${seed}.wasm` })
        const exports = (await instantiate(wasm!, {})).instance.exports as Record<string, any>
        const result = await exports.main(seed)
        expect({ seed, engine, result, trace: exports.trace.value, pauses: exports.pauses.value }).toEqual({ seed, engine, ...expected })
      }
    }
    // Enough of them unwind and rewind for the comparison to mean something (1,534 pauses in the first 200 when written).
    expect(pauses).toBeGreaterThan(500)
  })

  it('leaves an asyncify import it does not know to the pipeline', async () => {
    const bytes = wat(`(module
      (import "asyncify" "start_unwind" (func $start_unwind (param i32)))
      (import "asyncify" "get_data" (func $get_data (result i32)))
      (memory 1 1)
      (func (export "f") (call $start_unwind (call $get_data))))`)
    const outcome = await asyncifyWasm(bytes, { filename: 'unknown.wasm', mode: 'asyncify' }).then(
      (result) => result.report.engine,
      (error: unknown) => error,
    )
    expect(outcome).not.toBe('direct')
  })
})
