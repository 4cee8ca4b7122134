/*
 * The run-time measurements, written once for every engine: Node 20 and
 * Node 26 run them in a child process, Chromium in a page (bench/harness/
 * node-entry.ts, browser-entry.ts). Every path runs the same C program
 * (bench/fixtures/suspend.c): untouched, asyncified by our transform, or our
 * JSPI build. Each of our runtime's paths is measured in a process (a page) of
 * its own, beside what it is compared with, as an app runs one path: in V8, a
 * JSPI instance in the same isolate made the Asyncify path's calls between
 * wasm and JavaScript dearer (ours 1.05x asyncify-wasm alone, 1.16x-1.23x
 * beside a JSPI instance, Node 26, depth 1; predicted-import.ts records the
 * same of an Asyncify instance for the JSPI path). The references that are no
 * runtime of ours run in processes of their own for the same reason:
 * asyncify-wasm on native wasm-opt's build (two asyncify-wasm instances in one
 * isolate made its calls 30-50% dearer, its code shared by both), and the
 * Asyncify floor (floor-driver.ts). Every runtime runs the same exports and
 * imports (the round trips and the plain-value loops), as an app calls
 * several: V8 shares a wrapper's call sites among all the exports and imports
 * it wraps, and how much that costs differs by runtime (Chromium, depth 1:
 * ours 1.05x asyncify-wasm when neither ran the loops, 1.17x when either
 * both or ours alone did; asyncify-wasm's own time did not move). Within one repeat each
 * path is timed once, in an order rotated per repeat, so load from elsewhere
 * on the machine falls on all of them.
 */
import { hasJspi, instantiate } from 'unplugin-asyncify/runtime'
import { instantiate as asyncifyWasmInstantiate } from 'asyncify-wasm'
import { floorRoundTrip } from './floor-driver.js'

export type HarnessPath = 'asyncify' | 'asyncify-speed' | 'jspi' | 'asyncify-native' | 'asyncify-floor'

export interface HarnessInput {
  kind: 'roundtrip' | 'compute'
  /**
   * Which of our paths this run measures, with its baselines (raw JSPI, asyncify-wasm, untouched, the await floor),
   * or which reference of the round trip: asyncify-wasm on native wasm-opt's build, or the Asyncify floor.
   * `asyncify-speed`: round trips of our Asyncify build at `optimize: 3` (the plugin's default on a server), beside
   * asyncify-wasm on the default build.
   */
  path: HarnessPath
  untouched: Uint8Array
  asyncified: Uint8Array
  /** Our Asyncify build at `optimize: 3` (speed over size): the compute loops, and the round trips of `asyncify-speed`. */
  asyncifiedForSpeed: Uint8Array
  /** The build asyncify-wasm's users make: native `wasm-opt --asyncify -O2` with the same import list. */
  nativeAsyncified: Uint8Array
  jspi: Uint8Array
  /** Which repeat this process runs (each runs in a process of its own): the order of the timed paths is rotated by it. */
  rotation: number
  /** Async-import calls per timed run; the compute loops run a multiple of it. */
  calls: number
  depths: number[]
  /**
   * Shortest timed run: a run repeats its call until this much time has passed,
   * because Chromium coarsens performance.now() to 0.1 ms.
   */
  minMs: number
}

/**
 * Samples by `measure|path`: ns per import call for round trips and plain
 * values, ms per run for compute; with an allocation probe, bytes allocated
 * per suspension under `allocation, depth N|path`. Paths an engine lacks
 * (JSPI in Node 20) are absent.
 */
export interface HarnessOutput {
  jspi: boolean
  samples: Record<string, number[]>
}

type Fn = (...args: number[]) => unknown
/** One measured path; `run` returns ms per import call (`perCall` of them in each call) or, for compute, per run. */
type Timed = { key: string; perCall: number; call: () => unknown; run: (minMs: number) => Promise<number> }

/** Bytes the engine's heap has allocated so far (V8's total_allocated_bytes, Node 26), where the engine tells. */
export type AllocatedBytes = () => number

/** JSPI's API, absent from TypeScript's lib (2026). */
interface JspiApi {
  Suspending: new (fn: Fn) => Fn
  promising: (fn: Fn) => (...args: number[]) => Promise<number>
}

const tick = (i: number) => Promise.resolve(i)
const echo = (i: number) => i

/** What tick_loop returns, so every path is checked to have done the work it was timed for. */
function expectedLoop(calls: number): number {
  let sum = 0
  for (let i = 0; i < calls; i++) sum = (Math.imul(sum, 31) + i) | 0
  return sum
}

function expectedRoundTrip(depth: number, calls: number): number {
  return (expectedLoop(calls) + (depth * (depth + 1)) / 2) | 0
}

async function jsFloor(calls: number): Promise<number> {
  let sum = 0
  for (let i = 0; i < calls; i++) sum = (Math.imul(sum, 31) + (await tick(i))) | 0
  return sum
}

function timer(key: string, perCall: number, expected: number | null, call: () => unknown): Timed {
  return {
    key,
    perCall,
    call,
    async run(minMs) {
      const started = performance.now()
      let elapsed = 0
      let runs = 0
      do {
        const result = await call()
        if (expected !== null && result !== expected) throw new Error(`${key}: returned ${String(result)}, expected ${expected}`)
        runs++
        elapsed = performance.now() - started
      } while (elapsed < minMs)
      return elapsed / runs / perCall
    },
  }
}

async function instances(input: HarnessInput) {
  const imports = () => ({ env: { tick, value: echo, plain: echo } })
  const exportsOf = (instance: WebAssembly.Instance) => instance.exports as Record<string, Fn>
  const untouchedModule = await WebAssembly.compile(input.untouched as BufferSource)
  const untouched = exportsOf(await WebAssembly.instantiate(untouchedModule, { env: { tick: echo, value: echo, plain: echo } }))
  const none = { ours: null, oursForSpeed: null, theirs: null, theirsNative: null, floor: null, oursJspi: null, rawJspi: null }
  if (input.path === 'asyncify') {
    const asyncified = await WebAssembly.compile(input.asyncified as BufferSource)
    const ours = (await instantiate(asyncified, imports(), { mode: 'asyncify' })).instance.exports as Record<string, Fn>
    // asyncify-wasm drives the very module our runtime drives: its exports are Binaryen's own asyncify_* names.
    const theirs = exportsOf(await asyncifyWasmInstantiate(asyncified, imports()))
    // The loops that never leave wasm only: a second instance of our runtime would share the round trip's wrappers.
    const forSpeed = input.kind === 'compute' ? await instantiate(input.asyncifiedForSpeed, imports(), { mode: 'asyncify' }) : null
    return { ...none, untouched, ours, theirs, oursForSpeed: forSpeed && (forSpeed.instance.exports as Record<string, Fn>) }
  }
  if (input.path === 'asyncify-speed') {
    const theirs = exportsOf(await asyncifyWasmInstantiate(await WebAssembly.compile(input.asyncified as BufferSource), imports()))
    const forSpeed = await instantiate(input.asyncifiedForSpeed, imports(), { mode: 'asyncify' })
    return { ...none, untouched, theirs, oursForSpeed: forSpeed.instance.exports as Record<string, Fn> }
  }
  if (input.path === 'asyncify-native') {
    const native = await WebAssembly.compile(input.nativeAsyncified as BufferSource)
    return { ...none, untouched, theirsNative: exportsOf(await asyncifyWasmInstantiate(native, imports())) }
  }
  if (input.path === 'asyncify-floor') {
    const asyncified = await WebAssembly.compile(input.asyncified as BufferSource)
    return { ...none, untouched, floor: { round_trip: await floorRoundTrip(asyncified, tick, echo) } }
  }
  if (!hasJspi()) return { ...none, untouched }
  const oursJspi = (await instantiate(input.jspi, imports(), { mode: 'jspi' })).instance.exports as Record<string, Fn>
  const api = WebAssembly as unknown as JspiApi
  const raw = exportsOf(await WebAssembly.instantiate(untouchedModule, { env: { tick: new api.Suspending(tick), value: echo, plain: echo } }))
  const rawJspi = { round_trip: api.promising(raw.round_trip!) }
  return { ...none, untouched, oursJspi, rawJspi }
}

function roundTripTimers(input: HarnessInput, built: Awaited<ReturnType<typeof instances>>): Timed[] {
  const { calls } = input
  const timers: Timed[] = []
  for (const depth of input.depths) {
    const expected = expectedRoundTrip(depth, calls)
    const at = (path: string, fn: Fn) => timer(`depth ${depth}|${path}`, calls, expected, () => fn(depth, calls))
    if (built.ours && built.theirs) timers.push(at('ours-asyncify', built.ours.round_trip!), at('asyncify-wasm', built.theirs.round_trip!))
    if (built.oursForSpeed && built.theirs) timers.push(at('ours-asyncify-speed', built.oursForSpeed.round_trip!), at('asyncify-wasm', built.theirs.round_trip!))
    if (built.theirsNative) timers.push(at('asyncify-wasm-native', built.theirsNative.round_trip!))
    if (built.floor) timers.push(at('asyncify-floor', built.floor.round_trip))
    if (built.oursJspi && built.rawJspi) timers.push(at('ours-jspi', built.oursJspi.round_trip!), at('raw-jspi', built.rawJspi.round_trip))
  }
  timers.push(timer('js floor|await', calls, expectedLoop(calls), () => jsFloor(calls)))
  const plainValue = (path: string, exports: Record<string, Fn>) => [
    timer(`async import, plain value|${path}`, calls, expectedLoop(calls), () => exports.value_loop!(calls)),
    timer(`plain import|${path}`, calls, expectedLoop(calls), () => exports.plain_loop!(calls)),
    timer(`plain import, suspending export|${path}`, calls, expectedLoop(calls), () => exports.plain_loop_suspending!(calls, 0)),
  ]
  if (built.ours) timers.push(...plainValue('ours-asyncify', built.ours))
  if (built.oursForSpeed) timers.push(...plainValue('ours-asyncify-speed', built.oursForSpeed))
  if (built.theirs) timers.push(...plainValue('asyncify-wasm', built.theirs))
  if (built.theirsNative) timers.push(...plainValue('asyncify-wasm-native', built.theirsNative))
  if (built.oursJspi) timers.push(...plainValue('ours-jspi', built.oursJspi))
  return timers
}

function computeTimers(input: HarnessInput, built: Awaited<ReturnType<typeof instances>>): Timed[] {
  const computeSteps = input.calls * 100
  const spinSteps = input.calls * 20
  const expectedCompute = built.untouched.compute!(computeSteps)
  const expectedSpin = built.untouched.spin!(spinSteps, 0)
  const expectedScan = built.untouched.scan!(spinSteps, 0)
  const candidates: [string, Record<string, Fn> | null][] = [
    ['untouched', built.untouched],
    ['ours-asyncify', built.ours],
    ['ours-asyncify-speed', built.oursForSpeed],
    ['ours-jspi', built.oursJspi],
  ]
  const paths = candidates.filter((entry): entry is [string, Record<string, Fn>] => entry[1] !== null)
  return paths.flatMap(([path, exports]) => [
    timer(`compute, never suspends|${path}`, 1, expectedCompute as number, () => exports.compute!(computeSteps)),
    timer(`async path, no suspension|${path}`, 1, expectedSpin as number, () => exports.spin!(spinSteps, 0)),
    timer(`buffered reads on an async path, no suspension|${path}`, 1, expectedScan as number, () => exports.scan!(spinSteps, 0)),
  ])
}

/** V8 counts allocation by its allocation buffers (tens of KB), so a count spans at least this many bytes... */
const ALLOCATION_SPAN = 4 << 20
/** ...or this many calls, for a path that allocates next to nothing. */
const ALLOCATION_RUNS = 1000

/**
 * Runs every timer of the input's kind. With `allocatedBytes`, each round
 * trip also runs again, untimed, to count the bytes it allocates per
 * suspension.
 */
export async function runHarness(input: HarnessInput, allocatedBytes: AllocatedBytes | null = null): Promise<HarnessOutput> {
  const built = await instances(input)
  const timers = input.kind === 'roundtrip' ? roundTripTimers(input, built) : computeTimers(input, built)
  // Untimed runs first, long enough for the engine to tier the code up: V8
  // has no on-stack replacement for wasm, so a long loop called once never
  // leaves its baseline tier.
  for (const timed of timers) await timed.run(input.minMs * 5)
  const samples: Record<string, number[]> = {}
  for (let i = 0; i < timers.length; i++) {
    const timed = timers[(i + input.rotation) % timers.length]!
    const ms = await timed.run(input.minMs)
    samples[timed.key] = [input.kind === 'roundtrip' ? ms * 1e6 : ms]
    if (allocatedBytes && timed.key.startsWith('depth ')) {
      const before = allocatedBytes()
      let runs = 0
      do {
        await timed.call()
        runs++
      } while (allocatedBytes() - before < ALLOCATION_SPAN && runs < ALLOCATION_RUNS)
      samples[`allocation, ${timed.key}`] = [(allocatedBytes() - before) / (runs * timed.perCall)]
    }
  }
  return { jspi: hasJspi(), samples }
}
