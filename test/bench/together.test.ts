/**
 * The survey's row of several modules built at once (bench/build/together.ts)
 * needs the npm registry, so `npm test` runs it on the two small C fixtures
 * instead, once: it must run to the end and give every figure but the one
 * native has none of. The figures themselves are never judged here.
 */
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { expect, test } from 'vitest'
import { bundleNode } from '../../bench/bundle.js'
import { togetherBuilds } from '../../bench/build/together.js'
import { buildSubjects } from '../../bench/subjects.js'

test('modules built at once: time, memory and the longest block of the bundler, against native started together', async () => {
  const workDir = mkdtempSync(join(tmpdir(), 'asyncify-bench-together-'))
  try {
    const subjects = buildSubjects(true)
    const rows = await togetherBuilds(subjects, 1, await bundleNode('build/together-child.ts'), 60_000, workDir)
    expect(rows.map((row) => [row.subject, row.measure, row.unit])).toEqual([
      ['suspend.c, loop.c at once', 'cold transforms in a bundler, until the last is done', 'ms'],
      ['suspend.c, loop.c at once', "peak memory added to a bundler (native: the processes' peaks summed)", 'MB'],
      ['suspend.c, loop.c at once', "longest the bundler's event loop went without a turn", 'ms'],
    ])
    for (const row of rows) {
      const samples = row.candidate.summary!.samples
      expect(samples).toHaveLength(1)
      expect(samples.every((value) => Number.isFinite(value) && value >= 0)).toBe(true)
    }
    expect(rows.slice(0, 2).every((row) => row.ratio !== null && row.baseline.summary!.samples[0]! > 0)).toBe(true)
    expect(rows[2]!.baseline.summary).toBeNull()
  } finally {
    rmSync(workDir, { recursive: true, force: true })
  }
}, 120_000)
