// The playground in Vite's dev server, in Debian's Chromium.
import { afterAll, beforeAll } from 'vitest'
import { launchChromium, type Browser } from '../../scripts/playground/browser.js'
import { startDevServer, type Served } from '../../scripts/playground/servers.js'
import { describeDemos } from './demos.js'

let server: Served
let browser: Browser

beforeAll(async () => {
  ;[server, browser] = await Promise.all([startDevServer({ logLevel: 'error' }), launchChromium()])
})
afterAll(async () => {
  await browser?.close()
  await server?.close()
})

const url = () => server.url
const context = () => browser.context
describeDemos({ name: 'dev server', url, context })
describeDemos({ name: 'dev server, programs in a Web Worker', url, context, worker: true })
// The dev server makes the asyncified builds only when a client without JSPI asks.
describeDemos({ name: 'dev server with JSPI hidden (asyncified builds made on request)', url, context, hideJspi: true })
