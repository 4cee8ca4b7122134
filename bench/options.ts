import { parseArgs } from 'node:util'
import { resolve } from 'node:path'

export const SECTIONS = ['build', 'size', 'roundtrip', 'compute', 'program', 'survey'] as const
export type Section = (typeof SECTIONS)[number]

/** What a run without `--only` measures: all but the survey of modules from npm, which fetches them and takes native minutes (survey.ts). */
const DEFAULT_SECTIONS: Section[] = SECTIONS.filter((section) => section !== 'survey')

export interface BenchOptions {
  /** Tiny counts and only the small C fixtures: proves the suite runs, in well under a minute. */
  smoke: boolean
  /** The sections to run (`--only`, repeatable); all but `survey` by default. */
  sections: Section[]
  /** Side-by-side repeats of every measurement. */
  repeats: number
  /** Repeats of the cold builds of the npm subjects, which take minutes each with our transform. */
  largeRepeats: number
  /** A child process running longer is killed and its row says "timeout". */
  timeoutMs: number
  /** Where BENCHMARKS.md and BENCHMARKS.json are written. */
  outDir: string
  /** Async-import calls per timed run of a round trip; the compute loops scale with it. */
  calls: number
}

const USAGE = `npm run bench -- [--smoke] [--only build|size|roundtrip|compute|program|survey]... [--repeats N] [--large-repeats N] [--timeout SECONDS] [--calls N] [--out DIR]`

/** Every default is here; the rest of the suite sees resolved options only. */
export function resolveBenchOptions(argv: string[], repoDir: string): BenchOptions {
  const { values } = parseArgs({
    args: argv,
    strict: true,
    options: {
      smoke: { type: 'boolean', default: false },
      only: { type: 'string', multiple: true },
      repeats: { type: 'string' },
      'large-repeats': { type: 'string' },
      timeout: { type: 'string' },
      calls: { type: 'string' },
      out: { type: 'string' },
      help: { type: 'boolean', default: false },
    },
  })
  if (values.help) {
    console.log(USAGE)
    process.exit(0)
  }
  const smoke = values.smoke ?? false
  const count = (name: string, text: string | undefined, fallback: number): number => {
    if (text === undefined) return fallback
    const value = Number(text)
    if (!Number.isInteger(value) || value < 1) throw new Error(`--${name} must be a whole number of at least 1; got "${text}"\n${USAGE}`)
    return value
  }
  const sections = (values.only ?? DEFAULT_SECTIONS).map((name) => {
    if (!(SECTIONS as readonly string[]).includes(name)) throw new Error(`--only must be one of ${SECTIONS.join(', ')}; got "${name}"\n${USAGE}`)
    return name as Section
  })
  const repeats = count('repeats', values.repeats, smoke ? 1 : 5)
  return {
    smoke,
    sections,
    repeats,
    largeRepeats: count('large-repeats', values['large-repeats'], Math.min(repeats, 3)),
    timeoutMs: count('timeout', values.timeout, 600) * 1000,
    outDir: resolve(values.out ?? repoDir),
    calls: count('calls', values.calls, smoke ? 200 : 100_000),
  }
}
