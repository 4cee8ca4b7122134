import { build } from 'esbuild'
import { fileURLToPath } from 'node:url'
import type { Page } from 'playwright-core'
import { launchChromium, type Browser } from '../playground/browser.js'
import type { PageObservation, PageRun } from './chromium-page.js'
import type { Job } from './sandbox-worker.js'
import type { Runner, Sandbox, SandboxOutcome } from './sandbox.js'

/*
 * Runs the asyncified phase of each case in Debian's Chromium, on the path the
 * fuzzer's engine names (JSPI or Asyncify, both of which Chromium has), and
 * the transform and the reference in the Node sandbox as usual: so the engine
 * is checked in a real browser against the same reference runs.
 */
export class ChromiumRunner implements Runner {
  /** Pages between runs; each run has a page to itself, since lanes of the campaign run at once. */
  private readonly idle: Page[] = []

  private constructor(
    private readonly sandbox: Sandbox,
    private readonly browser: Browser,
    private readonly script: string,
    private readonly engine: 'asyncify' | 'jspi',
    private readonly seconds: number,
  ) {}

  static async start(sandbox: Sandbox, engine: 'asyncify' | 'jspi', seconds: number): Promise<ChromiumRunner> {
    const bundled = await build({
      entryPoints: [fileURLToPath(new URL('./chromium-page.ts', import.meta.url))],
      bundle: true,
      format: 'iife',
      write: false,
      logLevel: 'silent',
      // The runtime as built, as the Node runs load it.
      alias: { 'unplugin-asyncify/runtime': fileURLToPath(new URL('../../dist/runtime-shim/index.js', import.meta.url)) },
    })
    return new ChromiumRunner(sandbox, await launchChromium(), bundled.outputFiles[0]!.text, engine, seconds)
  }

  async run(job: Job): Promise<SandboxOutcome> {
    if (job.only) return this.sandbox.run(job)
    const transformed = await this.sandbox.run({ ...job, only: { phase: 'transform' } })
    if (!transformed.ok || transformed.result.transformError !== null) return transformed
    const { result } = transformed
    const request: PageRun = {
      fuzzCase: job.fuzzCase,
      original: Buffer.from(job.wasm).toString('base64'),
      transformed: Buffer.from(result.transformed!).toString('base64'),
      engine: this.engine,
    }
    let observed: PageObservation
    try {
      observed = await this.inPage(request)
    } catch (error) {
      return { ok: false, phase: 'asyncified', error: error instanceof TimeoutError ? null : String(error) }
    }
    const asyncified = { ...observed, memory: observed.memory === null ? null : new Uint8Array(Buffer.from(observed.memory, 'base64')) }
    const [declared, actual] = asyncified.pagesAtInstantiation ?? [0, 0]
    const reference = await this.sandbox.run({
      ...job,
      only: { phase: 'reference', reservedPages: actual - declared, suspendingExports: result.suspendingExports },
    })
    if (!reference.ok) return reference
    return { ok: true, result: { ...result, transformed: null, asyncified, reference: reference.result.reference } }
  }

  async close(): Promise<void> {
    await this.sandbox.close()
    await this.browser.close()
  }

  /** One run in a page of its own: a run that hangs or crashes takes its page with it. */
  private async inPage(request: PageRun): Promise<PageObservation> {
    const page = this.idle.pop() ?? (await this.openPage())
    let timer: NodeJS.Timeout | undefined
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new TimeoutError()), this.seconds * 1000)
    })
    try {
      const observed = await Promise.race([
        page.evaluate((run) => (globalThis as unknown as { fuzzRun(run: PageRun): Promise<PageObservation> }).fuzzRun(run), request),
        timeout,
      ])
      this.idle.push(page)
      return observed
    } catch (error) {
      void page.close().catch(() => {})
      throw error
    } finally {
      clearTimeout(timer)
    }
  }

  private async openPage(): Promise<Page> {
    const page = await this.browser.context.newPage()
    await page.addScriptTag({ content: this.script })
    return page
  }
}

class TimeoutError extends Error {}
