import { Worker } from 'node:worker_threads'
import type { Job, JobResult, WorkerMessage } from './sandbox-worker.js'

/** Seconds each phase of a job may take before its worker is terminated. */
export interface Budgets {
  transform: number
  asyncified: number
  reference: number
}

export type SandboxOutcome = { ok: true; result: JobResult } | { ok: false; phase: string; error: string | null }

/** Runs jobs: the sandbox itself, or one that runs the asyncified phase in Chromium (chromium.ts). */
export interface Runner {
  run(job: Job): Promise<SandboxOutcome>
  close(): Promise<void>
}

/*
 * A fixed number of worker threads that run jobs (sandbox-worker.ts), one at a
 * time each. A job that outlives its phase's budget, or crashes its worker,
 * loses that worker, and a fresh one takes its place. Workers load the
 * TypeScript through tsx, registered inside the worker, since worker threads
 * do not inherit the loader of the thread that starts them.
 */
export class Sandbox implements Runner {
  private readonly idle: Worker[] = []
  private readonly waiting: ((worker: Worker) => void)[] = []
  private live = 0

  constructor(
    private readonly size: number,
    private readonly budgets: Budgets,
  ) {}

  async run(job: Job): Promise<SandboxOutcome> {
    const worker = await this.acquire()
    return new Promise<SandboxOutcome>((resolve) => {
      let phase = 'start'
      let timer: NodeJS.Timeout | undefined
      const arm = () => {
        clearTimeout(timer)
        const seconds = this.budgets[phase as keyof Budgets] ?? 30
        timer = setTimeout(() => finish({ ok: false, phase, error: null }, true), seconds * 1000)
      }
      const finish = (outcome: SandboxOutcome, discard: boolean) => {
        clearTimeout(timer)
        worker.off('message', onMessage)
        worker.off('error', onError)
        worker.off('exit', onExit)
        if (discard) this.discard(worker)
        else this.release(worker)
        resolve(outcome)
      }
      const onMessage = (message: WorkerMessage) => {
        if (message.type === 'phase') {
          phase = message.phase
          arm()
        } else if (message.type === 'done') finish({ ok: true, result: message.result }, false)
        else finish({ ok: false, phase, error: message.error }, true)
      }
      const onError = (error: Error) => finish({ ok: false, phase, error: error.stack ?? error.message }, true)
      const onExit = (code: number) => finish({ ok: false, phase, error: `worker exited with code ${code}` }, true)
      worker.on('message', onMessage)
      worker.on('error', onError)
      worker.on('exit', onExit)
      arm()
      worker.postMessage(job)
    })
  }

  async close(): Promise<void> {
    await Promise.all(this.idle.splice(0).map((worker) => worker.terminate()))
  }

  private acquire(): Promise<Worker> {
    const worker = this.idle.pop()
    if (worker) return Promise.resolve(worker)
    if (this.live < this.size) {
      this.live++
      return Promise.resolve(spawn())
    }
    return new Promise((resolve) => this.waiting.push(resolve))
  }

  private release(worker: Worker): void {
    const next = this.waiting.shift()
    if (next) next(worker)
    else this.idle.push(worker)
  }

  private discard(worker: Worker): void {
    void worker.terminate()
    this.live--
    const next = this.waiting.shift()
    if (next) {
      this.live++
      next(spawn())
    }
  }
}

function spawn(): Worker {
  const tsx = import.meta.resolve('tsx/esm/api')
  const entry = new URL('./sandbox-worker.ts', import.meta.url).href
  const code = `import(${JSON.stringify(tsx)}).then((api) => { api.register(); return import(${JSON.stringify(entry)}) })`
  return new Worker(code, { eval: true })
}
