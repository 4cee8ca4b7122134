import { parentPort } from 'node:worker_threads'
import { runAsyncified, transform } from './asyncified.js'
import type { FuzzCase } from './fuzz-case.js'
import type { Observation } from './harness.js'
import { runReference } from './reference.js'
import { readSignatures } from './signatures.js'

/*
 * Runs inside a worker thread of the sandbox (sandbox.ts), so that a module
 * that loops forever can be stopped by terminating the thread. One job at a
 * time: transform, run asyncified, run the reference; it reports each phase
 * as it starts, so a timeout names the phase that hung.
 */

export interface Job {
  fuzzCase: FuzzCase
  wasm: Uint8Array
  /**
   * One phase alone: `transform`, when the asyncified run happens in Chromium
   * (chromium.ts); or `reference`, given what that run reserved and wrapped
   * (no pages and no exports: to learn whether the module hangs by itself).
   */
  only?: { phase: 'transform' } | { phase: 'reference'; reservedPages: number; suspendingExports: string[]; reservedFill?: number }
}

export interface JobResult {
  transformError: string | null
  /** Whether the runtime takes its memory from the program's malloc (then heap layouts differ). */
  usesMalloc: boolean
  /** Whether the runtime manages a C stack pointer (then overlapping calls get stacks of their own). */
  hasStackPointer: boolean
  suspendingExports: string[]
  /** The engine that built the asyncified module; null on the JSPI path. */
  builtBy: string | null
  /** The build under test, from a transform-only job. */
  transformed: Uint8Array | null
  asyncified: Observation | null
  reference: Observation | null
  /** Milliseconds spent in each phase. */
  timings: Record<string, number>
}

export type WorkerMessage = { type: 'phase'; phase: string } | { type: 'done'; result: JobResult } | { type: 'failed'; error: string }

const unhandled: string[] = []
process.on('unhandledRejection', (reason) => unhandled.push(`unhandled rejection: ${String(reason)}`))

const port = parentPort!
port.on('message', (job: Job) => {
  run(job).then(
    (result) => port.postMessage({ type: 'done', result } satisfies WorkerMessage),
    (error: unknown) => port.postMessage({ type: 'failed', error: error instanceof Error ? error.stack ?? error.message : String(error) }),
  )
})

async function run({ fuzzCase, wasm, only }: Job): Promise<JobResult> {
  const signatures = readSignatures(wasm)
  const result: JobResult = {
    transformError: null,
    usesMalloc: false,
    hasStackPointer: false,
    suspendingExports: [],
    builtBy: null,
    transformed: null,
    asyncified: null,
    reference: null,
    timings: {},
  }
  let current = ''
  let started = performance.now()
  const done = () => {
    if (current) result.timings[current] = performance.now() - started
    return result
  }
  const phase = (name: string) => {
    done()
    current = name
    started = performance.now()
    port.postMessage({ type: 'phase', phase: name } satisfies WorkerMessage)
  }
  if (only?.phase === 'reference') {
    phase('reference')
    result.reference = await runReference(wasm, fuzzCase, signatures, only.reservedPages, only.suspendingExports, only.reservedFill)
    return done()
  }
  phase('transform')
  let transformed
  try {
    transformed = await transform(wasm, fuzzCase)
  } catch (error) {
    const code = (error as { code?: string }).code
    result.transformError = `${code ?? (error as Error).name}: ${(error as Error).message}`
    return done()
  }
  result.usesMalloc = transformed.metadata.malloc !== null
  result.hasStackPointer = transformed.metadata.stackPointer !== null
  result.suspendingExports = transformed.metadata.suspendingExports
  result.builtBy = transformed.builtBy
  if (only?.phase === 'transform') {
    result.transformed = transformed.wasm
    return done()
  }
  phase('asyncified')
  unhandled.length = 0
  result.asyncified = await runAsyncified(transformed.wasm, fuzzCase, signatures)
  // Rejections nobody handled surface after the microtasks of the run.
  await new Promise((resolve) => setTimeout(resolve, 0))
  result.asyncified.problems.push(...unhandled)
  const [declared, actual] = result.asyncified.pagesAtInstantiation ?? [0, 0]
  phase('reference')
  result.reference = await runReference(wasm, fuzzCase, signatures, actual - declared, result.suspendingExports)
  return done()
}
