import { mkdirSync, rmSync } from 'node:fs'
import { join } from 'node:path'
import { runMeasured } from '../processes.js'
import { compare, type Row } from '../rows.js'
import type { Subject } from '../subjects.js'
import { nativeCommand } from './native.js'

/**
 * Several modules built at once, each repeat in fresh processes: ours in one
 * process (bench/build/together-child.ts), as a bundler starts them; native
 * as that many wasm-opt processes started together, its time the last one's
 * end and its memory the sum of their peaks (they run side by side). Decides
 * what the transform's in-thread threshold costs a bundler that meets several
 * mid-size modules: the rows say how long its thread stopped.
 */
export async function togetherBuilds(subjects: Subject[], repeats: number, childScript: string, timeoutMs: number, workDir: string): Promise<Row[]> {
  const ours = { inProcessMs: [] as number[], addedPeakMb: [] as number[], longestBlockMs: [] as number[] }
  const native = { wallMs: [] as number[], peakMb: [] as number[] }
  const dir = join(workDir, 'together')
  mkdirSync(dir, { recursive: true })
  for (let repeat = 0; repeat < repeats; repeat++) {
    rmSync(join(dir, 'cache'), { recursive: true, force: true })
    const run = await runMeasured(process.execPath, [childScript, join(dir, 'cache'), ...subjects.flatMap((subject) => [subject.file, subject.imports.join(',')])], timeoutMs)
    if (run.status === 'timeout') throw new Error(`${subjects.length} modules at once: ours ran past the timeout of ${timeoutMs / 1000} s`)
    const child = JSON.parse(run.stdout) as { inProcessMs: number; addedPeakMb: number; longestBlockMs: number }
    ours.inProcessMs.push(child.inProcessMs)
    ours.addedPeakMb.push(child.addedPeakMb)
    ours.longestBlockMs.push(child.longestBlockMs)
    const started = performance.now()
    const runs = await Promise.all(
      subjects.map((subject, k) => {
        const [command, args] = nativeCommand(subject.file, join(dir, `native-${k}.wasm`), subject.imports, subject.features)
        return runMeasured(command, args, timeoutMs)
      }),
    )
    if (runs.some((measured) => measured.status === 'timeout')) throw new Error(`${subjects.length} modules at once: native wasm-opt ran past the timeout of ${timeoutMs / 1000} s`)
    native.wallMs.push(performance.now() - started)
    native.peakMb.push(runs.reduce((sum, measured) => sum + (measured.status === 'ok' ? measured.peakRssMb : 0), 0))
  }
  const fields = { section: 'survey' as const, subject: `${subjects.map((subject) => subject.name.split(' ').pop()).join(', ')} at once`, engine: null }
  const oursLabel = 'ours (transforms started together in one process, mode asyncify)'
  const nativeLabel = `native wasm-opt -O2 (${subjects.length} processes started together)`
  return [
    compare({ ...fields, measure: 'cold transforms in a bundler, until the last is done', unit: 'ms' }, { label: oursLabel, samples: ours.inProcessMs }, { label: nativeLabel, samples: native.wallMs }),
    compare({ ...fields, measure: 'peak memory added to a bundler (native: the processes\' peaks summed)', unit: 'MB' }, { label: oursLabel, samples: ours.addedPeakMb }, { label: nativeLabel, samples: native.peakMb }),
    compare(
      { ...fields, measure: "longest the bundler's event loop went without a turn", unit: 'ms' },
      { label: oursLabel, samples: ours.longestBlockMs },
      { label: 'native wasm-opt (runs outside the bundler)', samples: null, note: 'no bundler thread' },
    ),
  ]
}
