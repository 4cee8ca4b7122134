import { join } from 'node:path'
import { buildCase, type BuiltCase } from './build-case.js'
import { checkCase } from './check.js'
import { reduceCase } from './reduce.js'
import { saveReproducer } from './reproducer.js'
import { ChromiumRunner } from './chromium.js'
import { Sandbox, type Runner } from './sandbox.js'

export interface CampaignOptions {
  count: number
  seed: number
  /** Modules checked at once (one sandbox worker each). */
  jobs: number
  /** Where reproducers of mismatches go; null keeps none. */
  failureDir: string | null
  /** Seconds spent reducing each mismatch; 0 saves it unreduced. */
  reduceSeconds: number
  /** Run the build under test in Debian's Chromium on this path instead of in Node. */
  chromium?: 'asyncify' | 'jspi'
  /** Called with one line per module that did not simply pass, per saved reproducer, and every 250 modules. */
  log?: (line: string) => void
}

export interface Mismatch {
  id: string
  differences: string[]
  /** The command that replays the saved reproducer, when one was saved. */
  replay: string | null
}

export interface Summary {
  seed: number
  modules: { ttf: number; c: number; wat: number }
  /** Modules that could not be compared, by reason. */
  skipped: Record<string, number>
  /** Modules compared, by optimize level and by call mode. */
  levels: Record<string, number>
  modes: Record<string, number>
  /** Modules compared, by the engine that built the asyncified module (none on the JSPI path). */
  engines: Record<string, number>
  calls: number
  suspensions: number
  mismatches: Mismatch[]
  /** Modules whose runs differed only in NaN bit patterns, with the first difference of each. */
  nanOnly: { id: string; difference: string }[]
  seconds: number
}

export const DEFAULT_BUDGETS = { transform: 120, asyncified: 30, reference: 10 }

/**
 * Checks modules 0..count-1 of a seed: generates each (ttf, C or wat), runs it
 * untouched and asyncified, compares, and saves a reduced reproducer for each
 * mismatch. Results depend only on the seed, never on `jobs` or timing.
 */
export async function runCampaign(options: CampaignOptions): Promise<Summary> {
  const started = performance.now()
  const local = new Sandbox(options.jobs, DEFAULT_BUDGETS)
  const sandbox: Runner = options.chromium ? await ChromiumRunner.start(local, options.chromium, DEFAULT_BUDGETS.asyncified) : local
  const summary: Summary = {
    seed: options.seed,
    modules: { ttf: 0, c: 0, wat: 0 },
    skipped: {},
    levels: {},
    modes: {},
    engines: {},
    calls: 0,
    suspensions: 0,
    mismatches: [],
    nanOnly: [],
    seconds: 0,
  }
  const log = options.log ?? (() => {})
  const reducedKinds = new Set<string>()
  let next = 0
  const lane = async () => {
    while (next < options.count) {
      const index = next++
      if (index > 0 && index % 250 === 0) log(`... module ${index} of ${options.count}, ${summary.mismatches.length} mismatches so far`)
      const built = await buildCase(options.seed, index)
      const { fuzzCase } = built
      summary.modules[fuzzCase.generator]++
      const { verdict, calls, suspensions, builtBy } = await checkCase(sandbox, fuzzCase, built.wasm)
      const label = `${fuzzCase.id} (${fuzzCase.generator}, -O${fuzzCase.transform.optimize}, ${fuzzCase.mode})`
      if (verdict.kind === 'skip') {
        summary.skipped[verdict.reason] = (summary.skipped[verdict.reason] ?? 0) + 1
        log(`skipped ${label}: ${verdict.reason}`)
        continue
      }
      summary.levels[`-O${fuzzCase.transform.optimize}`] = (summary.levels[`-O${fuzzCase.transform.optimize}`] ?? 0) + 1
      summary.modes[fuzzCase.mode] = (summary.modes[fuzzCase.mode] ?? 0) + 1
      if (builtBy !== null) summary.engines[builtBy] = (summary.engines[builtBy] ?? 0) + 1
      summary.calls += calls
      summary.suspensions += suspensions
      if (verdict.kind === 'nan') {
        summary.nanOnly.push({ id: fuzzCase.id, difference: verdict.differences[0]! })
        log(`NaN bits only ${label}: ${verdict.differences[0]}`)
      } else if (verdict.kind === 'mismatch') {
        log(`MISMATCH ${label}:\n  ${verdict.differences.join('\n  ')}`)
        // Reducing costs minutes: only the first mismatch of each kind (its first difference, numbers aside) is reduced.
        const kind = verdict.differences[0]!.replace(/\d+/g, '#').slice(0, 100)
        const reduce = !reducedKinds.has(kind)
        reducedKinds.add(kind)
        const replay = await keep(sandbox, built, verdict.differences, { ...options, reduceSeconds: reduce ? options.reduceSeconds : 0 }, log)
        summary.mismatches.push({ id: fuzzCase.id, differences: verdict.differences, replay })
      }
    }
  }
  try {
    await Promise.all(Array.from({ length: options.jobs }, lane))
  } finally {
    await sandbox.close()
  }
  summary.mismatches.sort((a, b) => a.id.localeCompare(b.id, 'en', { numeric: true }))
  summary.nanOnly.sort((a, b) => a.id.localeCompare(b.id, 'en', { numeric: true }))
  summary.seconds = Math.round((performance.now() - started) / 1000)
  return summary
}

async function keep(
  sandbox: Runner,
  built: BuiltCase,
  differences: string[],
  options: CampaignOptions,
  log: (line: string) => void,
): Promise<string | null> {
  if (options.failureDir === null) return null
  let reduced = built
  if (options.reduceSeconds > 0) {
    try {
      reduced = await reduceCase(sandbox, built, options.reduceSeconds * 1000)
    } catch (error) {
      log(`  reduction failed (${(error as Error).message}); saving the case as found`)
    }
  }
  const replay = saveReproducer(join(options.failureDir, built.fuzzCase.id), reduced, built, differences)
  log(`  reproducer: ${replay}`)
  return replay
}

/** The one-line summary: what ran, what was skipped and why, what was found. */
export function summaryLine(summary: Summary): string {
  const { modules } = summary
  const skipped = Object.values(summary.skipped).reduce((sum, n) => sum + n, 0)
  const reasons = Object.entries(summary.skipped)
    .map(([reason, n]) => `${n} ${reason}`)
    .join(', ')
  return (
    `fuzz seed ${summary.seed}: ${modules.ttf + modules.c + modules.wat} modules (${modules.ttf} ttf, ${modules.c} C, ${modules.wat} wat) in ${summary.seconds} s; ` +
    `skipped ${skipped}${reasons ? ` (${reasons})` : ''}; ${summary.calls} export calls compared; ` +
    `${summary.suspensions} suspensions; ${summary.mismatches.length} mismatches; ${summary.nanOnly.length} NaN-only differences`
  )
}
