/*
 * The differential fuzzer with the build under test running in Debian's
 * Chromium: the engine's behaviour checked in a real browser, on both paths,
 * against the same reference runs as in Node.
 */
import { availableParallelism } from 'node:os'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { runCampaign, summaryLine } from '../../scripts/fuzz/campaign.js'

const campaigns = [
  { engine: 'jspi', seed: 11, modules: 100 },
  { engine: 'asyncify', seed: 12, modules: 60 },
] as const

describe('differential fuzzing in Chromium', () => {
  for (const { engine, seed, modules } of campaigns) {
    it(`${modules} random modules behave identically on the ${engine} path in Chromium, with real suspensions`, async () => {
      // The sandbox workers, which transform, copy this environment when they start.
      process.env.ASYNCIFY_FUZZ_ENGINE = engine
      const summary = await runCampaign({
        count: modules,
        seed,
        jobs: Math.min(2, availableParallelism()),
        failureDir: join(import.meta.dirname, `../artifacts/fuzz/chromium-${engine}`),
        reduceSeconds: 0,
        chromium: engine,
      })
      console.log(`Chromium, ${engine}: ${summaryLine(summary)}`)
      expect(summary.mismatches.map((mismatch) => `${mismatch.id}: ${mismatch.differences[0]} (${mismatch.replay})`)).toEqual([])
      expect(summary.suspensions).toBeGreaterThan(modules)
      for (const generator of ['ttf', 'c', 'wat'] as const) expect(summary.modules[generator]).toBeGreaterThan(modules / 5)
      const skipped = Object.values(summary.skipped).reduce((sum, n) => sum + n, 0)
      expect(skipped).toBeLessThan(modules / 10)
    }, 300_000)
  }
})
