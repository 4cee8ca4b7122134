import { readFileSync } from 'node:fs'
import { asyncifyWasm } from 'unplugin-asyncify/transform'
import { runInEngines, type EngineName } from './harness/engines.js'
import type { HarnessInput, HarnessOutput } from './harness/measure.js'
import type { WireInput } from './harness/wire.js'
import { compare, type Row } from './rows.js'
import { SUSPEND_IMPORTS, suspendFixture } from './subjects.js'

export const DEPTHS = [1, 20]

/** The three builds of bench/fixtures/suspend.c every run-time row uses, as base64 for the wire. */
export async function runtimeModules(): Promise<Pick<WireInput, 'untouched' | 'asyncified' | 'jspi'>> {
  const untouched = new Uint8Array(readFileSync(suspendFixture()))
  const built = await asyncifyWasm(untouched, { imports: SUSPEND_IMPORTS, mode: 'auto', filename: 'suspend.wasm' })
  const base64 = (bytes: Uint8Array) => Buffer.from(bytes).toString('base64')
  return { untouched: base64(untouched), asyncified: base64(built.wasm!), jspi: base64(built.jspi!.wasm) }
}

/** One engine's runs: each of our paths measured in a process (a page) of its own (see measure.ts). */
export interface PathOutputs {
  asyncify: HarnessOutput
  jspi: HarnessOutput
}

/**
 * Every repeat runs in fresh processes (pages). In one process the engine's
 * tiering and code layout are fixed for every repeat: the loop on an async
 * path measured 1.04x untouched in one Node 26 process and 1.84x in the next,
 * with nothing changed, so samples from one process said little.
 */
export async function measureInEngines(
  kind: HarnessInput['kind'],
  modules: Pick<WireInput, 'untouched' | 'asyncified' | 'jspi'>,
  repeats: number,
  calls: number,
  minMs: number,
  timeoutMs: number,
): Promise<Map<EngineName, PathOutputs>> {
  const runs: Map<EngineName, PathOutputs>[] = []
  for (let repeat = 0; repeat < repeats; repeat++) {
    const run = (path: HarnessInput['path']) => runInEngines({ ...modules, kind, path, rotation: repeat, calls, minMs, depths: DEPTHS }, timeoutMs)
    const asyncify = await run('asyncify')
    const jspi = await run('jspi')
    runs.push(new Map([...asyncify].map(([engine, output]) => [engine, { asyncify: output, jspi: jspi.get(engine)! }])))
  }
  return new Map([...runs[0]!.keys()].map((engine) => {
    const outputs = runs.map((run) => run.get(engine)!)
    return [engine, { asyncify: mergeOutputs(outputs.map((output) => output.asyncify)), jspi: mergeOutputs(outputs.map((output) => output.jspi)) }]
  }))
}

/** The samples of several runs of one path, in run order. */
function mergeOutputs(outputs: HarnessOutput[]): HarnessOutput {
  const samples: Record<string, number[]> = {}
  for (const output of outputs) for (const [key, values] of Object.entries(output.samples)) (samples[key] ??= []).push(...values)
  return { jspi: outputs[0]!.jspi, samples }
}

const LABELS: Record<string, string> = {
  'ours-asyncify': 'ours, Asyncify',
  'ours-jspi': 'ours, JSPI',
  'asyncify-wasm': 'asyncify-wasm',
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
  const row = (output: HarnessOutput, subject: string, measure: string, candidate: string, baseline: string, suffixes = ['', '']) =>
    rows.push(
      compare(
        { section: 'roundtrip', subject, measure, engine, unit: 'ns/call' },
        pick(output.samples, candidate, suffixes[0]),
        pick(output.samples, baseline, suffixes[1]),
      ),
    )
  const floor = 'js floor|await'
  const { asyncify, jspi } = outputs
  for (const depth of DEPTHS) {
    const at = (path: string) => `depth ${depth}|${path}`
    const subject = `resolved Promise, depth ${depth}`
    row(asyncify, subject, 'suspension', at('ours-asyncify'), at('asyncify-wasm'))
    row(asyncify, subject, 'suspension', at('ours-asyncify'), floor)
    row(asyncify, subject, 'suspension', at('asyncify-wasm'), floor)
    if (jspi.jspi) {
      row(jspi, subject, 'suspension', at('ours-jspi'), at('raw-jspi'))
      row(jspi, subject, 'suspension', at('raw-jspi'), floor)
    }
  }
  const plain = (output: HarnessOutput, path: string) => {
    const value = `async import, plain value|${path}`
    row(output, 'plain value', 'import call', value, `plain import|${path}`, [', async import', ', plain import'])
    row(output, 'plain value', 'import call', value, `plain import, suspending export|${path}`, [', async import', ', plain import in a suspending export'])
  }
  plain(asyncify, 'ours-asyncify')
  if (jspi.jspi) plain(jspi, 'ours-jspi')
  return rows
}

/** Compute rows of one engine: each of our paths against the untouched module of its own run. */
export function computeRows(engine: EngineName, outputs: PathOutputs): Row[] {
  const runs: [string, HarnessOutput][] = [['ours-asyncify', outputs.asyncify], ...(outputs.jspi.jspi ? ([['ours-jspi', outputs.jspi]] as [string, HarnessOutput][]) : [])]
  return ['compute, never suspends', 'async path, no suspension'].flatMap((measure) =>
    runs.map(([path, output]) =>
      compare(
        { section: 'compute', subject: measure, measure: 'time per run', engine, unit: 'ms' },
        pick(output.samples, `${measure}|${path}`),
        pick(output.samples, `${measure}|untouched`),
      ),
    ),
  )
}
