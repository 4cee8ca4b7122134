/**
 * `npm run bench` in smoke mode (tiny counts, only small C fixtures), so the
 * suite cannot rot: it must run to the end and write every row with finite
 * figures. The figures themselves are never judged here.
 */
import { execFile } from 'node:child_process'
import { mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join, resolve } from 'node:path'
import { promisify } from 'node:util'
import { afterAll, beforeAll, describe, expect, test } from 'vitest'
import { ENGINES } from '../../bench/harness/engines.js'
import type { BenchResult } from '../../bench/report.js'
import type { Row, Side } from '../../bench/rows.js'

const repoDir = resolve(import.meta.dirname, '../..')
const TSX = join(repoDir, 'node_modules/tsx/dist/cli.mjs')
/** The engines with JSPI on by default: Node 24 and 26 and Chromium, not Node 20 and 22. */
const WITH_JSPI: string[] = ['Node 24', 'Node 26', 'Chromium']

let outDir: string
let result: BenchResult
let markdown: string

beforeAll(async () => {
  outDir = mkdtempSync(join(tmpdir(), 'asyncify-bench-smoke-'))
  await promisify(execFile)(process.execPath, [TSX, 'bench/main.ts', '--smoke', '--out', outDir], { cwd: repoDir, timeout: 110_000 })
  result = JSON.parse(readFileSync(join(outDir, 'BENCHMARKS.json'), 'utf8')) as BenchResult
  markdown = readFileSync(join(outDir, 'BENCHMARKS.md'), 'utf8')
}, 120_000)

afterAll(() => {
  rmSync(outDir, { recursive: true, force: true })
})

const finite = (value: number) => Number.isFinite(value) && value >= 0

function expectFigures(row: Row): void {
  const label = `${row.section} ${row.subject} ${row.measure} ${row.engine ?? ''}`
  for (const side of [row.candidate, row.baseline] as Side[]) {
    expect(side.summary, `${label}: ${side.label} has no figure (${side.note})`).not.toBeNull()
    expect(side.summary!.samples.every(finite), `${label}: ${side.label}`).toBe(true)
  }
  expect(row.ratio, label).not.toBeNull()
  expect([row.ratio!.median, row.ratio!.min].every(finite), label).toBe(true)
}

const keys = (section: Row['section']) =>
  result.rows.filter((row) => row.section === section).map((row) => `${row.subject} / ${row.measure} / ${row.engine ?? '-'} / ${row.candidate.label}`)

describe('npm run bench -- --smoke', () => {
  test('the build rows cover both small fixtures (cold, memory, warm) and the Vite app', () => {
    const rows = keys('build')
    for (const subject of ['suspend.c', 'loop.c']) {
      for (const measure of ['cold transform in a bundler', 'cold transform, own process', 'peak memory added to a bundler', 'peak memory, own process', 'warm rebuild (plugin cache)']) {
        expect(rows.some((key) => key.startsWith(`${subject} / ${measure} /`)), `${subject} ${measure}`).toBe(true)
      }
    }
    expect(rows.some((key) => key.startsWith('Vite app'))).toBe(true)
    // The default mode makes both builds without Binaryen's pipeline.
    for (const subject of ['suspend.c', 'loop.c']) {
      expect(rows).toContain(`${subject} / cold transform in a bundler, mode auto (the default: both builds) / - / ours (transform, mode auto, engine direct)`)
    }
  })

  test('the size rows compare both fixtures with native wasm-opt, at the default optimize, at "z" and at 3', () => {
    expect(keys('size')).toEqual([
      'suspend.c / output / input / - / ours (transform, mode asyncify, engine direct)',
      'suspend.c / output / input / - / ours (transform, mode asyncify, optimize z, engine direct)',
      'suspend.c / output / input / - / ours (transform, mode asyncify, optimize 3, engine direct)',
      'loop.c / output / input / - / ours (transform, mode asyncify, engine direct)',
      'loop.c / output / input / - / ours (transform, mode asyncify, optimize z, engine direct)',
      'loop.c / output / input / - / ours (transform, mode asyncify, optimize 3, engine direct)',
    ])
  })

  test('the round trip rows hold every path in every engine, JSPI paths where JSPI exists', () => {
    const rows = keys('roundtrip')
    for (const engine of ENGINES) {
      for (const depth of [1, 20]) {
        const at = `resolved Promise, depth ${depth} / suspension / ${engine} /`
        for (const path of ['ours, Asyncify', 'asyncify-wasm']) expect(rows, `${engine} depth ${depth} ${path}`).toContain(`${at} ${path}`)
        const jspi = [`${at} ours, JSPI`, `${at} raw JSPI`]
        for (const key of jspi) expect(rows.includes(key), key).toBe(WITH_JSPI.includes(engine))
        const against = (candidate: string) =>
          result.rows
            .filter((row) => row.subject === `resolved Promise, depth ${depth}` && row.engine === engine && row.measure === 'suspension' && row.candidate.label === candidate)
            .map((row) => row.baseline.label)
        expect(against('ours, Asyncify'), `${engine} depth ${depth}`).toEqual([
          'asyncify-wasm',
          "asyncify-wasm on native wasm-opt's build",
          'Asyncify floor (fewest JS steps, no checks)',
          'JavaScript await',
        ])
        expect(against('asyncify-wasm'), `${engine} depth ${depth}`).toEqual(['Asyncify floor (fewest JS steps, no checks)', 'JavaScript await'])
        // The plugin's default on a server, in a process of its own beside the incumbent.
        expect(against("ours, Asyncify, optimize 3 (speed over size; the plugin's default on a server)"), `${engine} depth ${depth}`).toEqual(['asyncify-wasm'])
        if (WITH_JSPI.includes(engine)) expect(against('ours, JSPI'), `${engine} depth ${depth}`).toEqual(['raw JSPI', 'asyncify-wasm'])
        // Only Node 26 counts allocated bytes.
        const allocation = result.rows.filter((row) => row.subject === `resolved Promise, depth ${depth}` && row.engine === engine && row.measure === 'allocation per suspension')
        expect(allocation.map((row) => `${row.candidate.label} / ${row.baseline.label}`), `${engine} depth ${depth}`).toEqual(
          engine === 'Node 26' ? ['ours, Asyncify / Asyncify floor (fewest JS steps, no checks)', 'ours, JSPI / raw JSPI'] : [],
        )
      }
    }
    const plainRows = (engine: string, path: string) =>
      result.rows
        .filter((row) => row.subject === 'plain value' && row.engine === engine && row.candidate.label === `${path}, async import`)
        .map((row) => row.baseline.label)
    const baselines = (path: string) => [`${path}, plain import`, `${path}, plain import in a suspending export`]
    // The same loops also run through asyncify-wasm, in the same run as ours.
    const againstIncumbent = ['asyncify-wasm, async import']
    for (const engine of ENGINES) {
      expect(plainRows(engine, 'ours, Asyncify'), engine).toEqual([...baselines('ours, Asyncify'), ...againstIncumbent])
      const suspendingPlain = result.rows.filter(
        (row) => row.subject === 'plain value' && row.engine === engine && row.candidate.label === 'ours, Asyncify, plain import in a suspending export',
      )
      expect(suspendingPlain.map((row) => row.baseline.label), engine).toEqual(['asyncify-wasm, plain import in a suspending export'])
    }
    for (const engine of WITH_JSPI) expect(plainRows(engine, 'ours, JSPI'), engine).toEqual(baselines('ours, JSPI'))
  })

  test('the compute rows compare each path, and the Asyncify build at optimize 3, with the untouched module in every engine', () => {
    const rows = keys('compute')
    for (const engine of ENGINES) {
      for (const subject of ['compute, never suspends', 'async path, no suspension', 'buffered reads on an async path, no suspension']) {
        expect(rows).toContain(`${subject} / time per run / ${engine} / ours, Asyncify`)
        expect(rows).toContain(`${subject} / time per run / ${engine} / ours, Asyncify, optimize 3 (speed over size; the plugin's default on a server)`)
      }
    }
    for (const engine of ENGINES) {
      for (const subject of ['async path, no suspension', 'buffered reads on an async path, no suspension']) {
        expect(rows.includes(`${subject} / time per run / ${engine} / ours, JSPI`), `${engine} ${subject}`).toBe(WITH_JSPI.includes(engine))
      }
    }
  })

  test('every row has finite figures on both sides and a ratio', () => {
    expect(result.rows.length).toBeGreaterThan(40)
    for (const row of result.rows) expectFigures(row)
  })

  test('BENCHMARKS.md names the machine and the versions, and renders every row', () => {
    for (const field of ['| date |', '| CPU |', '| Node |', '| binaryen.js |', '| native wasm-opt | wasm-opt version', '| Chromium | Chromium']) {
      expect(markdown).toContain(field)
    }
    const tableRows = markdown.split('\n').filter((line) => /^\| .* \| \*\*[\d.e-]+x\*\* \(min [\d.e-]+x\) \|$/.test(line))
    expect(tableRows).toHaveLength(result.rows.length)
    expect(markdown).not.toMatch(/NaN|Infinity/)
  })
})
