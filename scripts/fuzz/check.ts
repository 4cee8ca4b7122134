import { compare, type Verdict } from './compare.js'
import { withoutNaNs } from './denan.js'
import type { FuzzCase } from './fuzz-case.js'
import type { Observation } from './harness.js'
import type { Runner } from './sandbox.js'
import type { JobResult } from './sandbox-worker.js'

const PAGE = 65536

export interface Checked {
  verdict: Verdict
  /** Export calls compared (top-level and re-entrant). */
  calls: number
  /** Thenables the asyncified run handed to the runtime. */
  suspensions: number
  /** The engine that built the asyncified module, when the transform ran. */
  builtBy: string | null
}

/**
 * Runs one case in the sandbox and decides. A transform that fails on a
 * module within the supported features is a finding; so is an asyncified run
 * that hangs or crashes when the reference finishes. A reference that hangs
 * (or a transform over its budget) makes the module incomparable. Runs that
 * differ are checked again without NaNs (`withoutNaNs`): a difference that
 * disappears there is a NaN bit pattern one.
 */
export async function checkCase(sandbox: Runner, fuzzCase: FuzzCase, wasm: Uint8Array, nanFree = false): Promise<Checked> {
  const none = { calls: 0, suspensions: 0, builtBy: null }
  const outcome = await sandbox.run({ fuzzCase, wasm })
  if (!outcome.ok) {
    const what = outcome.error === null ? 'timed out' : `crashed: ${firstLine(outcome.error)}`
    if (outcome.phase === 'asyncified') {
      const alone = await sandbox.run({ fuzzCase, wasm, only: { phase: 'reference', reservedPages: 0, suspendingExports: [] } })
      if (!alone.ok) return { verdict: { kind: 'skip', reason: 'the reference run does not finish' }, ...none }
      return { verdict: { kind: 'mismatch', differences: [`the asyncified run ${what}; the reference finishes`] }, ...none }
    }
    if (outcome.phase === 'reference' && outcome.error === null) return { verdict: { kind: 'skip', reason: 'the reference run does not finish' }, ...none }
    if (outcome.phase === 'transform' && outcome.error === null) return { verdict: { kind: 'skip', reason: 'the transform exceeded its budget' }, ...none }
    return { verdict: { kind: 'mismatch', differences: [`the ${outcome.phase} phase ${what}`] }, ...none }
  }
  const { result } = outcome
  if (result.transformError !== null) {
    return { verdict: { kind: 'mismatch', differences: [`the transform failed: ${result.transformError}`] }, ...none }
  }
  const reference = result.reference!
  const asyncified = result.asyncified!
  const verdict = compare(reference, asyncified, {
    mode: fuzzCase.mode,
    usesMalloc: result.usesMalloc,
    hasStackPointer: result.hasStackPointer,
    suspendingExports: result.suspendingExports,
    state: fuzzCase.state,
  })
  const calls = asyncified.events.filter((event) => event.text.startsWith('call ') || event.text.startsWith('re-entrant ')).length
  const touched = verdict.kind === 'mismatch' ? await reservedPagesTouched(sandbox, fuzzCase, wasm, result) : null
  if (touched !== null) return { verdict: { kind: 'skip', reason: `the program ${touched} the pages the runtime reserved` }, ...none }
  if (verdict.kind === 'mismatch' && !nanFree) {
    const again = await checkCase(sandbox, fuzzCase, withoutNaNs(wasm), true)
    if (again.verdict.kind === 'same' || again.verdict.kind === 'nan') {
      return {
        verdict: { kind: 'nan', differences: verdict.differences.map((line) => `${line} (gone under --denan)`) },
        calls,
        suspensions: asyncified.suspensions,
        builtBy: result.builtBy,
      }
    }
  }
  return { verdict, calls, suspensions: asyncified.suspensions, builtBy: result.builtBy }
}

/**
 * Whether the program reads or writes the pages the runtime grew for itself
 * (a ttf module may access past its declared memory), where the runtime
 * keeps its own data: its reference run, with those pages filled with a byte
 * other than 0 (twice, with two bytes, so that no value written can pass for
 * the fill), sees other values (a read) or ends with other bytes there (a
 * write, which the comparison of the unfilled run cannot see when it wrote
 * zeros). Null when it does neither.
 */
async function reservedPagesTouched(sandbox: Runner, fuzzCase: FuzzCase, wasm: Uint8Array, result: JobResult): Promise<'read' | 'wrote into' | null> {
  const [declared, actual] = result.asyncified!.pagesAtInstantiation ?? [0, 0]
  if (actual === declared) return null
  const texts = (observation: Observation) => observation.events.map((event) => event.text).join('\n')
  for (const reservedFill of [0xa5, 0x5a]) {
    const only = { phase: 'reference' as const, reservedPages: actual - declared, suspendingExports: result.suspendingExports, reservedFill }
    const filled = await sandbox.run({ fuzzCase, wasm, only })
    if (!filled.ok) return null
    const reference = filled.result.reference!
    if (texts(reference) !== texts(result.reference!)) return 'read'
    if (reference.memory?.subarray(declared * PAGE, actual * PAGE).some((byte) => byte !== reservedFill)) return 'wrote into'
  }
  return null
}

function firstLine(text: string): string {
  return text.split('\n')[0]!.slice(0, 300)
}
