import { mkdirSync, rmSync, statSync } from 'node:fs'
import { join } from 'node:path'
import { runMeasured } from '../processes.js'
import { compare, type Row } from '../rows.js'
import type { Subject } from '../subjects.js'
import { nativeCommand } from './native.js'

export interface ColdResult {
  rows: { build: Row[]; size: Row[] }
  /** Time inside the transform call of each cold run of ours, the baseline of the warm rebuild. */
  transformMs: number[]
  /** The cache the last cold run filled, or null when ours never finished. */
  cacheDir: string | null
}

/** What every build run needs: the bundled transform child (bench/build/transform-child.ts), its limit, a scratch directory. */
export interface BuildContext {
  childScript: string
  timeoutMs: number
  workDir: string
}

interface Runs {
  wallMs: number[]
  peakMb: number[]
  ratio: number[]
}

/** Ours measured inside its process as well: what a bundler that runs the plugin pays (Node's start it has paid already). */
interface InProcessRuns extends Runs {
  inProcessMs: number[]
  addedPeakMb: number[]
}

/**
 * Cold builds of one subject, ours and native side by side in each repeat,
 * each in a fresh process. Once ours times out its later repeats are skipped
 * (they would time out too); native still runs every repeat.
 */
export async function coldBuilds(subject: Subject, repeats: number, { childScript, timeoutMs, workDir }: BuildContext): Promise<ColdResult> {
  const input = statSync(subject.file).size
  const ours: InProcessRuns = { wallMs: [], peakMb: [], ratio: [], inProcessMs: [], addedPeakMb: [] }
  const native: Runs = { wallMs: [], peakMb: [], ratio: [] }
  const transformMs: number[] = []
  const engines = new Set<string>()
  // Mode 'auto', the plugin's and the CLI's default: both builds, in a bundler's process (native makes one).
  const auto = { inProcessMs: [] as number[], engines: new Set<string>() }
  const dir = join(workDir, subject.name.replace(/\W+/g, '-'))
  const cacheDir = join(dir, 'cache')
  const options = JSON.stringify({ imports: subject.imports })
  let timedOut = false
  mkdirSync(dir, { recursive: true })
  for (let repeat = 0; repeat < repeats; repeat++) {
    if (!timedOut) {
      rmSync(cacheDir, { recursive: true, force: true })
      const output = join(dir, 'ours.wasm')
      const run = await runMeasured(process.execPath, [childScript, subject.file, output, cacheDir, options], timeoutMs)
      if (run.status === 'timeout') timedOut = true
      else {
        ours.wallMs.push(run.wallMs)
        ours.peakMb.push(run.peakRssMb)
        ours.ratio.push(statSync(output).size / input)
        const child = JSON.parse(run.stdout) as { transformMs: number; inProcessMs: number; addedPeakMb: number; engine: string }
        transformMs.push(child.transformMs)
        ours.inProcessMs.push(child.inProcessMs)
        ours.addedPeakMb.push(child.addedPeakMb)
        engines.add(child.engine)
      }
    }
    if (!timedOut) {
      rmSync(join(dir, 'cache-auto'), { recursive: true, force: true })
      const run = await runMeasured(process.execPath, [childScript, subject.file, join(dir, 'ours-auto.wasm'), join(dir, 'cache-auto'), JSON.stringify({ imports: subject.imports, mode: 'auto' })], timeoutMs)
      if (run.status !== 'timeout') {
        const child = JSON.parse(run.stdout) as { inProcessMs: number; engine: string }
        auto.inProcessMs.push(child.inProcessMs)
        auto.engines.add(child.engine)
      }
    }
    const output = join(dir, 'native.wasm')
    const [command, args] = nativeCommand(subject.file, output, subject.imports, subject.features)
    const run = await runMeasured(command, args, timeoutMs)
    if (run.status === 'timeout') throw new Error(`${subject.name}: native wasm-opt ran past the timeout of ${timeoutMs / 1000} s`)
    native.wallMs.push(run.wallMs)
    native.peakMb.push(run.peakRssMb)
    native.ratio.push(statSync(output).size / input)
  }
  // Sizes do not vary between runs: one build at each level where the direct engine trades one for the other beside
  // them, "z" (size over speed) and 3 (speed over size).
  const traded: { optimize: 'z' | 3; ratio: number; engine: string }[] = []
  for (const optimize of timedOut ? [] : (['z', 3] as const)) {
    const output = join(dir, `ours-${optimize}.wasm`)
    const run = await runMeasured(process.execPath, [childScript, subject.file, output, join(dir, `cache-${optimize}`), JSON.stringify({ imports: subject.imports, optimize })], timeoutMs)
    if (run.status !== 'timeout') traded.push({ optimize, ratio: statSync(output).size / input, engine: (JSON.parse(run.stdout) as { engine: string }).engine })
  }
  // A timeout after finished repeats leaves those figures paired with native's first ones and says so.
  const note = timedOut ? `timeout after ${timeoutMs / 1000} s (${ours.wallMs.length} of ${repeats} runs finished)` : undefined
  const side = (label: string, samples: number[]) => ({ label, samples: samples.length ? samples : null, ...(note ? { note } : {}) })
  const fields = { subject: subject.name, engine: null }
  const oursLabel = `ours (transform, mode asyncify, engine ${[...engines].join('/') || 'unknown'})`
  const nativeLabel = 'native wasm-opt -O2'
  return {
    rows: {
      build: [
        compare({ ...fields, section: 'build', measure: 'cold transform in a bundler', unit: 'ms' }, side(oursLabel, ours.inProcessMs), { label: nativeLabel, samples: native.wallMs }),
        compare({ ...fields, section: 'build', measure: 'cold transform, own process', unit: 'ms' }, side(oursLabel, ours.wallMs), { label: nativeLabel, samples: native.wallMs }),
        compare(
          { ...fields, section: 'build', measure: 'cold transform in a bundler, mode auto (the default: both builds)', unit: 'ms' },
          side(`ours (transform, mode auto, engine ${[...auto.engines].join('/') || 'unknown'})`, auto.inProcessMs),
          { label: nativeLabel, samples: native.wallMs },
        ),
        compare({ ...fields, section: 'build', measure: 'peak memory added to a bundler', unit: 'MB' }, side(oursLabel, ours.addedPeakMb), { label: nativeLabel, samples: native.peakMb }),
        compare({ ...fields, section: 'build', measure: 'peak memory, own process', unit: 'MB' }, side(oursLabel, ours.peakMb), { label: nativeLabel, samples: native.peakMb }),
      ],
      size: [
        compare({ ...fields, section: 'size', measure: 'output / input', unit: 'bytes/byte' }, side(oursLabel, ours.ratio), { label: nativeLabel, samples: native.ratio }),
        ...traded.map(({ optimize, ratio, engine }) =>
          compare(
            { ...fields, section: 'size', measure: 'output / input', unit: 'bytes/byte' },
            side(`ours (transform, mode asyncify, optimize ${optimize}, engine ${engine})`, [ratio]),
            { label: nativeLabel, samples: native.ratio },
          ),
        ),
      ],
    },
    transformMs,
    cacheDir: transformMs.length ? cacheDir : null,
  }
}
