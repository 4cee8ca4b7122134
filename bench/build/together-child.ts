/**
 * Several transforms at once in a fresh process, as a bundler that meets
 * several modules in one build starts them (transformCached, mode
 * 'asyncify', the build native wasm-opt is compared with). Prints the time
 * from before our code loads until the last one is done, the peak memory the
 * process adds meanwhile, and the longest its event loop went without a turn
 * (a timer every 5 ms; a dev server answers nothing meanwhile).
 * argv: cacheDir, then input and comma-separated imports, pairwise
 */
import { readFileSync } from 'node:fs'
import { join } from 'node:path'

const [cacheDir, ...pairs] = process.argv.slice(2) as [string, ...string[]]
const jobs = Array.from({ length: pairs.length / 2 }, (_, k) => ({ input: pairs[2 * k]!, imports: pairs[2 * k + 1]!.split(',') }))
const inputs = jobs.map((job) => new Uint8Array(readFileSync(job.input)))
const rssBeforeKb = process.resourceUsage().maxRSS
let longestBlockMs = 0
let lastTurn = performance.now()
const timer = setInterval(() => {
  const now = performance.now()
  longestBlockMs = Math.max(longestBlockMs, now - lastTurn)
  lastTurn = now
}, 5)
const loading = performance.now()
const { transformCached } = await import('../../dist/plugin/transform.js')
await Promise.all(jobs.map((job, k) => transformCached(inputs[k]!, { mode: 'asyncify', imports: job.imports, filename: job.input }, join(cacheDir, String(k)), () => {})))
const finished = performance.now()
// A build that held the thread to the end was never interrupted by the timer: its last stretch counts too.
longestBlockMs = Math.max(longestBlockMs, finished - lastTurn)
clearInterval(timer)
const addedPeakMb = (process.resourceUsage().maxRSS - rssBeforeKb) / 1024
process.stdout.write(JSON.stringify({ inProcessMs: finished - loading, addedPeakMb, longestBlockMs }))
