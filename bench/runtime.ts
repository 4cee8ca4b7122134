import { execFileSync } from 'node:child_process'
import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { nativeCommand } from './build/native.js'
import { asyncifyWasm } from 'unplugin-asyncify/transform'
import { runInEngines, type EngineName } from './harness/engines.js'
import type { HarnessInput, HarnessOutput, HarnessPath } from './harness/measure.js'
import type { WireInput } from './harness/wire.js'
import { compare, type Row } from './rows.js'
import { SUSPEND_IMPORTS, suspendFixture } from './subjects.js'

export const DEPTHS = [1, 20]

type RuntimeModules = Pick<WireInput, 'untouched' | 'asyncified' | 'asyncifiedForSpeed' | 'nativeAsyncified' | 'jspi'>

/** The five builds of bench/fixtures/suspend.c the run-time rows use, as base64 for the wire. */
export async function runtimeModules(workDir: string): Promise<RuntimeModules> {
  const fixture = suspendFixture()
  const untouched = new Uint8Array(readFileSync(fixture))
  const built = await asyncifyWasm(untouched, { imports: SUSPEND_IMPORTS, mode: 'auto', filename: 'suspend.wasm' })
  const forSpeed = await asyncifyWasm(untouched, { imports: SUSPEND_IMPORTS, mode: 'asyncify', optimize: 3, filename: 'suspend.wasm' })
  const native = join(workDir, 'suspend.native.wasm')
  const [command, args] = nativeCommand(fixture, native, SUSPEND_IMPORTS, [])
  execFileSync(command, args)
  const base64 = (bytes: Uint8Array) => Buffer.from(bytes).toString('base64')
  return {
    untouched: base64(untouched),
    asyncified: base64(built.wasm!),
    asyncifiedForSpeed: base64(forSpeed.wasm!),
    nativeAsyncified: base64(readFileSync(native)),
    jspi: base64(built.jspi!.wasm),
  }
}

/** One engine's runs: each of our paths, and each reference of the round trip, measured in a process (a page) of its own (see measure.ts). */
export interface PathOutputs {
  asyncify: HarnessOutput
  jspi: HarnessOutput
  /** Round trips only: our build at `optimize: 3`, beside asyncify-wasm. */
  speed: HarnessOutput | null
  /** Round trips only: asyncify-wasm on native wasm-opt's build, and the Asyncify floor. */
  native: HarnessOutput | null
  floor: HarnessOutput | null
}

/**
 * Every repeat runs in fresh processes (pages). In one process the engine's
 * tiering and code layout are fixed for every repeat: the loop on an async
 * path measured 1.04x untouched in one Node 26 process and 1.84x in the next,
 * with nothing changed, so samples from one process said little.
 */
export async function measureInEngines(
  kind: HarnessInput['kind'],
  modules: RuntimeModules,
  repeats: number,
  calls: number,
  minMs: number,
  timeoutMs: number,
): Promise<Map<EngineName, PathOutputs>> {
  const paths: HarnessPath[] = kind === 'roundtrip' ? ['asyncify', 'asyncify-speed', 'jspi', 'asyncify-native', 'asyncify-floor'] : ['asyncify', 'jspi']
  const runs: Map<HarnessPath, Map<EngineName, HarnessOutput>>[] = []
  for (let repeat = 0; repeat < repeats; repeat++) {
    const run = new Map<HarnessPath, Map<EngineName, HarnessOutput>>()
    for (const path of paths) run.set(path, await runInEngines({ ...modules, kind, path, rotation: repeat, calls, minMs, depths: DEPTHS }, timeoutMs))
    runs.push(run)
  }
  const merged = (path: HarnessPath, engine: EngineName) => (paths.includes(path) ? mergeOutputs(runs.map((run) => run.get(path)!.get(engine)!)) : null)
  return new Map(
    [...runs[0]!.get('asyncify')!.keys()].map((engine) => [
      engine,
      {
        asyncify: merged('asyncify', engine)!,
        speed: merged('asyncify-speed', engine),
        jspi: merged('jspi', engine)!,
        native: merged('asyncify-native', engine),
        floor: merged('asyncify-floor', engine),
      },
    ]),
  )
}

/** The samples of several runs of one path, in run order. */
function mergeOutputs(outputs: HarnessOutput[]): HarnessOutput {
  const samples: Record<string, number[]> = {}
  for (const output of outputs) for (const [key, values] of Object.entries(output.samples)) (samples[key] ??= []).push(...values)
  return { jspi: outputs[0]!.jspi, samples }
}

const LABELS: Record<string, string> = {
  'ours-asyncify': 'ours, Asyncify',
  'ours-asyncify-speed': "ours, Asyncify, optimize 3 (speed over size; the plugin's default on a server)",
  'ours-jspi': 'ours, JSPI',
  'asyncify-wasm': 'asyncify-wasm',
  'asyncify-wasm-native': "asyncify-wasm on native wasm-opt's build",
  'asyncify-floor': 'Asyncify floor (fewest JS steps, no checks)',
  'raw-jspi': 'raw JSPI',
  untouched: 'untouched',
  await: 'JavaScript await',
}

/** The samples under `measure|path`, labelled by the path (and `suffix`). */
function pick(samples: Record<string, number[]>, key: string, suffix = ''): { label: string; samples: number[] | null } {
  return { label: `${LABELS[key.split('|')[1]!]!}${suffix}`, samples: samples[key] ?? null }
}

/** Round-trip rows of one engine: every pair the targets name, candidate first, each pair from one run. */
export function roundTripRows(engine: EngineName, outputs: PathOutputs): Row[] {
  const rows: Row[] = []
  /** `candidate` from `output`, `baseline` from `baselineOutput` (the same run by default). */
  const row = (output: HarnessOutput, subject: string, measure: string, candidate: string, baseline: string, suffixes = ['', ''], baselineOutput = output) =>
    rows.push(
      compare(
        { section: 'roundtrip', subject, measure, engine, unit: 'ns/call' },
        pick(output.samples, candidate, suffixes[0]),
        pick(baselineOutput.samples, baseline, suffixes[1]),
      ),
    )
  const floor = 'js floor|await'
  const { asyncify, speed, jspi, native, floor: asyncifyFloor } = outputs
  /** Bytes allocated per suspension, where the engine counts them (Node 26): ours against what it is built on. */
  const allocation = (output: HarnessOutput, subject: string, candidate: string, baseline: string, baselineOutput: HarnessOutput) => {
    const [ours, theirs] = [`allocation, ${candidate}`, `allocation, ${baseline}`]
    if (!output.samples[ours] || !baselineOutput.samples[theirs]) return
    rows.push(
      compare(
        { section: 'roundtrip', subject, measure: 'allocation per suspension', engine, unit: 'bytes/call' },
        pick(output.samples, ours),
        pick(baselineOutput.samples, theirs),
      ),
    )
  }
  for (const depth of DEPTHS) {
    const at = (path: string) => `depth ${depth}|${path}`
    const subject = `resolved Promise, depth ${depth}`
    row(asyncify, subject, 'suspension', at('ours-asyncify'), at('asyncify-wasm'))
    if (speed) row(speed, subject, 'suspension', at('ours-asyncify-speed'), at('asyncify-wasm'))
    if (native) row(asyncify, subject, 'suspension', at('ours-asyncify'), at('asyncify-wasm-native'), ['', ''], native)
    if (asyncifyFloor) {
      row(asyncify, subject, 'suspension', at('ours-asyncify'), at('asyncify-floor'), ['', ''], asyncifyFloor)
      row(asyncify, subject, 'suspension', at('asyncify-wasm'), at('asyncify-floor'), ['', ''], asyncifyFloor)
    }
    row(asyncify, subject, 'suspension', at('ours-asyncify'), floor)
    row(asyncify, subject, 'suspension', at('asyncify-wasm'), floor)
    if (asyncifyFloor) allocation(asyncify, subject, at('ours-asyncify'), at('asyncify-floor'), asyncifyFloor)
    if (jspi.jspi) {
      row(jspi, subject, 'suspension', at('ours-jspi'), at('raw-jspi'))
      // What mode 'auto' (the default) runs where the engine has JSPI, against the incumbent.
      row(jspi, subject, 'suspension', at('ours-jspi'), at('asyncify-wasm'), ['', ''], asyncify)
      row(jspi, subject, 'suspension', at('raw-jspi'), floor)
      allocation(jspi, subject, at('ours-jspi'), at('raw-jspi'), jspi)
    }
  }
  const plain = (output: HarnessOutput, path: string) => {
    const value = `async import, plain value|${path}`
    row(output, 'plain value', 'import call', value, `plain import|${path}`, [', async import', ', plain import'])
    row(output, 'plain value', 'import call', value, `plain import, suspending export|${path}`, [', async import', ', plain import in a suspending export'])
  }
  plain(asyncify, 'ours-asyncify')
  // The same loops through the incumbent's wrappers, in the same run.
  row(asyncify, 'plain value', 'import call', 'async import, plain value|ours-asyncify', 'async import, plain value|asyncify-wasm', [', async import', ', async import'])
  row(asyncify, 'plain value', 'import call', 'plain import, suspending export|ours-asyncify', 'plain import, suspending export|asyncify-wasm', [', plain import in a suspending export', ', plain import in a suspending export'])
  if (jspi.jspi) plain(jspi, 'ours-jspi')
  return rows
}

/** Compute rows of one engine: each of our paths against the untouched module of its own run. */
export function computeRows(engine: EngineName, outputs: PathOutputs): Row[] {
  const runs: [string, HarnessOutput][] = [['ours-asyncify', outputs.asyncify], ['ours-asyncify-speed', outputs.asyncify], ...(outputs.jspi.jspi ? ([['ours-jspi', outputs.jspi]] as [string, HarnessOutput][]) : [])]
  return ['compute, never suspends', 'async path, no suspension', 'buffered reads on an async path, no suspension'].flatMap((measure) =>
    runs.map(([path, output]) =>
      compare(
        { section: 'compute', subject: measure, measure: 'time per run', engine, unit: 'ms' },
        pick(output.samples, `${measure}|${path}`),
        pick(output.samples, `${measure}|untouched`),
      ),
    ),
  )
}
