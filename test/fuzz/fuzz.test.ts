import { availableParallelism } from 'node:os'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { deliver, settleNow, type Temperament } from '../../scripts/fuzz/answers.js'
import { DEFAULT_BUDGETS, runCampaign, summaryLine } from '../../scripts/fuzz/campaign.js'
import { checkCase } from '../../scripts/fuzz/check.js'
import { compare } from '../../scripts/fuzz/compare.js'
import { withoutNaNs } from '../../scripts/fuzz/denan.js'
import type { FuzzCase } from '../../scripts/fuzz/fuzz-case.js'
import { generateWat, RESET_EXPORT } from '../../scripts/fuzz/generate-wat.js'
import { observe, type Observation, type Target } from '../../scripts/fuzz/harness.js'
import { Random } from '../../scripts/fuzz/random.js'
import { Sandbox } from '../../scripts/fuzz/sandbox.js'
import { readSignatures } from '../../scripts/fuzz/signatures.js'
import { engine } from '../helpers/engine.js'
import { wat } from '../helpers/wat.js'

const SEED = 1
const MODULES = 200

describe(`differential fuzzing of the transform and the runtime, ${engine} path`, () => {
  it(`a seeded campaign of ${MODULES} random modules behaves identically on the ${engine} build, with real suspensions`, async () => {
    // The sandbox workers copy this environment when they start.
    process.env.ASYNCIFY_FUZZ_ENGINE = engine
    const summary = await runCampaign({
      count: MODULES,
      seed: SEED,
      jobs: Math.min(2, availableParallelism()),
      failureDir: join(import.meta.dirname, '../artifacts/fuzz/vitest'),
      reduceSeconds: 0,
    })
    console.log(summaryLine(summary))
    expect(summary.mismatches.map((mismatch) => `${mismatch.id}: ${mismatch.differences[0]} (${mismatch.replay})`)).toEqual([])
    expect(summary.suspensions).toBeGreaterThan(MODULES)
    for (const generator of ['ttf', 'c', 'wat'] as const) expect(summary.modules[generator]).toBeGreaterThan(MODULES / 5)
    expect(summary.modes.overlap).toBeGreaterThan(0)
    expect(Object.keys(summary.levels).sort()).toEqual(['-O0', '-O1', '-O2', '-O3', '-Os', '-Oz'])
    const skipped = Object.values(summary.skipped).reduce((sum, n) => sum + n, 0)
    expect(skipped).toBeLessThan(MODULES / 10)
  }, 240_000)
})

describe('the wat generator', () => {
  it('makes valid modules, the same for the same seed, with a WAT listing of the same module', () => {
    for (let seed = 0; seed < 40; seed++) {
      const module = generateWat(new Random(seed))
      expect(generateWat(new Random(seed)).wasm).toEqual(module.wasm)
      const fromText = readSignatures(wat(module.text, ['ExceptionHandling']))
      const signatures = readSignatures(module.wasm)
      expect([fromText.imports, fromText.exports, fromText.globals]).toEqual([signatures.imports, signatures.exports, signatures.globals])
      expect(signatures.exports.get(RESET_EXPORT)).toEqual({ params: [], results: [] })
    }
  })
})

describe('the fuzzer notices what it is there to notice', () => {
  const module = wat(`(module
    (import "env" "get" (func $get (param i32) (result i32)))
    (memory (export "memory") 1)
    (func (export "run") (param $x i32) (result i32)
      (i32.store (i32.const 16) (call $get (local.get $x)))
      (i32.add (i32.load (i32.const 16)) (i32.const 1))))`)
  const signatures = readSignatures(module)
  const temperament: Temperament = { asyncShare: 1, failRate: 0, reenterRate: 0 }
  const fuzzCase: FuzzCase = {
    id: 'sanity',
    generator: 'ttf',
    seed: 42,
    mode: 'sequential',
    transform: { imports: ['env.get'], optimize: 0, stackSize: 1024 },
    temperament,
    init: [],
    reset: null,
    calls: [{ export: 'run', args: ['5'] }, { export: 'run', args: ['-3'] }],
    state: null,
  }
  const plain = async (target: Partial<Target> = {}): Promise<Observation> =>
    observe(fuzzCase, signatures, {
      instantiate: async (imports) => ({
        exports: (await WebAssembly.instantiate(new WebAssembly.Module(module as BufferSource), imports)).exports as Record<string, unknown>,
        stats: () => null,
      }),
      deliver: settleNow,
      ...target,
    })
  const context = { mode: 'sequential' as const, usesMalloc: false, hasStackPointer: false, suspendingExports: ['run'], state: null }

  it('the same module run twice compares equal, and its answers came from the seeded stream', async () => {
    const reference = await plain()
    expect(compare(reference, await plain(), context)).toEqual({ kind: 'same' })
    expect(reference.events.filter((event) => event.text.startsWith('env.get'))).toHaveLength(2)
  })

  it('an import answer delivered with another value is a mismatch, in the log, the results and memory', async () => {
    const reference = await plain()
    const wrong = await plain({
      deliver: (answer, signature, effects) => (settleNow(answer, signature, effects) as number) + 1,
    })
    const verdict = compare(reference, wrong, context)
    expect(verdict.kind).toBe('mismatch')
    expect(verdict.kind === 'mismatch' && verdict.differences.join('\n')).toMatch(/outcomes #0.*\n[^]*memory: \d+ bytes differ/)
  })

  it('every way of answering settles to the value (or the rejection) the reference gets synchronously', async () => {
    const kinds = ['value', 'throw', 'resolved', 'macrotask', 'thenable', 'thenable-sync', 'thenable-macrotask', 'rejected', 'rejected-macrotask', 'thenable-rejected'] as const
    const signature = { params: [], results: ['i64' as const] }
    for (const kind of kinds) {
      const answer = { id: `run#${kind}`, kind, results: ['-9007199254740993'], writes: [], reenter: null }
      const outcome = (run: () => unknown) =>
        Promise.resolve()
          .then(run)
          .then((value) => `value ${String(value)}`, (error: Error) => `error ${error.message}`)
      const expected = await outcome(() => settleNow(answer, signature, () => {}))
      expect([kind, await outcome(() => deliver(answer, signature, () => {}))]).toEqual([kind, expected])
    }
  })

  it('without NaNs, a NaN in a SIMD lane read back as an integer is 0, and other lanes keep their values', () => {
    const bytes = wat(
      `(module (func (export "lane") (param i32) (result i32)
        (i32.store (i32.const 0) (local.get 0))
        (i32x4.extract_lane 0 (f32x4.add (v128.load (i32.const 0)) (v128.const i32x4 0 0 0 0))))
        (memory 1))`,
      ['SIMD128'],
    )
    const lane = (wasm: Uint8Array) => (new WebAssembly.Instance(new WebAssembly.Module(wasm as Uint8Array<ArrayBuffer>)).exports.lane as (bits: number) => number)
    const [asIs, denanned] = [lane(bytes), lane(withoutNaNs(bytes))]
    const signalingNaN = 0x7fa00001
    expect(asIs(signalingNaN) & 0x7f800000).toBe(0x7f800000)
    expect(denanned(signalingNaN)).toBe(0)
    const onePointFive = 0x3fc00000
    expect(denanned(onePointFive)).toBe(asIs(onePointFive))
    expect(asIs(onePointFive)).toBe(onePointFive)
  })

  it('a leaked suspended call, NaN-only memory and any other memory byte are told apart', async () => {
    const reference = await plain()
    const leak = { ...reference, problems: ['asyncifyStats after call 0 (run): {"suspendedCalls":1}'] }
    expect(compare(reference, leak, context).kind).toBe('mismatch')

    const withFloat = (bits: number) => {
      const memory = reference.memory!.slice()
      new DataView(memory.buffer).setUint32(64, bits, true)
      return { ...reference, memory }
    }
    const quiet = withFloat(0x7fc00000)
    expect(compare(quiet, withFloat(0x7fc00001), context).kind).toBe('nan')
    expect(compare(quiet, withFloat(0x3f800000), context).kind).toBe('mismatch')
  })

  it('a C stack pointer leaked by a throwing synchronous export is ignored only when calls overlapped', async () => {
    const reference = await plain()
    const withPointer = (value: string, threw: boolean): Observation => ({
      ...reference,
      globals: { ...reference.globals, __stack_pointer: value },
      events: threw ? [...reference.events, { call: 1, text: 'sync threw trap' }] : reference.events,
    })
    const overlap = { ...context, mode: 'overlap' as const }
    expect(compare(withPointer('67104', true), withPointer('67120', true), overlap).kind).toBe('same')
    expect(compare(withPointer('67104', false), withPointer('67120', false), overlap).kind).toBe('mismatch')
    expect(compare(withPointer('67104', true), withPointer('67120', true), context).kind).toBe('mismatch')
  })
})

describe('reading the pages the runtime reserved', () => {
  // No allocator: the runtime grows a page for its Asyncify data past the one the module declares.
  const reader = (address: number) =>
    wat(`(module
      (import "env" "get" (func $get (param i32) (result i32)))
      (memory (export "memory") 1 3)
      (func (export "run") (param $x i32) (result i32)
        (i32.add (call $get (local.get $x)) (i32.load (i32.const ${address})))))`)
  const fuzzCase: FuzzCase = {
    id: 'reserved',
    generator: 'ttf',
    seed: 7,
    mode: 'sequential',
    transform: { imports: ['env.get'], optimize: 0, stackSize: 1024 },
    temperament: { asyncShare: 1, failRate: 0, reenterRate: 0 },
    init: [],
    reset: null,
    calls: [{ export: 'run', args: ['5'] }, { export: 'run', args: ['9'] }],
    state: null,
  }

  it('is told apart from a mismatch by a reference run with those pages filled, and a read of the program\'s own memory is not', async () => {
    // Only the Asyncify path reserves pages in the program's memory; the sandbox's worker reads this when it starts.
    const before = process.env.ASYNCIFY_FUZZ_ENGINE
    process.env.ASYNCIFY_FUZZ_ENGINE = 'asyncify'
    const sandbox = new Sandbox(1, DEFAULT_BUDGETS)
    try {
      const past = await checkCase(sandbox, fuzzCase, reader(65536))
      expect(past.verdict).toEqual({ kind: 'skip', reason: 'the program read the pages the runtime reserved' })
      const own = await checkCase(sandbox, fuzzCase, reader(64))
      expect(own.verdict).toEqual({ kind: 'same' })
    } finally {
      await sandbox.close()
      process.env.ASYNCIFY_FUZZ_ENGINE = before
    }
  }, 60_000)

  // Zeros over the Asyncify region's header (its first reserved bytes), so that the next unwind writes its record at
  // address 0, in the program's memory: a mismatch. The unfilled reference ends with zeros there as it began, so only
  // the filled one shows the write (seed 104's module 1777 did this with a memory.fill).
  const zeroWriter = wat(`(module
    (import "env" "get" (func $get (param i32) (result i32)))
    (memory (export "memory") 1 3)
    (func (export "run") (param $x i32) (result i32) (local $k i32)
      (i32.store (i32.const 65536) (i32.const 0))
      (local.set $k (i32.mul (local.get $x) (i32.const 3)))
      (i32.add (call $get (local.get $x)) (local.get $k))))`)

  it('a write of zeros into them is told apart from a mismatch too', async () => {
    const before = process.env.ASYNCIFY_FUZZ_ENGINE
    process.env.ASYNCIFY_FUZZ_ENGINE = 'asyncify'
    const sandbox = new Sandbox(1, DEFAULT_BUDGETS)
    try {
      const zeros = await checkCase(sandbox, fuzzCase, zeroWriter)
      expect(zeros.verdict).toEqual({ kind: 'skip', reason: 'the program wrote into the pages the runtime reserved' })
    } finally {
      await sandbox.close()
      process.env.ASYNCIFY_FUZZ_ENGINE = before
    }
  }, 60_000)
})
