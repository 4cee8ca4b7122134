import { createRequire } from 'node:module'
import { availableParallelism } from 'node:os'
import type { Worker } from 'node:worker_threads'
import { AsyncifyError } from '../runtime-shim/errors.js'
import type { ResolvedTransformOptions } from './options.js'
import type { TransformResult } from './pipeline.js'
import type { WorkerRequest, WorkerResponse } from './worker.js'

const YOUNG_GENERATION_MB = 8

// Loaded at the first worker, not at import: modules small enough to build in the calling thread never start one,
// and loading node:worker_threads took a first transform about 1.5 ms.
const require = createRequire(import.meta.url)

interface Job {
  request: WorkerRequest
  resolve(result: TransformResult): void
  reject(error: Error): void
}

/*
 * One worker thread, one job at a time: binaryen.js keeps its options and pass
 * arguments in process-global state, so jobs must not interleave. The worker
 * is kept warm between jobs (loading binaryen.js costs about a second, and V8
 * tiers its code up over the first transforms), unref'd while idle so it never
 * holds a process open, and replaced after a crash or an unexpected failure.
 */
class TransformWorker {
  private worker: Worker | null = null
  private readonly queue: Job[] = []
  private running: Job | null = null
  private nextId = 1

  /** Jobs queued or running: the pool gives a new job to the worker with the fewest. */
  get load(): number {
    return this.queue.length + (this.running ? 1 : 0)
  }

  run(bytes: Uint8Array, options: ResolvedTransformOptions): Promise<TransformResult> {
    return new Promise((resolve, reject) => {
      this.queue.push({ request: { id: this.nextId++, bytes, options }, resolve, reject })
      this.pump()
    })
  }

  private pump(): void {
    if (this.running || this.queue.length === 0) return
    const job = this.queue.shift()!
    this.running = job
    const worker = this.spawn()
    worker.ref()
    worker.postMessage(job.request, [job.request.bytes.buffer as ArrayBuffer])
  }

  private spawn(): Worker {
    if (this.worker) return this.worker
    // The direct engine makes short-lived trees, one function at a time: V8's default young
    // generation grows to tens of MB for them (QuickJS: 116 MB peak, 99 MB with this).
    // By the folder's name, which holds wherever the bundle puts this code (scripts/bundle-node.ts).
    const { Worker } = require('node:worker_threads') as typeof import('node:worker_threads')
    const worker = new Worker(new URL('../transform/worker.js', import.meta.url), { resourceLimits: { maxYoungGenerationSizeMb: YOUNG_GENERATION_MB } })
    worker.on('message', (response: WorkerResponse) => this.finish(worker, response))
    worker.on('error', (error) => this.crash(worker, error))
    worker.on('exit', (code) => this.crash(worker, new Error(`the transform worker exited with code ${code}`)))
    this.worker = worker
    return worker
  }

  private finish(worker: Worker, response: WorkerResponse): void {
    const job = this.running
    if (!job || job.request.id !== response.id) return
    this.running = null
    if (response.ok) {
      job.resolve(response.result)
    } else {
      job.reject(new AsyncifyError(response.code, response.message))
      if (response.fatal) this.discard(worker)
    }
    if (this.worker) this.worker.unref()
    this.pump()
  }

  private crash(worker: Worker, error: Error): void {
    if (this.worker !== worker) return
    this.worker = null
    const job = this.running
    this.running = null
    if (job) {
      job.reject(
        new AsyncifyError(
          'ASYNCIFY_BINARYEN_FAILED',
          `${job.request.options.filename}: the Binaryen worker crashed while transforming this module (${error.message}); ` +
            `this is a bug in unplugin-asyncify or Binaryen, please report it with the .wasm file`,
          { cause: error },
        ),
      )
    }
    this.pump()
  }

  private discard(worker: Worker): void {
    if (this.worker === worker) this.worker = null
    void worker.terminate()
  }
}

/**
 * Workers that transform side by side, each with its own binaryen.js. Each
 * costs a few hundred megabytes on a large module, so a pool leaves a core to
 * the bundler and stops at four.
 */
export class TransformPool {
  private readonly workers: TransformWorker[]

  constructor(readonly size = Math.min(4, Math.max(1, availableParallelism() - 1))) {
    this.workers = Array.from({ length: size }, () => new TransformWorker())
  }

  /** Jobs queued or running, per worker. */
  get loads(): number[] {
    return this.workers.map((worker) => worker.load)
  }

  run(bytes: Uint8Array, options: ResolvedTransformOptions): Promise<TransformResult> {
    const idlest = this.workers.reduce((best, worker) => (worker.load < best.load ? worker : best))
    return idlest.run(bytes, options)
  }
}

export const transformPool = new TransformPool()
