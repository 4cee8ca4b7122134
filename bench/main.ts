/**
 * `npm run bench`: the performance suite of issue 9. Runs the selected
 * sections in order, each measurement side by side with its baseline and
 * repeated, and writes BENCHMARKS.md and BENCHMARKS.json. It measures and
 * reports; it never judges figures (a failure here is a broken bench, not a
 * slow build).
 */
import { mkdtempSync, rmSync, statSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { bundleNode } from './bundle.js'
import { coldBuilds } from './build/cold.js'
import { togetherBuilds } from './build/together.js'
import { viteBuilds } from './build/vite.js'
import { warmRebuilds } from './build/warm.js'
import { ENGINES } from './harness/engines.js'
import { describeMachine } from './machine.js'
import { resolveBenchOptions, type BenchOptions } from './options.js'
import { repoDir } from './paths.js'
import { writeReport } from './report.js'
import type { Row } from './rows.js'
import { programRows } from './program/sqlite.js'
import { computeRows, measureInEngines, roundTripRows, runtimeModules } from './runtime.js'
import { buildSubjects, suspendFixture } from './subjects.js'
import { surveySubjects } from './survey.js'
import { IN_THREAD_BYTES } from '../src/transform/in-thread.js'

const log = (message: string) => console.error(`bench: ${message}`)

async function buildSections(options: BenchOptions, workDir: string): Promise<Row[]> {
  const context = { childScript: await bundleNode('build/transform-child.ts'), timeoutMs: options.timeoutMs, workDir }
  const wantBuild = options.sections.includes('build')
  const rows: Row[] = []
  for (const subject of buildSubjects(options.smoke)) {
    const repeats = subject.large ? options.largeRepeats : options.repeats
    log(`${subject.name}: ${repeats} cold builds, ours and native wasm-opt`)
    const cold = await coldBuilds(subject, repeats, context)
    if (wantBuild) {
      rows.push(...cold.rows.build)
      log(`${subject.name}: warm rebuilds`)
      rows.push(await warmRebuilds(subject, cold, options.repeats, context))
    }
    if (options.sections.includes('size')) rows.push(...cold.rows.size)
  }
  if (wantBuild) {
    log('Vite app: cold and warm builds')
    rows.push(await viteBuilds(suspendFixture(), options.repeats, options.timeoutMs, await bundleNode('build/vite-child.ts'), workDir))
  }
  return rows
}

async function runtimeSections(options: BenchOptions, workDir: string): Promise<Row[]> {
  const modules = await runtimeModules(workDir)
  const rows: Row[] = []
  for (const [section, toRows] of [
    ['roundtrip', roundTripRows],
    ['compute', computeRows],
  ] as const) {
    if (!options.sections.includes(section)) continue
    log(`${section}: ${ENGINES.join(', ')}`)
    const outputs = await measureInEngines(section, modules, options.repeats, options.calls, options.smoke ? 2 : 20, options.timeoutMs)
    for (const [engine, output] of outputs) rows.push(...toRows(engine, output))
  }
  return rows
}

/** The survey's modules (survey.ts), built as the npm subjects are, `--large-repeats` cold builds each against native. */
async function surveyRows(options: BenchOptions, workDir: string): Promise<Row[]> {
  const context = { childScript: await bundleNode('build/transform-child.ts'), timeoutMs: options.timeoutMs, workDir }
  const rows: Row[] = []
  const subjects = surveySubjects(log)
  for (const subject of subjects) {
    log(`survey: ${subject.name}: ${options.largeRepeats} cold builds, ours and native wasm-opt`)
    const cold = await coldBuilds(subject, options.largeRepeats, context)
    rows.push(...[...cold.rows.build, ...cold.rows.size].map((row) => ({ ...row, section: 'survey' as const })))
  }
  // The three smallest, all above the size built in the calling thread: what a bundler meeting several pays.
  const smallest = subjects.filter((subject) => statSync(subject.file).size > IN_THREAD_BYTES).sort((a, b) => statSync(a.file).size - statSync(b.file).size).slice(0, 3)
  log(`survey: ${smallest.length} modules at once: ${options.largeRepeats} builds, ours and native wasm-opt`)
  rows.push(...(await togetherBuilds(smallest, options.largeRepeats, await bundleNode('build/together-child.ts'), options.timeoutMs, workDir)))
  return rows
}

const started = performance.now()
const options = resolveBenchOptions(process.argv.slice(2), repoDir)
const workDir = mkdtempSync(join(tmpdir(), 'asyncify-bench-'))
try {
  const machine = describeMachine()
  const rows = [
    ...(options.sections.some((section) => section === 'build' || section === 'size') ? await buildSections(options, workDir) : []),
    ...(await runtimeSections(options, workDir)),
    // The npm subjects are left out of a smoke run.
    ...(options.sections.includes('program') && !options.smoke ? await programRows(options.repeats, options.timeoutMs, workDir) : []),
    ...(options.sections.includes('survey') ? await surveyRows(options, workDir) : []),
  ]
  const { outDir, ...recorded } = options
  const written = writeReport({ machine, options: recorded, durationMs: performance.now() - started, rows }, outDir)
  log(`wrote ${written.markdown} and ${written.json}`)
} finally {
  rmSync(workDir, { recursive: true, force: true })
}
