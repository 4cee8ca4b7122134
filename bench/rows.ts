import type { Section } from './options.js'
import { pairedRatios, summarize, type Summary } from './stats.js'

/** One side of a comparison; `summary` is null when it did not finish (`note` says why). */
export interface Side {
  label: string
  summary: Summary | null
  note?: string
}

/** One line of BENCHMARKS.md: a candidate against its baseline, measured side by side in this run. */
export interface Row {
  section: Section
  subject: string
  measure: string
  engine: string | null
  unit: 'ms' | 'MB' | 'ns/call' | 'bytes/call' | 'bytes/byte'
  candidate: Side
  baseline: Side
  /** candidate / baseline, per repeat; null when either side has no figure. */
  ratio: Summary | null
}

export function compare(
  fields: Pick<Row, 'section' | 'subject' | 'measure' | 'engine' | 'unit'>,
  candidate: { label: string; samples: number[] | null; note?: string },
  baseline: { label: string; samples: number[] | null; note?: string },
): Row {
  const side = ({ label, samples, note }: typeof candidate): Side => ({
    label,
    summary: samples && samples.length > 0 ? summarize(samples) : null,
    ...(note === undefined ? {} : { note }),
  })
  const ratio = candidate.samples?.length && baseline.samples?.length ? pairedRatios(candidate.samples, baseline.samples) : null
  return { ...fields, candidate: side(candidate), baseline: side(baseline), ratio }
}
