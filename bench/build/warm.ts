import { join } from 'node:path'
import { runMeasured } from '../processes.js'
import { compare, type Row } from '../rows.js'
import type { Subject } from '../subjects.js'
import type { BuildContext, ColdResult } from './cold.js'

/**
 * Rebuilds through the plugin's cache that the cold runs filled, each in a
 * fresh process, timed inside the call (Node's own start is the same for any
 * build and would hide what the cache costs). The baseline is the cold runs'
 * time inside the same call.
 */
export async function warmRebuilds(subject: Subject, cold: ColdResult, repeats: number, context: BuildContext): Promise<Row> {
  const fields = { section: 'build' as const, subject: subject.name, measure: 'warm rebuild (plugin cache)', unit: 'ms' as const, engine: null }
  const baseline = { label: 'cold, same call', samples: cold.transformMs }
  if (cold.cacheDir === null) return compare(fields, { label: 'warm', samples: null, note: 'no cache: the cold build did not finish' }, baseline)
  const options = JSON.stringify({ imports: subject.imports })
  const samples: number[] = []
  for (let repeat = 0; repeat < repeats; repeat++) {
    const output = join(context.workDir, `${subject.name.replace(/\W+/g, '-')}-warm.wasm`)
    const run = await runMeasured(process.execPath, [context.childScript, subject.file, output, cold.cacheDir, options], context.timeoutMs)
    if (run.status === 'timeout') return compare(fields, { label: 'warm', samples: null, note: `timeout after ${context.timeoutMs / 1000} s` }, baseline)
    samples.push((JSON.parse(run.stdout) as { transformMs: number }).transformMs)
  }
  return compare(fields, { label: 'warm', samples }, baseline)
}
