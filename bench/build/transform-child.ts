/**
 * One transform in a fresh process, as a bundler plugin's build does it
 * (transformCached: the plugin's disk cache, then our transform in mode
 * 'asyncify', the build native wasm-opt is compared with; it says which
 * engine built). Prints the
 * time spent inside the call, so a warm rebuild is not dominated by Node's start.
 * argv: input output cacheDir options-json
 */
import { readFileSync, writeFileSync } from 'node:fs'
import { transformCached } from '../../dist/plugin/transform.js'
import type { TransformOptions } from '../../dist/transform/index.js'

const [input, output, cacheDir, optionsJson] = process.argv.slice(2) as [string, string, string, string]
const options = JSON.parse(optionsJson) as TransformOptions
const bytes = new Uint8Array(readFileSync(input))
const started = performance.now()
const result = await transformCached(bytes, { ...options, mode: 'asyncify', filename: input }, cacheDir, () => {})
const transformMs = performance.now() - started
writeFileSync(output, result.wasm!)
process.stdout.write(JSON.stringify({ transformMs, bytes: result.wasm!.length, engine: result.report.engine }))
