/**
 * The fixture app's main() run inside a Web Worker in Chromium, once per
 * bundler: each builds the page and the worker for the browser with its own
 * API, a small static server serves the output, and the page shows what the
 * worker posted. The worker imports `app.wasm?asyncify` (and `other.wasm`
 * through `include`), so this is the path a user takes to keep a blocking C
 * program off the main thread.
 */
import { copyFileSync, createReadStream, readdirSync, readFileSync, statSync } from 'node:fs'
import { createServer, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import { extname, join, normalize, sep } from 'node:path'
import { rspack as createRspack, type Configuration as RspackConfiguration } from '@rspack/core'
import { build as esbuild } from 'esbuild'
import { rolldown } from 'rolldown'
import { rollup } from 'rollup'
import esbuildPlugin from 'unplugin-asyncify/esbuild'
import rolldownPlugin from 'unplugin-asyncify/rolldown'
import rollupPlugin from 'unplugin-asyncify/rollup'
import rspackPlugin from 'unplugin-asyncify/rspack'
import vitePlugin from 'unplugin-asyncify/vite'
import webpackPlugin from 'unplugin-asyncify/webpack'
import { build as viteBuild } from 'vite'
import webpack, { type Configuration as WebpackConfiguration } from 'webpack'
import { afterAll, beforeAll, describe, expect, test } from 'vitest'
import type { Page } from 'playwright-core'
import { launchChromium, type Browser } from '../../scripts/playground/browser.js'
import { runCompiler, type WebpackLikeCompiler } from '../plugin/bundlers.js'
import { appOptions, buildOf, expectedResult, fixtures, makeApp, type AppResult } from '../plugin/helpers.js'

const workerFixtures = join(fixtures, 'worker')

/** The app of test/fixtures/plugin/app plus the page, the worker entry and index.html. */
function makeWorkerApp(name: string): string {
  const files = ['index.html', 'page.js', 'worker.js']
  return makeApp(`worker-${name}`, Object.fromEntries(files.map((file) => [file, readFileSync(join(workerFixtures, file))])))
}

/**
 * Only Vite processes HTML: the others get the fixture's index.html beside
 * their `page.js`. It loads page.js as a module script, which a classic
 * webpack or Rspack bundle also is; their `publicPath: 'auto'` then finds
 * its own URL through the script tag, as `document.currentScript` is null.
 */
function copyIndexHtml(outDir: string): void {
  copyFileSync(join(workerFixtures, 'index.html'), join(outDir, 'index.html'))
}

/**
 * webpack and Rspack take the same browser config: one entry, `page.js`, whose
 * `new Worker(new URL(...))` they turn into a worker chunk themselves.
 */
async function buildWebpackLike(
  dir: string,
  name: 'webpack' | 'rspack',
  compile: (config: WebpackConfiguration & RspackConfiguration) => WebpackLikeCompiler,
  plugin: unknown,
): Promise<string> {
  const outDir = join(dir, `dist-${name}`)
  await runCompiler(
    compile({
      mode: 'production',
      context: dir,
      entry: { page: './page.js' },
      target: 'web',
      output: { path: outDir, filename: '[name].js' },
      plugins: [plugin as never],
    }),
  )
  copyIndexHtml(outDir)
  return outDir
}

/**
 * Browser builds of `page.js` + `worker.js` into `dir/dist-<bundler>`, each by
 * the bundler's programmatic API; `build` returns the output directory.
 * `page.js` starts the worker with
 * `new Worker(new URL('./worker.js', import.meta.url), { type: 'module' })`;
 * `worker` says what kind of worker each bundler makes of that, for the test names.
 */
const builds: Record<string, { worker: string; build(dir: string): Promise<string> }> = {
  vite: {
    worker: "an iife bundle (Vite's default worker.format), started as a module worker",
    async build(dir: string): Promise<string> {
      const outDir = join(dir, 'dist-vite')
      // Vite follows the page's `new Worker(new URL(...))` and bundles the worker with
      // its own plugin list; the plugin adds itself there (see src/plugin/index.ts).
      await viteBuild({
        root: dir,
        configFile: false,
        logLevel: 'silent',
        base: './',
        plugins: [vitePlugin(appOptions())],
        build: { outDir, minify: false, rollupOptions: { input: join(dir, 'index.html') } },
      })
      return outDir
    },
  },

  rollup: {
    worker: 'an ES module worker (format es)',
    async build(dir: string): Promise<string> {
      const outDir = join(dir, 'dist-rollup')
      const bundle = await rollup({ input: { page: join(dir, 'page.js'), worker: join(dir, 'worker.js') }, plugins: [rollupPlugin(appOptions())] })
      try {
        await bundle.write({ dir: outDir, format: 'es', entryFileNames: '[name].js' })
      } finally {
        await bundle.close()
      }
      copyIndexHtml(outDir)
      return outDir
    },
  },

  rolldown: {
    worker: 'an ES module worker (format es)',
    async build(dir: string): Promise<string> {
      const outDir = join(dir, 'dist-rolldown')
      const bundle = await rolldown({
        input: { page: join(dir, 'page.js'), worker: join(dir, 'worker.js') },
        platform: 'browser',
        plugins: [rolldownPlugin(appOptions())],
      })
      try {
        await bundle.write({ dir: outDir, format: 'es', entryFileNames: '[name].js' })
      } finally {
        await bundle.close()
      }
      copyIndexHtml(outDir)
      return outDir
    },
  },

  esbuild: {
    worker: 'an ES module worker (format esm)',
    async build(dir: string): Promise<string> {
      const outDir = join(dir, 'dist-esbuild')
      await esbuild({
        entryPoints: [join(dir, 'page.js'), join(dir, 'worker.js')],
        bundle: true,
        format: 'esm',
        platform: 'browser',
        outdir: outDir,
        absWorkingDir: dir,
        logLevel: 'silent',
        plugins: [esbuildPlugin(appOptions())],
      })
      copyIndexHtml(outDir)
      return outDir
    },
  },

  webpack: {
    worker: 'a classic worker chunk (webpack drops type: module without output.module)',
    build: (dir: string) =>
      buildWebpackLike(dir, 'webpack', (config) => webpack(config as WebpackConfiguration), webpackPlugin(appOptions())),
  },

  rspack: {
    worker: 'a classic worker chunk (Rspack drops type: module without output.module)',
    build: (dir: string) =>
      buildWebpackLike(
        dir,
        'rspack',
        (config) => createRspack(config as RspackConfiguration) as WebpackLikeCompiler,
        rspackPlugin(appOptions()),
      ),
  },
}

const CONTENT_TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.wasm': 'application/wasm',
}

interface Served {
  url: string
  /** Every path requested, with the Content-Type it was answered with. */
  requests: { path: string; contentType: string | null }[]
  close(): Promise<void>
}

/** A static server for one output directory on 127.0.0.1, at a port the system picks. */
async function serve(root: string): Promise<Served> {
  const requests: Served['requests'] = []
  const server: Server = createServer((request, response) => {
    const path = decodeURIComponent(new URL(request.url ?? '/', 'http://x').pathname)
    const file = normalize(join(root, path.endsWith('/') ? `${path}index.html` : path))
    const inside = file.startsWith(root + sep)
    const found = inside && statSync(file, { throwIfNoEntry: false })?.isFile()
    if (!found) {
      requests.push({ path, contentType: null })
      response.writeHead(404).end()
      return
    }
    const contentType = CONTENT_TYPES[extname(file)] ?? 'application/octet-stream'
    requests.push({ path, contentType })
    response.writeHead(200, { 'Content-Type': contentType, 'Cache-Control': 'no-store' })
    createReadStream(file).pipe(response)
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const { port } = server.address() as AddressInfo
  return {
    url: `http://127.0.0.1:${port}/`,
    requests,
    close: () =>
      new Promise((resolve) => {
        // Chromium keeps its connections alive; close() alone would wait for them to time out.
        server.closeAllConnections()
        server.close(() => resolve())
      }),
  }
}

/** The `.wasm` files in a realm's resource timeline that it fetched itself. */
const wasmFetches = () =>
  (performance.getEntriesByType('resource') as PerformanceResourceTiming[])
    .filter((entry) => entry.initiatorType === 'fetch' && new URL(entry.name).pathname.endsWith('.wasm'))
    .map((entry) => new URL(entry.name).pathname)

interface Visit {
  outDir: string
  requests: Served['requests']
  message: { result?: AppResult; error?: string }
  fetchedByWorker: string[]
  fetchedByPage: string[]
}

let browser: Browser
beforeAll(async () => {
  browser = await launchChromium()
})
afterAll(async () => {
  await browser?.close()
})

for (const [bundler, { worker, build }] of Object.entries(builds)) {
  describe(`${bundler}: ${worker}`, () => {
    let served: Served | undefined
    let page: Page | undefined
    let visit: Visit
    beforeAll(async () => {
      const outDir = await build(makeWorkerApp(bundler))
      served = await serve(outDir)
      page = await browser.context.newPage()
      // A page error (a script that fails to parse, say) would otherwise only show as a missing result.
      const pageErrors: string[] = []
      page.on('pageerror', (error) => pageErrors.push(String(error)))
      await page.goto(served.url)
      try {
        await page.locator('#result[data-done]').waitFor({ timeout: 30_000 })
      } catch (error) {
        throw new Error(`${bundler}: the worker posted nothing; page errors: ${pageErrors.join('\n') || 'none'}`, { cause: error })
      }
      const message = JSON.parse(await page.locator('#result').innerText()) as Visit['message']
      const timelines = await Promise.all(page.workers().map((thread) => thread.evaluate(wasmFetches)))
      visit = { outDir, requests: served.requests, message, fetchedByWorker: timelines.flat(), fetchedByPage: await page.evaluate(wasmFetches) }
    })
    afterAll(async () => {
      await page?.close()
      await served?.close()
    })

    test('main() in the Web Worker returns what its async imports compute, and the page shows it', () => {
      expect(visit.message.error).toBeUndefined()
      expect(visit.message.result).toEqual(expectedResult())
    })

    test('the worker fetched one build of each module itself, served as application/wasm; the page fetched none', () => {
      expect(visit.fetchedByWorker).toHaveLength(2)
      expect(visit.fetchedByPage).toEqual([])
      const served = visit.requests.filter((request) => visit.fetchedByWorker.includes(request.path))
      expect(served.map((request) => request.contentType)).toEqual(['application/wasm', 'application/wasm'])
    })

    test('the builds fetched are the JSPI ones (Chromium has JSPI); the asyncified ones were emitted but never requested', () => {
      const fetched = visit.fetchedByWorker.map((path) => buildOf(readFileSync(join(visit.outDir, path))))
      expect(fetched).toEqual(['jspi', 'jspi'])
      const emitted = readdirSync(visit.outDir, { recursive: true, encoding: 'utf8' }).filter((name) => name.endsWith('.wasm'))
      expect(emitted).toHaveLength(4)
      const requested = new Set(visit.requests.map((request) => request.path))
      const unrequested = emitted.filter((name) => !requested.has(`/${name.replaceAll(sep, '/')}`))
      expect(unrequested.map((name) => buildOf(readFileSync(join(visit.outDir, name))))).toEqual(['asyncify', 'asyncify'])
    })
  })
}
