// One production build of the playground, served by `vite preview` as it is
// and once more under a strict Content-Security-Policy, in Debian's Chromium.
import { rmSync } from 'node:fs'
import { afterAll, beforeAll, expect, test } from 'vitest'
import { launchChromium, type Browser } from '../../scripts/playground/browser.js'
import { buildPlayground, startPreview, type Served } from '../../scripts/playground/servers.js'
import { describeDemos } from './demos.js'

// What a strict site sends: wasm may compile, but nothing may eval JavaScript.
const CSP = "script-src 'self' 'wasm-unsafe-eval'"

let outDir: string
let plain: Served
let strict: Served
let browser: Browser

beforeAll(async () => {
  ;[outDir, browser] = await Promise.all([buildPlayground({ logLevel: 'error' }), launchChromium()])
  ;[plain, strict] = await Promise.all([
    startPreview(outDir, { logLevel: 'error' }),
    startPreview(outDir, { logLevel: 'error', headers: { 'Content-Security-Policy': CSP } }),
  ])
})
afterAll(async () => {
  await browser?.close()
  await Promise.all([plain?.close(), strict?.close()])
  if (outDir) rmSync(outDir, { recursive: true, force: true })
})

const context = () => browser.context

test('the CSP is in force on the strict server: an inline script is refused', async () => {
  const page = await browser.context.newPage()
  await page.goto(strict.url)
  const ran = await page.evaluate(() => {
    const probe = document.createElement('script')
    probe.textContent = 'window.inlineScriptRan = true'
    document.head.append(probe)
    return 'inlineScriptRan' in window
  })
  await page.close()
  expect(ran).toBe(false)
})

describeDemos({ name: 'vite preview', url: () => plain.url, context })
describeDemos({ name: 'vite preview, programs in a Web Worker', url: () => plain.url, context, worker: true })
describeDemos({ name: 'vite preview with JSPI hidden (the Asyncify fallback)', url: () => plain.url, context, hideJspi: true })
describeDemos({ name: `vite preview with CSP ${CSP}`, url: () => strict.url, context })
describeDemos({
  name: `vite preview with CSP ${CSP}, programs in a Web Worker`,
  url: () => strict.url,
  context,
  worker: true,
})
