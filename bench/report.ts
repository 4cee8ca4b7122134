import { mkdirSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import type { Machine } from './machine.js'
import type { BenchOptions, Section } from './options.js'
import type { Row, Side } from './rows.js'

/** Everything a run produced: BENCHMARKS.json holds it whole, BENCHMARKS.md renders it. */
export interface BenchResult {
  machine: Machine
  options: Omit<BenchOptions, 'outDir'>
  /** Wall time of the whole run. */
  durationMs: number
  rows: Row[]
}

const TITLES: Record<Section, string> = {
  build: 'Build: cold transform, peak memory, warm rebuild, Vite',
  size: 'Size: output bytes over input bytes',
  roundtrip: 'Round trip: one async import call (ns per call)',
  compute: 'Compute: code that does not suspend (ms per run)',
  program: 'A real program: SQLite in memory, nothing suspends (ms per run)',
  survey: 'Modules from npm beyond the subjects: cold transform, peak memory, size (--only survey)',
}

function figure(value: number, unit: Row['unit']): string {
  if (unit === 'bytes/byte') return value.toFixed(3)
  if (unit === 'ns/call') return value.toFixed(0)
  return value >= 100 ? value.toFixed(0) : value.toFixed(1)
}

function side(entry: Side, unit: Row['unit']): string {
  if (entry.summary === null) return `${entry.label}: ${entry.note ?? 'no figure'}`
  const note = entry.note ? ` (${entry.note})` : ''
  return `${entry.label}: ${figure(entry.summary.median, unit)} (min ${figure(entry.summary.min, unit)})${note}`
}

function ratio(row: Row): string {
  if (row.ratio === null) return 'n/a'
  const times = (value: number) => `${value < 0.1 ? value.toPrecision(2) : value.toFixed(2)}x`
  return `**${times(row.ratio.median)}** (min ${times(row.ratio.min)})`
}

export function renderMarkdown(result: BenchResult): string {
  const { machine, options } = result
  const lines = [
    '# Benchmarks',
    '',
    `Written by \`npm run bench\`${options.smoke ? ' (smoke run: tiny counts, figures meaningless)' : ''}; the same figures with every sample are in BENCHMARKS.json.`,
    'Each ratio is candidate / baseline, computed per repeat from runs made side by side in this run, then summarized: median (min). Below 1 means the candidate is faster or smaller.',
    '',
    '| machine | |',
    '| --- | --- |',
    `| date | ${machine.date} |`,
    `| commit | ${machine.commit} |`,
    `| CPU | ${machine.cpu}, ${machine.cores} cores, ${machine.memoryGb} GB |`,
    `| OS | ${machine.kernel} |`,
    `| Node | ${machine.node}, ${machine.node22}, ${machine.node24} and ${machine.node26} (JSPI in 24 and 26) |`,
    `| binaryen.js | ${machine.binaryenJs} |`,
    `| native wasm-opt | ${machine.wasmOpt} |`,
    `| clang | ${machine.clang} |`,
    `| Chromium | ${machine.chromium} |`,
    `| repeats | ${options.repeats} (cold builds of npm subjects: ${options.largeRepeats}; run-time rows: each repeat in a fresh process or page); ${options.calls} calls per timed round trip; timeout ${options.timeoutMs / 1000} s |`,
    `| run time | ${(result.durationMs / 1000).toFixed(0)} s |`,
  ]
  for (const section of options.sections) {
    const rows = result.rows.filter((row) => row.section === section)
    // A smoke run leaves out the sections that only the npm subjects make.
    if (rows.length === 0) continue
    lines.push('', `## ${TITLES[section]}`, '', '| subject | measure | engine | candidate: median (min) | baseline: median (min) | ratio |', '| --- | --- | --- | --- | --- | --- |')
    for (const row of rows) {
      lines.push(`| ${row.subject} | ${row.measure} (${row.unit}) | ${row.engine ?? ''} | ${side(row.candidate, row.unit)} | ${side(row.baseline, row.unit)} | ${ratio(row)} |`)
    }
  }
  return `${lines.join('\n')}\n`
}

/** Writes BENCHMARKS.md and BENCHMARKS.json into `outDir`; returns their paths. */
export function writeReport(result: BenchResult, outDir: string): { markdown: string; json: string } {
  mkdirSync(outDir, { recursive: true })
  const markdown = join(outDir, 'BENCHMARKS.md')
  const json = join(outDir, 'BENCHMARKS.json')
  writeFileSync(markdown, renderMarkdown(result))
  writeFileSync(json, `${JSON.stringify(result, null, 2)}\n`)
  return { markdown, json }
}
