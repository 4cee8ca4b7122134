import { availableParallelism } from 'node:os'
import { resolve } from 'node:path'
import { parseArgs } from 'node:util'
import { DEFAULT_BUDGETS, runCampaign, summaryLine } from './campaign.js'
import { checkCase } from './check.js'
import { ChromiumRunner } from './chromium.js'
import { loadReproducer } from './reproducer.js'
import { Sandbox } from './sandbox.js'

/*
 * npm run fuzz -- [--count N] [--seed S] [--jobs J] [--reduce-seconds T] [--out DIR] [--quiet] [--engine jspi] [--asyncify-engine binaryen] [--chromium]
 * npm run fuzz -- --replay DIR [--engine jspi] [--chromium]
 *
 * `--engine jspi` runs the JSPI build instead of the asyncified one; it needs
 * an engine with JSPI: `npm run fuzz:jspi -- ...` runs under Node 26 (tools/nodes).
 * `--asyncify-engine direct|binaryen` sets the transform's `engine` option
 * (default: the transform's own default, which hands Binaryen what the direct
 * engine does not handle; the summary counts which built each module).
 * `--chromium` runs the build under test in Debian's Chromium (which has
 * JSPI) instead of in Node; the reference still runs in Node.
 *
 * Differential fuzzing of the transform and the runtime: each random module
 * runs untouched with synchronous imports and asyncified with imports that
 * answer through Promises and thenables; any observable difference is a
 * mismatch, saved as a reduced reproducer. Exits 1 on any mismatch.
 */

const { values } = parseArgs({
  options: {
    count: { type: 'string', default: '100' },
    seed: { type: 'string', default: '1' },
    jobs: { type: 'string', default: String(availableParallelism()) },
    'reduce-seconds': { type: 'string', default: '120' },
    out: { type: 'string', default: 'test/artifacts/fuzz' },
    replay: { type: 'string' },
    quiet: { type: 'boolean', default: false },
    engine: { type: 'string', default: 'asyncify' },
    'asyncify-engine': { type: 'string' },
    chromium: { type: 'boolean', default: false },
  },
})

if (values.engine !== 'asyncify' && values.engine !== 'jspi') {
  console.error(`fuzz: --engine must be asyncify or jspi; got ${values.engine}`)
  process.exit(2)
}
if (values.engine === 'jspi' && !values.chromium && !('Suspending' in WebAssembly)) {
  console.error(`fuzz: --engine jspi needs an engine with JSPI; this is Node ${process.version}: use npm run fuzz:jspi`)
  process.exit(2)
}
const asyncifyEngine = values['asyncify-engine']
if (asyncifyEngine !== undefined && asyncifyEngine !== 'direct' && asyncifyEngine !== 'binaryen') {
  console.error(`fuzz: --asyncify-engine must be direct or binaryen; got ${asyncifyEngine}`)
  process.exit(2)
}
// Read by the sandbox workers (asyncified.ts), which share this process's environment.
process.env.ASYNCIFY_FUZZ_ENGINE = values.engine
if (asyncifyEngine !== undefined) process.env.ASYNCIFY_FUZZ_ASYNCIFY_ENGINE = asyncifyEngine

const integer = (name: string, text: string): number => {
  const value = Number(text)
  if (!Number.isInteger(value) || value < 0) {
    console.error(`fuzz: --${name} must be a whole number; got ${text}`)
    process.exit(2)
  }
  return value
}

if (values.replay) {
  const directory = resolve(values.replay)
  const { fuzzCase, wasm } = loadReproducer(directory)
  const local = new Sandbox(1, DEFAULT_BUDGETS)
  const sandbox = values.chromium ? await ChromiumRunner.start(local, values.engine, DEFAULT_BUDGETS.asyncified) : local
  const { verdict } = await checkCase(sandbox, fuzzCase, wasm)
  await sandbox.close()
  console.log(`replay ${fuzzCase.id}: ${verdict.kind}${'reason' in verdict ? ` (${verdict.reason})` : ''}`)
  if ('differences' in verdict) for (const line of verdict.differences) console.log(`  ${line}`)
  process.exit(verdict.kind === 'mismatch' ? 1 : 0)
}

const summary = await runCampaign({
  count: integer('count', values.count),
  seed: integer('seed', values.seed),
  jobs: Math.max(1, integer('jobs', values.jobs)),
  failureDir: resolve(values.out, `seed-${values.seed}`),
  reduceSeconds: integer('reduce-seconds', values['reduce-seconds']),
  chromium: values.chromium ? values.engine : undefined,
  log: values.quiet ? undefined : (line) => console.log(line),
})
console.log(`by level: ${JSON.stringify(summary.levels)}; by mode: ${JSON.stringify(summary.modes)}; built by: ${JSON.stringify(summary.engines)}`)
for (const mismatch of summary.mismatches) console.log(`mismatch ${mismatch.id}: ${mismatch.differences[0]}${mismatch.replay ? `\n  ${mismatch.replay}` : ''}`)
console.log(summaryLine(summary))
process.exit(summary.mismatches.length > 0 ? 1 : 0)
