/**
 * `npm start`: builds the playground for production, serves it with `vite
 * preview`, and runs every demo in Chromium (headless unless a display is
 * available), on the page and in a Web Worker, printing what each one showed.
 * Exits non-zero when a demo fails.
 */
import { rmSync } from 'node:fs'
import { relative } from 'node:path'
import { launchChromium } from './browser.js'
import { assertNoProblems, DEMO_NAMES, demos, openPlayground, type DemoResult } from './drive.js'
import { repoDir } from './paths.js'
import { buildPlayground, startPreview } from './servers.js'

const artifacts = `${repoDir}/test/artifacts/playground`
const indent = (text: string, prefix: string) => text.trimEnd().replace(/^/gm, prefix)

function print(result: DemoResult): void {
  console.log(`  ✓ ${result.demo}`)
  for (const fact of result.facts) console.log(`      ${fact}`)
  console.log(indent(result.output, '      │ '))
  console.log(`      report: ${result.report}`)
  console.log(`      screenshot: ${relative(process.cwd(), result.screenshot)}`)
}

async function main(): Promise<number> {
  console.log('Building the playground (clang, then vite build)...')
  // Vite's warnings would repeat, once per build of the page and of its worker,
  // what each demo's build report shows.
  const outDir = await buildPlayground({ logLevel: 'error' })
  const server = await startPreview(outDir)
  const headless = !process.env.DISPLAY && !process.env.WAYLAND_DISPLAY
  const browser = await launchChromium({ headless })
  console.log(`Serving ${server.url} with vite preview; Chromium ${headless ? 'headless' : 'with a window'}.`)
  let failures = 0
  try {
    for (const worker of [false, true]) {
      console.log(worker ? '\nPrograms in a Web Worker:' : "\nPrograms on the page's main thread:")
      const visit = await openPlayground(browser.context, server.url, { worker })
      for (const name of DEMO_NAMES) {
        try {
          print(await demos[name](visit.page, `${artifacts}/${worker ? 'worker' : 'page'}`))
        } catch (error) {
          failures++
          console.log(`  ✗ ${name}\n${indent(error instanceof Error ? error.message : String(error), '      ')}`)
        }
      }
      // Which builds the runtime fetched tells the path it took: JSPI where Chromium has it.
      const builds = [...new Set(visit.wasmRequests)].map((path) => (/\.jspi[-.]/.test(path) ? 'JSPI' : 'asyncified'))
      console.log(`  builds fetched: ${builds.join(', ') || 'none'}`)
      try {
        assertNoProblems(visit)
      } catch (error) {
        failures++
        console.log(indent((error as Error).message, '  ✗ '))
      }
      await visit.page.close()
    }
  } finally {
    await browser.close()
    await server.close()
    rmSync(outDir, { recursive: true, force: true })
  }
  console.log(failures === 0 ? '\nEvery demo worked.' : `\n${failures} failure(s).`)
  return failures === 0 ? 0 : 1
}

process.exitCode = await main()
