/**
 * Runs programs in a Web Worker: the page sends `run`, the worker answers with
 * `done` or `failed`. Meanwhile the worker's programs call the page's Host:
 * `print`, `progress` and `showSorted` as one-way notes (a C import that returned a Promise
 * would suspend the program), `readLine` and `showCompare` as requests the page
 * answers with `reply`.
 */
import type { DemoName, Host, ProgramArgs, RunProgram } from './host'

type Requests = 'readLine' | 'showCompare'
type Notes = 'print' | 'progress' | 'showSorted'

export type ToWorker =
  | { kind: 'run'; id: number; demo: DemoName; args: unknown[] }
  | { kind: 'reply'; id: number; value: unknown }
export type FromWorker =
  | { kind: 'done'; id: number; value: number }
  | { kind: 'failed'; id: number; message: string }
  | { kind: 'request'; id: number; method: Requests; args: unknown[] }
  | { kind: 'note'; method: Notes; args: unknown[] }

/** Page side: a RunProgram that runs each program in `worker`, answering its calls with `host`. */
export function workerRunner(worker: Worker, host: Host): RunProgram {
  let nextId = 0
  const runs = new Map<number, { resolve(value: number): void; reject(error: Error): void }>()
  const call = (method: Requests | Notes, args: unknown[]) =>
    (host[method] as (...args: unknown[]) => unknown)(...args)
  worker.addEventListener('message', async ({ data }: MessageEvent<FromWorker>) => {
    switch (data.kind) {
      case 'note':
        call(data.method, data.args)
        break
      case 'request': {
        const value = await call(data.method, data.args)
        worker.postMessage({ kind: 'reply', id: data.id, value })
        break
      }
      case 'done':
        runs.get(data.id)?.resolve(data.value)
        runs.delete(data.id)
        break
      case 'failed':
        runs.get(data.id)?.reject(new Error(data.message))
        runs.delete(data.id)
        break
    }
  })
  worker.addEventListener('error', (event) => {
    const error = new Error(`the worker failed: ${event.message || 'it could not be loaded'}`)
    for (const run of runs.values()) run.reject(error)
    runs.clear()
  })
  return (demo, ...args) =>
    new Promise((resolve, reject) => {
      const id = nextId++
      runs.set(id, { resolve, reject })
      worker.postMessage({ kind: 'run', id, demo, args } satisfies ToWorker)
    })
}

type Programs = { [D in DemoName]: (host: Host, ...args: ProgramArgs[D]) => Promise<number> }

/** Worker side: runs programs for the page, with a Host that forwards to it. */
export function serveRuns(scope: DedicatedWorkerGlobalScope, programs: Programs): void {
  let nextId = 0
  const replies = new Map<number, (value: unknown) => void>()
  const post = (message: FromWorker) => scope.postMessage(message)
  const request = <T>(method: Requests, args: unknown[]) =>
    new Promise<T>((resolve) => {
      const id = nextId++
      replies.set(id, resolve as (value: unknown) => void)
      post({ kind: 'request', id, method, args })
    })
  const host: Host = {
    print: (...args) => post({ kind: 'note', method: 'print', args }),
    progress: (...args) => post({ kind: 'note', method: 'progress', args }),
    readLine: () => request<string>('readLine', []),
    showCompare: (...args) => request<void>('showCompare', args),
    showSorted: (...args) => post({ kind: 'note', method: 'showSorted', args }),
  }
  scope.addEventListener('message', async ({ data }: MessageEvent<ToWorker>) => {
    if (data.kind === 'reply') {
      replies.get(data.id)?.(data.value)
      replies.delete(data.id)
      return
    }
    const program = programs[data.demo] as (host: Host, ...args: unknown[]) => Promise<number>
    try {
      post({ kind: 'done', id: data.id, value: await program(host, ...data.args) })
    } catch (error) {
      post({ kind: 'failed', id: data.id, message: error instanceof Error ? error.message : String(error) })
    }
  })
}
