/*
 * Fibers (include/asyncify.h): a real clang program (test/fixtures/c/fibers.c)
 * switching between many stacks in one instance, on the Asyncify path, which
 * is the only one that runs them. `npm test` runs this file under Node 20 and
 * again under Node 26, where mode "auto" must still pick Asyncify.
 */
import { asyncifyWasm } from 'unplugin-asyncify/transform'
import { AsyncifyError, asyncifyStats, instantiate } from 'unplugin-asyncify/runtime'
import { describe, expect, it } from 'vitest'
import { compileC } from '../helpers/compile-c.js'
import { asyncified, deferred, later } from '../helpers/engine.js'
import { wat } from '../helpers/wat.js'

const source = compileC('fibers.c')

// Each engine builds fibers: the direct one since 2026-11-24, Binaryen's pipeline with engine 'binaryen'.
const ENGINES = ['direct', 'binaryen'] as const
type BuildEngine = (typeof ENGINES)[number]

async function load(engine: BuildEngine, sleep: (ms: number) => unknown = (ms) => later(ms * 10)) {
  const built = await asyncified(source, { filename: 'fibers.wasm', engine }, { env: { sleep } }, undefined, 'asyncify')
  expect(built.report.engine).toBe(engine)
  return built
}

function traceOf(exports: Record<string, any>): number[] {
  return Array.from({ length: exports.trace_count() as number }, (_, i) => exports.trace_at(i) as number)
}

async function codeOf(promise: Promise<unknown>): Promise<string> {
  const error = await promise.then(
    () => null,
    (caught: unknown) => caught,
  )
  expect(error).toBeInstanceOf(AsyncifyError)
  return (error as AsyncifyError).code
}

describe.each(ENGINES)('fibers (built by the %s engine)', (engine) => {
  it('two fibers switch back and forth in order, each keeping the buffers on its own C stack', async () => {
    const { exports } = await load(engine)
    await expect(exports.ping_pong(5)).resolves.toBe(11)
    expect(traceOf(exports)).toEqual([0, 100, 1, 101, 2, 102, 3, 103, 4, 104, 5])
  })

  it('a fiber that waits for an async import lets overlapping export calls run, and each gets its own result', async () => {
    const gates = new Map<number, ReturnType<typeof deferred<number>>>()
    const { instance, exports } = await load(engine, (ms) => {
      const gate = deferred<number>()
      gates.set(ms, gate)
      return gate.promise
    })
    const calls = [exports.nap(1), exports.nap(2), exports.nap(3)]
    expect(asyncifyStats(instance).suspendedCalls).toBe(3)
    for (const ms of [2, 3, 1]) gates.get(ms)!.resolve(ms * 100)
    await expect(Promise.all(calls)).resolves.toEqual([1334, 1434, 1534])
    expect(asyncifyStats(instance).suspendedCalls).toBe(0)
  })

  it('a created fiber is resumed by a new export call each time, where it left off', async () => {
    const { exports } = await load(engine)
    exports.gen_start(5)
    const values = []
    for (let i = 0; i < 5; i++) values.push(await exports.gen_next())
    expect(values).toEqual([5, 8, 11, 14, 17])
    exports.gen_free()
  })

  it('a ring of 1,000 fibers passes a token round three times, every fiber\'s stack intact', async () => {
    const { exports } = await load(engine)
    await expect(exports.ring_run(1000, 3)).resolves.toBe(3000)
  })

  for (const stacks of ['the runtime\'s', 'the program\'s own'] as const) {
    it(`10,000 fibers with ${stacks} stacks are created, run and freed, and memory stays where it was`, async () => {
      const { instance, exports } = await load(engine)
      const own = stacks === 'the runtime\'s' ? 0 : 1
      const memory = instance.exports.memory as WebAssembly.Memory
      await expect(exports.churn(100, own)).resolves.toBe(100)
      const [pages, probe] = [memory.buffer.byteLength, exports.heap_probe()]
      await expect(exports.churn(10_000, own)).resolves.toBe(10_000)
      expect(memory.buffer.byteLength).toBe(pages)
      expect(exports.heap_probe()).toBe(probe)
      expect(asyncifyStats(instance)).toMatchObject({ suspendedCalls: 0, asyncifyStackUsed: 0 })
    })
  }

  it('a fiber that is never resumed can be freed', async () => {
    const { exports } = await load(engine)
    await expect(exports.never_resumed()).resolves.toBe(7)
  })

  it('misuse is a coded error that rejects the call, and the instance stays usable', async () => {
    const { instance, exports } = await load(engine, (ms) => later(ms))
    expect(await codeOf(exports.switch_to_finished())).toBe('ASYNCIFY_FIBER_FINISHED')
    expect(await codeOf(exports.switch_to_freed())).toBe('ASYNCIFY_FIBER_INVALID')
    const first = exports.busy_first()
    expect(await codeOf(exports.busy_second())).toBe('ASYNCIFY_FIBER_BUSY')
    await expect(first).resolves.toBe(1)
    await expect(exports.ping_pong(2)).resolves.toBe(5)
    expect(asyncifyStats(instance)).toMatchObject({ suspendedCalls: 0, asyncifyStackUsed: 0 })
  })
})

describe.each(ENGINES)('building a module that uses fibers (the %s engine)', (engine) => {
  it('lists the switch as async even beside an imports option, and builds for Asyncify alone, saying why', async () => {
    for (const options of [{}, { imports: ['env.sleep'] }]) {
      const { report, wasm, jspi } = await asyncifyWasm(source, { filename: 'fibers.wasm', engine, ...options })
      expect(report.asyncImports).toEqual(['env.sleep', 'unplugin-asyncify.fiber_switch'])
      expect(report.paths).toEqual(['asyncify'])
      expect(wasm).not.toBeNull()
      expect(jspi).toBeNull()
      expect(report.jspiUnsupported).toMatch(/uses fibers .*only Asyncify can run/)
      expect(report.warnings).toEqual([])
    }
  })

  it('mode "jspi" is refused with a coded error naming the file and the fix', async () => {
    const error = (await asyncifyWasm(source, { filename: 'fibers.wasm', engine, mode: 'jspi' }).catch((e: unknown) => e)) as AsyncifyError
    expect(error.code).toBe('ASYNCIFY_FIBERS_NEED_ASYNCIFY')
    expect(error.message).toMatch(/^fibers\.wasm: .*build with mode "auto" or "asyncify"/)
  })

  it('in mode auto, an engine with JSPI runs the Asyncify build', async () => {
    const { wasm, report } = await asyncifyWasm(source, { filename: 'fibers.wasm', engine })
    expect(report.engine).toBe(engine)
    const { instance } = await instantiate({ asyncify: wasm! }, { env: { sleep: (ms: number) => later(ms) } })
    expect(asyncifyStats(instance).mode).toBe('asyncify')
    await expect((instance.exports as Record<string, any>).ping_pong(1)).resolves.toBe(3)
  })

  it('a module that switches fibers but has no function table is refused, naming the file', async () => {
    const noTable = wat(`(module
      (import "unplugin-asyncify" "fiber_switch" (func $switch (param i32)))
      (memory 1)
      (func (export "run") (call $switch (i32.const 1))))`)
    const error = (await asyncifyWasm(noTable, { filename: 'bare.wasm', engine }).catch((e: unknown) => e)) as AsyncifyError
    expect(error.code).toBe('ASYNCIFY_FIBERS_NO_TABLE')
    expect(error.message).toMatch(/^bare\.wasm: /)
  })
})
