import { execFileSync } from 'node:child_process'
import { readFileSync, writeFileSync } from 'node:fs'
import { dirname, join } from 'node:path'
import { asyncifyWasm } from 'unplugin-asyncify/transform'
import { launchChromium } from '../../scripts/playground/browser.js'
import { bundleBrowser, bundleNode } from '../bundle.js'
import { nativeCommand } from '../build/native.js'
import { nodeBinary, repoDir } from '../paths.js'
import { runMeasured } from '../processes.js'
import { compare, type Row } from '../rows.js'
import { npmSubjects } from '../subjects.js'

/**
 * Timed runs of the workload per process, after its first (bench/program/sqlite-child.ts); a process's figure is
 * their fastest. V8 compiles the bytecode loop's function, SQLite's largest, with its optimizing tier in the
 * background while the first runs go on in its baseline tier, and the medians of six runs varied up to 1.8x
 * between processes of one build.
 */
const RUNS = 10

const NODES: [string, string][] = [
  ['Node 20', process.execPath],
  ...([22, 24, 26] as const).map((major): [string, string] => [`Node ${major}`, nodeBinary(major)]),
]

/** Where the Chromium page finds the glue and the build (served by the page's routes, no server). */
const ORIGIN = 'http://sqlite.bench'

type Build = 'untouched' | 'ours' | 'speed' | 'native'
const LABELS: Record<Build, string> = {
  untouched: 'untouched',
  ours: 'ours, Asyncify',
  speed: "ours, Asyncify, optimize 3 (speed over size; the plugin's default on a server)",
  native: "native wasm-opt's Asyncify build",
}

/** The milliseconds of a build's timed runs, in a fresh process or browser. */
type Runner = (wasm: string) => Promise<number[]>

/**
 * SQLite's in-memory workload with its own glue, in each Node and in
 * Chromium: our Asyncify builds (the default, and optimize 3's, which trades
 * size for speed) and native wasm-opt's (the same import list as the build
 * rows) against the untouched module. No call suspends, so this
 * is what the checks cost a real program; an engine runs the Asyncify build
 * unless it has JSPI (Node 24 and 26 and Chromium default to the JSPI build,
 * which is the untouched code). Each repeat runs every build in a fresh
 * process (a fresh browser for Chromium), in rotated order.
 */
export async function programRows(repeats: number, timeoutMs: number, workDir: string): Promise<Row[]> {
  const subject = npmSubjects.find((candidate) => candidate.name === 'SQLite')!
  const input = join(repoDir, subject.file)
  const glue = join(dirname(input), 'sqlite3.mjs')
  const files: Record<Build, string> = {
    untouched: input,
    ours: join(workDir, 'sqlite.ours.wasm'),
    speed: join(workDir, 'sqlite.ours-3.wasm'),
    native: join(workDir, 'sqlite.native.wasm'),
  }
  for (const [build, optimize] of [['ours', 2], ['speed', 3]] as const) {
    const built = await asyncifyWasm(new Uint8Array(readFileSync(input)), { imports: subject.imports, mode: 'asyncify', optimize, filename: input })
    writeFileSync(files[build], built.wasm!)
  }
  const [command, args] = nativeCommand(input, files.native, subject.imports, subject.features)
  execFileSync(command, args)
  const child = await bundleNode('program/sqlite-child.ts')
  const page = await bundleBrowser('program/sqlite-page.ts')
  const engines: [string, Runner][] = [
    ...NODES.map(([engine, node]): [string, Runner] => [
      engine,
      async (wasm) => {
        const run = await runMeasured(node, [child, glue, wasm, String(RUNS)], timeoutMs)
        if (run.status === 'timeout') throw new Error(`${engine}: SQLite's workload on ${wasm} ran past the timeout of ${timeoutMs / 1000} s`)
        return (JSON.parse(run.stdout) as { ms: number[] }).ms
      },
    ]),
    ['Chromium', (wasm) => chromiumRuns(page, glue, wasm, timeoutMs)],
  ]
  const builds: Build[] = ['untouched', 'ours', 'speed', 'native']
  const samples = new Map(engines.map(([engine]): [string, Record<Build, number[]>] => [engine, { untouched: [], ours: [], speed: [], native: [] }]))
  for (let repeat = 0; repeat < repeats; repeat++) {
    for (const [engine, run] of engines) {
      for (let k = 0; k < builds.length; k++) {
        const build = builds[(k + repeat) % builds.length]!
        samples.get(engine)![build].push(Math.min(...(await run(files[build]))))
      }
    }
  }
  const subjectName = 'SQLite queries in memory, no suspension'
  return [...samples].flatMap(([engine, times]) =>
    (['ours', 'speed', 'native'] as const).map((build) =>
      compare(
        { section: 'program', subject: subjectName, measure: 'time per run', engine, unit: 'ms' },
        { label: LABELS[build], samples: times[build] },
        { label: LABELS.untouched, samples: times.untouched },
      ),
    ),
  )
}

/**
 * The workload's timed runs on one build in a fresh Chromium (Debian's, as
 * the other browser rows), the glue and the build served from `ORIGIN` by
 * the page's routes.
 */
async function chromiumRuns(page: string, glue: string, wasm: string, timeoutMs: number): Promise<number[]> {
  const browser = await launchChromium()
  try {
    const tab = await browser.context.newPage()
    tab.setDefaultTimeout(timeoutMs)
    await tab.route(`${ORIGIN}/**`, (route) => {
      const { pathname } = new URL(route.request().url())
      if (pathname === '/sqlite3.mjs') return route.fulfill({ path: glue, contentType: 'text/javascript' })
      if (pathname === '/module.wasm') return route.fulfill({ path: wasm, contentType: 'application/wasm' })
      return route.fulfill({ body: '<!doctype html><title>SQLite</title>', contentType: 'text/html' })
    })
    await tab.goto(`${ORIGIN}/`)
    await tab.addScriptTag({ content: page })
    const run = tab.evaluate((runs) => (globalThis as any).runSqlite('/sqlite3.mjs', '/module.wasm', runs) as Promise<{ ms: number[] }>, RUNS)
    let timer: NodeJS.Timeout | undefined
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`Chromium: SQLite's workload on ${wasm} ran past the timeout of ${timeoutMs / 1000} s`)), timeoutMs)
    })
    try {
      return (await Promise.race([run, timeout])).ms
    } finally {
      clearTimeout(timer)
    }
  } finally {
    await browser.close()
  }
}
