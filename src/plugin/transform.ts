import { digitGroups } from '../transform/digit-groups.js'
import { whyLines } from '../transform/explain.js'
import { asyncifyWasm, type TransformOptions, type TransformResult } from '../transform/index.js'
import { TransformCache, cacheKey, cacheWriteWarning } from './cache.js'

/** Where the plugin reports progress: each bundler's own log. */
export type Log = (message: string) => void

/**
 * Binaryen runs started by the plugin in this process. A build whose modules
 * all came from the cache leaves it unchanged, which is how the tests (and a
 * curious user) can tell that a rebuild did no Binaryen work.
 */
export const binaryenRuns = { count: 0 }

const PROGRESS_AFTER_MS = 1000

/**
 * Transforms under way, by cache key: the client and SSR environments asking
 * for the same module at once share one run.
 */
const inFlight = new Map<string, Promise<TransformResult>>()

/**
 * The transformed module for these bytes and options: from the disk cache when
 * possible, otherwise from the engine (in a worker thread, off the bundler's
 * main thread), then stored.
 */
export async function transformCached(
  bytes: Uint8Array,
  options: TransformOptions,
  cacheDir: string | null,
  log: Log,
): Promise<TransformResult> {
  const entry = cacheKey(bytes, options)
  const key = `${cacheDir}\0${entry}`
  let pending = inFlight.get(key)
  if (!pending) {
    inFlight.set(key, (pending = transformOnce(bytes, options, cacheDir, entry, log)))
    void pending.finally(() => inFlight.delete(key)).catch(() => {})
  }
  const result = await pending
  // The report names the file it was made for; a shared run or a cache hit may have been for another path.
  return { ...result, report: { ...result.report, filename: options.filename ?? result.report.filename } }
}

async function transformOnce(bytes: Uint8Array, options: TransformOptions, cacheDir: string | null, key: string, log: Log): Promise<TransformResult> {
  const cache = cacheDir === null ? null : new TransformCache(cacheDir)
  const hit = await cache?.get(key)
  if (hit) return hit
  binaryenRuns.count++
  // Large modules take seconds; say so rather than leave the build silent.
  let announced = false
  const timer = setTimeout(() => {
    announced = true
    log(`${options.filename}: ${options.mode === 'jspi' ? 'preparing the module for JSPI' : 'running Asyncify'}...`)
  }, PROGRESS_AFTER_MS)
  let result: TransformResult
  try {
    result = await asyncifyWasm(bytes, options)
  } finally {
    clearTimeout(timer)
  }
  const { report } = result
  if (announced) {
    const time = `${(report.timeMs / 1000).toFixed(1)} s`
    const size = `(${report.size.before} -> ${report.size.after} bytes)`
    log(
      report.paths.includes('asyncify')
        ? `${report.filename}: instrumented ${report.functions.instrumented}/${report.functions.total} functions in ${time} ${size}; ` +
            `built for ${report.paths.join(' and ')}`
        : `${report.filename}: built for ${report.paths.join(' and ')} in ${time} ${size}`,
    )
  }
  if (grewMuch(report)) log(growthMessage(report, options.optimize))
  try {
    await cache?.set(key, result)
  } catch (error) {
    const warning = cacheWriteWarning(cacheDir!, error)
    if (warning !== null) return { ...result, report: { ...report, warnings: [...report.warnings, warning] } }
  }
  return result
}

/** Growth worth explaining: a quarter of the input and at least this many bytes. */
const GROWTH_BYTES = 16 * 1024
const GROWTH_SHOWN = 5

function grewMuch({ paths, size }: TransformResult['report']): boolean {
  return paths.includes('asyncify') && size.after - size.before > Math.max(GROWTH_BYTES, size.before / 4)
}

function growthMessage(report: TransformResult['report'], optimize: TransformOptions['optimize']): string {
  const { filename, size, why } = report
  // A server bundle gets level 3 without asking for it (the plugin's optimize: 'auto'): say where its size comes from.
  const speed =
    optimize === 3
      ? ["  (at optimize 3, speed over size, the plugin's default for a bundle that runs only on a server, functions whose checks only a rewind needs go out twice; optimize 2 makes the smaller build)"]
      : []
  return [
    `${filename}: the asyncified build is ${(size.after / size.before).toFixed(1)}x the input ` +
      `(${digitGroups(size.before)} -> ${digitGroups(size.after)} bytes); the instrumented functions that added most, and why:`,
    ...whyLines(why.slice(0, GROWTH_SHOWN)),
    `  (all ${why.length} in report.why, or wasm-asyncify --explain; listing only the imports that return Promises, ` +
      `or naming functions that never suspend in asyncify({ runtime }), instruments less)`,
    ...speed,
  ].join('\n')
}
