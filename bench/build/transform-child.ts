/**
 * One transform in a fresh process, as a bundler plugin's build does it
 * (transformCached: the plugin's disk cache, then our transform in mode
 * 'asyncify', the build native wasm-opt is compared with, unless the options
 * name another mode; it says which engine built). Prints the time spent
 * inside the call (so a warm rebuild is not dominated by Node's start), the
 * time and peak memory a bundler's process adds for it (loading our code
 * included, Node's start not: the bundler has paid that), and the engine.
 * argv: input output cacheDir options-json
 */
import { readFileSync, writeFileSync } from 'node:fs'
import type { TransformOptions } from '../../dist/transform/index.js'

const [input, output, cacheDir, optionsJson] = process.argv.slice(2) as [string, string, string, string]
const options = JSON.parse(optionsJson) as TransformOptions
const bytes = new Uint8Array(readFileSync(input))
const rssBeforeKb = process.resourceUsage().maxRSS
const loading = performance.now()
const { transformCached } = await import('../../dist/plugin/transform.js')
const started = performance.now()
const result = await transformCached(bytes, { mode: 'asyncify', ...options, filename: input }, cacheDir, () => {})
const finished = performance.now()
const addedPeakMb = (process.resourceUsage().maxRSS - rssBeforeKb) / 1024
writeFileSync(output, result.wasm!)
process.stdout.write(
  JSON.stringify({ transformMs: finished - started, inProcessMs: finished - loading, addedPeakMb, bytes: result.wasm!.length, engine: result.report.engine }),
)
