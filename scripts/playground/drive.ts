/**
 * Drives each playground demo the way a person would (fill fields, click,
 * type, wait for the output) and checks what it shows against answers worked
 * out here independently of the C code. Shared by `npm start` and the e2e tests.
 */
import { mkdirSync, readFileSync } from 'node:fs'
import { join } from 'node:path'
import type { BrowserContext, Locator, Page } from 'playwright-core'
import { playgroundDir } from './paths.js'

export type DemoName = 'sleep' | 'input' | 'fetch' | 'sort' | 'goroutines'

export interface DemoResult {
  demo: DemoName
  /** What the demo showed, one fact a line. */
  facts: string[]
  /** The demo's output panel, as printed by the C program. */
  output: string
  /** The demo's build report, as shown on the page. */
  report: string
  screenshot: string
}

export class DemoFailure extends Error {
  readonly code = 'PLAYGROUND_DEMO_FAILED'
}

const TIMEOUT = 30_000
const MISSING_FILE = 'texts/missing.txt'

/** Polls `locator`'s text until `accept` returns a value other than undefined. */
async function until<T>(locator: Locator, what: string, accept: (text: string) => T | undefined): Promise<T> {
  const deadline = Date.now() + TIMEOUT
  let text = ''
  for (;;) {
    text = (await locator.textContent()) ?? ''
    const value = accept(text)
    if (value !== undefined) return value
    if (Date.now() > deadline) throw new DemoFailure(`timed out after ${TIMEOUT} ms waiting for ${what}; the page shows:\n${text}`)
    await locator.page().waitForTimeout(50)
  }
}

const has = (pattern: RegExp) => (text: string) => pattern.exec(text) ?? undefined

function section(page: Page, title: string): Locator {
  return page.getByRole('region', { name: title })
}

async function finish(demo: DemoName, card: Locator, facts: string[], screenshotDir: string): Promise<DemoResult> {
  const output = (await card.getByLabel(/output$/).textContent()) ?? ''
  if (/Error:/.test(output)) throw new DemoFailure(`${demo} demo printed an error:\n${output}`)
  const view = card.getByLabel('Build report')
  const terms = await view.locator('dt').allTextContents()
  const details = await view.locator('dd').allTextContents()
  const report = terms.map((term, i) => `${term}: ${details[i]}`).join('; ')
  mkdirSync(screenshotDir, { recursive: true })
  const screenshot = join(screenshotDir, `${demo}.png`)
  await card.screenshot({ path: screenshot })
  return { demo, facts, output, report, screenshot }
}

function primesBelow(limit: number): number {
  const composite = new Uint8Array(limit)
  let count = 0
  for (let n = 2; n < limit; n++) {
    if (composite[n]) continue
    count++
    for (let m = n * n; m < limit; m += n) composite[m] = 1
  }
  return count
}

/** Demo 1: runs the prime counter and clicks the counter button while C sleeps. */
export async function driveSleep(page: Page, screenshotDir: string): Promise<DemoResult> {
  const card = section(page, '1. Sleep')
  await card.getByLabel('Steps').fill('20')
  await card.getByLabel('Pause (ms)').fill('200')
  await card.getByRole('button', { name: 'Count primes' }).click()
  const status = card.getByRole('status')
  await until(status, 'the first progress step', has(/Step \d+ of 20/))
  const counter = card.getByRole('button', { name: /^Clicked/ })
  // Three clicks in quick succession at the button, as a person's mouse makes them.
  await counter.scrollIntoViewIfNeeded()
  const box = (await counter.boundingBox())!
  for (let i = 0; i < 3; i++) await page.mouse.click(box.x + box.width / 2, box.y + box.height / 2)
  // The page says when it handled the last click: while the C loop slept between steps, not after it.
  const [, step] = await until(counter, 'the counter to show 3 clicks', has(/^Clicked 3 times(?: \(the last while C slept after step (\d+) of 20\))?$/))
  if (step === undefined) {
    throw new DemoFailure(`sleep demo: the counter updated only after the C loop finished (counter: ${await counter.textContent()}, status: ${await status.textContent()})`)
  }
  const expected = primesBelow(100_000)
  await until(card.getByLabel(/output$/), 'the prime count', has(new RegExp(`Found ${expected} primes below 100000`)))
  return finish(
    'sleep',
    card,
    [`counted ${expected} primes below 100000 in 20 steps`, `the page handled 3 clicks, the last while C slept after step ${step} of 20`],
    screenshotDir,
  )
}

/** Demo 2: plays the guessing game by bisection, after one answer that is not a number. */
export async function driveInput(page: Page, screenshotDir: string): Promise<DemoResult> {
  const card = section(page, '2. Input')
  const output = card.getByLabel(/output$/)
  const box = card.getByLabel('Your guess')
  await card.getByRole('button', { name: 'New game' }).click()
  const prompts = (text: string) => text.split('Your guess? ').length - 1
  const answer = async (line: string, promptsBefore: number) => {
    await box.fill(line)
    await box.press('Enter')
    // The game's last line can reach the page in pieces: wait for all of it.
    return until(output, `the answer to "${line}"`, (text) =>
      /Yes! It was .*\.\n?$/.test(text) || prompts(text) > promptsBefore ? text : undefined,
    )
  }
  let text = await until(output, 'the first prompt', (t) => (prompts(t) === 1 ? t : undefined))
  text = await answer('forty-two', 1)
  if (!/forty-two\nThat is not a number from 1 to 100\./.test(text)) {
    throw new DemoFailure(`input demo: "forty-two" was not refused as a guess:\n${text}`)
  }
  let low = 1
  let high = 100
  const guesses: number[] = []
  while (!/Yes! It was/.test(text)) {
    if (guesses.length === 7) throw new DemoFailure(`input demo: bisection should need at most 7 guesses:\n${text}`)
    const guess = Math.floor((low + high) / 2)
    guesses.push(guess)
    text = await answer(String(guess), prompts(text))
    const verdict = text.slice(text.lastIndexOf(`${guess}\n`))
    if (/^\d+\nToo low\./.test(verdict)) low = guess + 1
    else if (/^\d+\nToo high\./.test(verdict)) high = guess - 1
    else if (!/^\d+\nYes! It was/.test(verdict)) throw new DemoFailure(`input demo: no verdict on ${guess}:\n${text}`)
  }
  const secret = guesses.at(-1)!
  const plural = guesses.length === 1 ? 'guess' : 'guesses'
  if (!text.includes(`Yes! It was ${secret}. You found it in ${guesses.length} ${plural}.`)) {
    throw new DemoFailure(`input demo: wrong final message for ${secret} after ${guesses.length} guesses:\n${text}`)
  }
  return finish('input', card, [`refused "forty-two"`, `found ${secret} with guesses ${guesses.join(', ')}`], screenshotDir)
}

/** Counts what fetch.c counts: newlines, and words as runs of letters and apostrophes that start with a letter. */
function analyseText(text: string) {
  const words = text.toLowerCase().match(/[a-z][a-z']*/g) ?? []
  const frequency = new Map<string, number>()
  for (const word of words) frequency.set(word, (frequency.get(word) ?? 0) + 1)
  const top = Math.max(...frequency.values())
  return { bytes: Buffer.byteLength(text), lines: text.split('\n').length - 1, words: words.length, top }
}

/** Demo 3: fetches the poem, then a file that does not exist. */
export async function driveFetch(page: Page, screenshotDir: string): Promise<DemoResult> {
  const card = section(page, '3. Fetch')
  const output = card.getByLabel(/output$/)
  const url = card.getByLabel('File to fetch')
  const fetchButton = card.getByRole('button', { name: 'Fetch and count' })
  await url.fill(MISSING_FILE)
  await fetchButton.click()
  await until(output, 'the failed fetch', has(/Could not fetch texts\/missing\.txt\./))
  await url.fill('texts/the-road-not-taken.txt')
  await fetchButton.click()
  const poem = readFileSync(join(playgroundDir, 'public/texts/the-road-not-taken.txt'), 'utf8')
  const expected = analyseText(poem)
  const counts = `${expected.bytes} bytes, ${expected.lines} lines, ${expected.words} words.`
  const text = await until(output, 'the word counts', (t) => (/Most frequent words:\n(.*\n){5}/.test(t) ? t : undefined))
  if (!text.includes(counts)) throw new DemoFailure(`fetch demo: expected "${counts}" in:\n${text}`)
  const [, word, times] = text.match(/Most frequent words:\n {2}(\S+) (\d+)/) ?? []
  if (Number(times) !== expected.top) {
    throw new DemoFailure(`fetch demo: the most frequent word occurs ${expected.top} times, the page says "${word} ${times}"`)
  }
  return finish('fetch', card, ['a missing file gave "Could not fetch"', counts, `most frequent: "${word}" ${times} times`], screenshotDir)
}

/** Demo 4: sorts with the animated comparator, checking the page saw every comparison. */
export async function driveSort(page: Page, screenshotDir: string): Promise<DemoResult> {
  const card = section(page, '4. Async comparator')
  await card.getByLabel('Pause per comparison (ms)').fill('40')
  await card.getByRole('button', { name: 'Shuffle and sort' }).click()
  const status = card.getByRole('status')
  await until(status, 'an animated comparison', has(/Comparison \d+: \d+ and \d+/))
  const highlighted = await card.locator('.bar.compared').count()
  if (highlighted < 1) throw new DemoFailure('sort demo: no bar was highlighted during a comparison')
  const [, shown] = await until(status, 'the end of the sort', has(/Sorted after (\d+) comparisons/))
  const text = await until(card.getByLabel(/output$/), 'the sorted values', has(/Sorted:((?: \d+)+)\n(\d+) comparisons/))
  const values = text[1]!.trim().split(' ').map(Number)
  const bars = (await card.locator('.bar').allTextContents()).map(Number)
  if (values.length !== 12 || values.some((value, i) => i > 0 && value < values[i - 1]!)) {
    throw new DemoFailure(`sort demo: C printed values that are not sorted: ${values.join(' ')}`)
  }
  if (bars.join(' ') !== values.join(' ')) throw new DemoFailure(`sort demo: the bars show ${bars.join(' ')}, C printed ${values.join(' ')}`)
  if (text[2] !== shown) throw new DemoFailure(`sort demo: C made ${text[2]} comparisons but the page animated ${shown}`)
  return finish('sort', card, [`sorted ${values.join(' ')}`, `${shown} comparisons, each animated by the page before C continued`], screenshotDir)
}

/** Demo 5: the producer and consumer, then the token ring, checked against sums worked out here. */
export async function driveGoroutines(page: Page, screenshotDir: string): Promise<DemoResult> {
  const card = section(page, '5. Goroutines')
  const [values, ringSize, laps] = [6, 1000, 3]
  await card.getByLabel('Values').fill(String(values))
  await card.getByLabel('Producer pause (ms)').fill('100')
  await card.getByLabel('Ring size').fill(String(ringSize))
  await card.getByLabel('Laps').fill(String(laps))
  await card.getByRole('button', { name: 'Run goroutines' }).click()
  const output = await until(card.getByLabel(/output$/), 'the ring to finish', (text) => (/Ring of .*\n/.test(text) ? text : undefined))
  const squares = Array.from({ length: values }, (_, i) => (i + 1) ** 2)
  const got = [...output.matchAll(/consumer: got (\d+), total \d+/g)].map((match) => Number(match[1]))
  if (got.join(' ') !== squares.join(' ')) throw new DemoFailure(`goroutines demo: the consumer got ${got.join(' ')}, the producer sends ${squares.join(' ')}`)
  const total = squares.reduce((sum, value) => sum + value, 0)
  if (!output.includes(`Producer and consumer done: total ${total}, 0 goroutines blocked.`)) {
    throw new DemoFailure(`goroutines demo: expected a total of ${total} and no blocked goroutine:\n${output}`)
  }
  const ring = `Ring of ${ringSize} goroutines: the token came back as ${ringSize * laps} after ${laps} laps; 0 goroutines blocked.`
  if (!output.includes(ring)) throw new DemoFailure(`goroutines demo: expected "${ring}" in:\n${output}`)
  return finish('goroutines', card, [`the consumer got ${got.join(', ')} (total ${total})`, ring], screenshotDir)
}

export const demos = { sleep: driveSleep, input: driveInput, fetch: driveFetch, sort: driveSort, goroutines: driveGoroutines }

export const DEMO_NAMES = Object.keys(demos) as DemoName[]

export interface Visit {
  page: Page
  /** Page errors, console errors and CSP violations seen so far, on the page or in its worker. */
  problems: string[]
  /** Paths of the .wasm files fetched so far, by the page or its worker. */
  wasmRequests: string[]
}

/**
 * Opens the playground; `worker` runs the programs in a Web Worker (the page's
 * `?worker` mode); `hideJspi` removes JSPI from the page before its scripts
 * run, as on an engine without it; `timeScale` below 1 shortens every pause the
 * demos make to that fraction (the page's `?timescale`), still as real timers.
 */
export async function openPlayground(
  context: BrowserContext,
  url: string,
  { worker = false, hideJspi = false, timeScale = 1 } = {},
): Promise<Visit> {
  const page = await context.newPage()
  const problems: string[] = []
  const wasmRequests: string[] = []
  page.on('request', (request) => {
    const path = new URL(request.url()).pathname
    // In dev, `x.wasm?asyncify` module imports are scripts with the same path ending.
    if (path.endsWith('.wasm') && request.resourceType() === 'fetch') wasmRequests.push(path)
  })
  if (hideJspi) {
    await page.addInitScript(() => {
      const api = WebAssembly as unknown as Record<string, unknown>
      delete api.Suspending
      delete api.promising
    })
  }
  page.on('pageerror', (error) => problems.push(`page error: ${error.message}`))
  page.on('console', (message) => {
    // The fetch demo asks for a missing file on purpose; Chromium logs every 404.
    if (message.type() === 'error' && !message.location().url.endsWith(MISSING_FILE)) {
      problems.push(`console error: ${message.text()}`)
    }
  })
  await page.addInitScript(() =>
    document.addEventListener('securitypolicyviolation', (event) =>
      console.error(`CSP violation: ${event.violatedDirective} blocked ${event.blockedURI || 'inline code'}`),
    ),
  )
  const address = new URL(url)
  if (worker) address.searchParams.set('worker', '')
  if (timeScale !== 1) address.searchParams.set('timescale', String(timeScale))
  await page.goto(address.href)
  const mode = worker ? 'The programs run in a Web Worker' : "The programs run on the page's main thread"
  await page.getByText(mode).waitFor({ timeout: TIMEOUT })
  return { page, problems, wasmRequests }
}

/**
 * Whether the page itself fetched a wasm module (worker mode: only the worker
 * should). Module imports of `x.wasm?asyncify` are scripts, not fetches.
 */
export async function wasmFetchedByPage(page: Page): Promise<boolean> {
  return page.evaluate(() =>
    (performance.getEntriesByType('resource') as PerformanceResourceTiming[]).some(
      (entry) => entry.initiatorType === 'fetch' && new URL(entry.name).pathname.endsWith('.wasm'),
    ),
  )
}

export function assertNoProblems(visit: Visit): void {
  if (visit.problems.length > 0) throw new DemoFailure(`the page reported problems:\n${visit.problems.join('\n')}`)
}
