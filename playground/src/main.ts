/**
 * The playground page. The demos run their C programs on this page, or with
 * `?worker` in the URL inside a Web Worker; the page looks and behaves the same.
 */
import { h } from './card'
import { fetchDemo } from './demos/fetch'
import { goroutinesDemo } from './demos/goroutines'
import { inputDemo } from './demos/input'
import { sleepDemo } from './demos/sleep'
import { sortDemo } from './demos/sort'
import type { DemoName, Host, RunProgram } from './host'
import { programs } from './programs'
import { workerRunner } from './rpc'
import './style.css'

const inWorker = new URLSearchParams(location.search).has('worker')

// Demos are built before the runner exists, so they get it through this indirection.
const run: RunProgram = (demo, ...args) => runner(demo, ...args)

const sleep = sleepDemo(run)
const input = inputDemo(run)
const fetchText = fetchDemo(run)
const sort = sortDemo(run)
const goroutines = goroutinesDemo(run)
const outputs: Record<DemoName, HTMLPreElement> = {
  sleep: sleep.output,
  input: input.output,
  fetch: fetchText.output,
  sort: sort.output,
  goroutines: goroutines.output,
}

const host: Host = {
  print: (demo, text) => outputs[demo].append(text),
  progress: sleep.progress,
  readLine: input.readLine,
  showCompare: sort.showCompare,
  showSorted: sort.showSorted,
}

const runner: RunProgram = inWorker
  ? workerRunner(new Worker(new URL('./worker.ts', import.meta.url), { type: 'module' }), host)
  : (demo, ...args) => (programs[demo] as (host: Host, ...args: unknown[]) => Promise<number>)(host, ...args)

const otherMode = inWorker
  ? h('a', { href: '?' }, 'run them on the page instead')
  : h('a', { href: '?worker' }, 'run them in a Web Worker instead')
// The same test the runtime makes: with JSPI it fetches the untouched build, else the asyncified one.
const jspi = 'Suspending' in WebAssembly && 'promising' in WebAssembly
document.querySelector('#mode')!.append(
  inWorker ? 'The programs run in a Web Worker; ' : "The programs run on the page's main thread; ",
  otherMode,
  '. ',
  jspi
    ? 'They suspend with JSPI, the engine\'s own stack switching.'
    : 'They suspend with Asyncify: this browser has no JSPI.',
)
document.querySelector('main')!.append(sleep.section, input.section, fetchText.section, sort.section, goroutines.section)
