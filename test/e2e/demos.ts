/**
 * One describe block per way of serving the playground: the same four demos,
 * driven like a person, then a check that the page logged no error (which
 * includes CSP violations).
 */
import { afterAll, beforeAll, describe, expect, test } from 'vitest'
import type { BrowserContext } from 'playwright-core'
import { assertNoProblems, demos, openPlayground, wasmFetchedByPage, type Visit } from '../../scripts/playground/drive.js'
import { repoDir } from '../../scripts/playground/paths.js'

export interface Run {
  /** Names the describe block and the screenshot folder (test/artifacts/e2e/<name>/). */
  name: string
  url: () => string
  context: () => BrowserContext
  worker?: boolean
  /** Remove JSPI from the page (main-thread runs only: a worker has its own WebAssembly). */
  hideJspi?: boolean
}

/**
 * The demos' pauses (the sleeps between steps, the comparator's animation) at a
 * quarter: the sleep demo's run then lasts about a second, long enough for its
 * three clicks to land while C sleeps even in a Web Worker on a busy CI
 * machine (at a twentieth, 200 ms, the run once finished first).
 */
const TIME_SCALE = 0.25

export function describeDemos({ name, url, context, worker = false, hideJspi = false }: Run): void {
  describe(name, () => {
    let visit: Visit
    const screenshots = `${repoDir}/test/artifacts/e2e/${name.replace(/\W+/g, '-')}`
    beforeAll(async () => {
      visit = await openPlayground(context(), url(), { worker, hideJspi, timeScale: TIME_SCALE })
    })
    afterAll(async () => {
      await visit?.page.close()
    })

    test('sleep: C sleeps between steps, and the page handles clicks meanwhile', async () => {
      const result = await demos.sleep(visit.page, screenshots)
      expect(result.output).toMatch(/^Found \d+ primes below 100000\.\n$/)
    })
    test('input: the blocking C game reads each guess from the text box', async () => {
      const result = await demos.input(visit.page, screenshots)
      expect(result.output).toMatch(/Yes! It was \d+\. You found it in \d guess(es)?\.\n$/)
    })
    test('fetch: C gets the fetched file back and counts its words', async () => {
      const result = await demos.fetch(visit.page, screenshots)
      expect(result.output).toMatch(/Most frequent words:\n(  \S+ \d+\n){5}$/)
    })
    test('sort: qsort suspends inside its comparator for every animated comparison', async () => {
      const result = await demos.sort(visit.page, screenshots)
      expect(result.output).toMatch(/^Sorted:( \d+){12}\n\d+ comparisons/)
    })
    test('goroutines: a C scheduler switches between 1,000 fibers and sleeps in one of them', async () => {
      const result = await demos.goroutines(visit.page, screenshots)
      expect(result.output).toMatch(/Ring of 1000 goroutines: the token came back as 3000 after 3 laps; 0 goroutines blocked\.\n$/)
    })
    test('every demo shows the build report of its module: the async imports its C declares, and no warning', async () => {
      const declared = ['env.sleep', 'env.read_line', 'env.fetch_text', 'env.show_compare', 'env.sleep, unplugin-asyncify.fiber_switch']
      const cards = await visit.page.getByRole('region').all()
      expect(cards).toHaveLength(declared.length)
      for (const [i, card] of cards.entries()) {
        const report = await card.getByLabel('Build report').innerText()
        expect(report).toMatch(/Functions instrumented\s+\d+ of \d+/)
        expect(report).toMatch(/Size\s+[\d,]+ bytes → [\d,]+ bytes/)
        expect(report).toMatch(new RegExp(`Async imports\\s+${declared[i]!.replaceAll('.', '\\.')}(\\s|$)`))
        expect(report).not.toMatch(/Warning/)
      }
    })
    test(worker ? 'the wasm was fetched by the worker, not the page' : 'the wasm was fetched by the page', async () => {
      expect(await wasmFetchedByPage(visit.page)).toBe(!worker)
    })
    // Debian's Chromium has JSPI: the builds fetched tell which path the runtime took.
    // The goroutines demo uses fibers, which only Asyncify runs: its module has no JSPI build to fetch.
    test(hideJspi ? 'with JSPI hidden, the programs fell back to the asyncified builds' : 'the programs ran the JSPI builds, but for fibers', async () => {
      const path = hideJspi ? 'They suspend with Asyncify: this browser has no JSPI.' : "They suspend with JSPI, the engine's own stack switching."
      await visit.page.getByText(path).waitFor()
      const builds = [...new Set(visit.wasmRequests)].map((request) => ({
        program: /(sleep|input|fetch|sort|goroutines)/.exec(request)?.[1],
        build: /\.jspi[-.]/.test(request) ? 'jspi' : 'asyncify',
      }))
      expect(builds).toHaveLength(5)
      for (const { program, build } of builds) expect(build).toBe(hideJspi || program === 'goroutines' ? 'asyncify' : 'jspi')
    })
    test('the page logged no errors', () => {
      assertNoProblems(visit)
    })
  })
}
