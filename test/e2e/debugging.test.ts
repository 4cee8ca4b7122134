/*
 * Source-level debugging in Debian's Chromium, through the DevTools protocol:
 * a clang program built with -g and transformed with `debug` runs on each
 * path, from the build for it and the source map that build carries; a
 * breakpoint placed at its C line through that map is hit in code that runs
 * only after a resume, and a trap's stack trace maps back to the C functions
 * and lines.
 */
import { readFileSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import { eachMapping, originalPositionFor, TraceMap } from '@jridgewell/trace-mapping'
import { build } from 'esbuild'
import type { CDPSession, Page } from 'playwright-core'
import { asyncifyWasm } from 'unplugin-asyncify/transform'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { launchChromium, type Browser } from '../../scripts/playground/browser.js'
import { compileC } from '../helpers/compile-c.js'

const SOURCE = new URL('../fixtures/c/trap.c', import.meta.url)
const lines = readFileSync(SOURCE, 'utf8').split('\n')
const lineOf = (marker: string) => lines.findIndex((line) => line.includes(`// line: ${marker}`)) + 1

interface PageGlobals {
  asyncifyRuntime: typeof import('unplugin-asyncify/runtime')
  program: Record<string, (key: number) => Promise<number>>
  result: Promise<number>
  /** Set when fetch_value's Promise settles: a pause after it is a pause after the resume. */
  resolved: boolean
}

let browser: Browser
let runtime: string
const builds: Record<'jspi' | 'asyncify', Uint8Array> = { jspi: new Uint8Array(), asyncify: new Uint8Array() }

beforeAll(async () => {
  const bundled = await build({
    stdin: { contents: `import * as runtime from 'unplugin-asyncify/runtime'; globalThis.asyncifyRuntime = runtime`, resolveDir: process.cwd() },
    bundle: true,
    format: 'iife',
    write: false,
    logLevel: 'silent',
    alias: { 'unplugin-asyncify/runtime': fileURLToPath(new URL('../../dist/runtime-shim/index.js', import.meta.url)) },
  })
  runtime = bundled.outputFiles[0]!.text
  const { wasm, jspi } = await asyncifyWasm(compileC('trap.c', ['-g']), { imports: ['env.fetch_value'], debug: true, filename: 'trap.wasm' })
  builds.jspi = jspi!.wasm
  builds.asyncify = wasm!
  browser = await launchChromium()
})

afterAll(async () => {
  await browser?.close()
})

/** A blank page with the runtime and the program's build for `mode` instantiated; the DevTools protocol session saw its scripts parse. */
async function open(mode: 'jspi' | 'asyncify'): Promise<{ page: Page; cdp: CDPSession; map: TraceMap; scriptId: string }> {
  const page = await browser.context.newPage()
  const cdp = await browser.context.newCDPSession(page)
  const parsed: { scriptId: string; url: string; sourceMapURL?: string }[] = []
  cdp.on('Debugger.scriptParsed', (event) => parsed.push(event))
  await cdp.send('Debugger.enable')
  await page.addScriptTag({ content: runtime })
  await page.evaluate(
    async ([bytes, mode]) => {
      const globals = globalThis as unknown as PageGlobals
      const settle = (resolve: (value: number) => void, value: number) => {
        globals.resolved = true
        resolve(value)
      }
      const imports = { env: { fetch_value: (key: number) => new Promise((resolve) => setTimeout(() => settle(resolve, key - 7), 10)) } }
      const { instance } = await globals.asyncifyRuntime.instantiate(new Uint8Array(bytes), imports, { mode })
      globals.program = instance.exports as PageGlobals['program']
    },
    [[...builds[mode]], mode] as const,
  )
  const find = () => parsed.find((event) => event.url.startsWith('wasm://') && event.sourceMapURL?.startsWith('data:'))
  // The protocol may report a module's parse after the page's promise settled.
  for (let tries = 0; !find() && tries < 50; tries++) await new Promise((resolve) => setTimeout(resolve, 100))
  const script = find()
  expect(script, 'the program was parsed with its source map').toBeDefined()
  const url = script!.sourceMapURL!
  const map = new TraceMap(JSON.parse(Buffer.from(url.slice(url.indexOf(',') + 1), 'base64').toString('utf8')))
  return { page, cdp, map, scriptId: script!.scriptId }
}

describe.each(['jspi', 'asyncify'] as const)('debugging the %s build in Chromium', (mode) => {
  it('a breakpoint set by C file and line is hit after the program resumed, and the paused location maps to that line', async () => {
    const { page, cdp, map, scriptId } = await open(mode)
    const line = lineOf('compute')
    // Every wasm offset the map gives for that line of trap.c; it runs only once fetch_value's Promise settled.
    const offsets: number[] = []
    eachMapping(map, (mapping) => {
      if (mapping.source?.endsWith('/trap.c') && mapping.originalLine === line) offsets.push(mapping.generatedColumn)
    })
    expect(offsets.length).toBeGreaterThan(0)
    for (const columnNumber of offsets) await cdp.send('Debugger.setBreakpoint', { location: { scriptId, lineNumber: 0, columnNumber } })
    const paused = new Promise<{ callFrames: { functionName: string; location: { columnNumber?: number } }[] }>((resolve) =>
      cdp.once('Debugger.paused', resolve),
    )
    await page.evaluate(() => {
      const globals = globalThis as unknown as PageGlobals
      globals.result = globals.program.run!(12)
    })
    const { callFrames } = await paused
    const resumed = await cdp.send('Runtime.evaluate', { expression: 'globalThis.resolved === true', returnByValue: true })
    expect(resumed.result.value, 'paused after fetch_value settled').toBe(true)
    const top = callFrames[0]!
    // DevTools names wasm functions by their name section entry, with a `$`.
    expect(top.functionName).toBe('$compute')
    const position = originalPositionFor(map, { line: 1, column: top.location.columnNumber! })
    expect([position.source?.split('/').pop(), position.line]).toEqual(['trap.c', line])
    await cdp.send('Debugger.setBreakpointsActive', { active: false })
    await cdp.send('Debugger.resume')
    await expect(page.evaluate(() => (globalThis as unknown as PageGlobals).result)).resolves.toBe((1000 / 5 + 12) * 2)
    await page.close()
  })

  it('a trap after a resume has a stack trace whose frames map to the C functions and lines', async () => {
    const { page, map } = await open(mode)
    const stack = await page.evaluate(() =>
      (globalThis as unknown as PageGlobals).program.run!(7).then(
        () => 'no trap',
        (error: Error) => error.stack ?? '',
      ),
    )
    const frames = [...stack.matchAll(/at (\S+) \(wasm:\/\/wasm\/[^:]+:wasm-function\[\d+\]:0x([0-9a-f]+)\)/g)].map(([, name, offset]) => {
      const position = originalPositionFor(map, { line: 1, column: parseInt(offset!, 16) })
      return { name, source: position.source?.split('/').pop(), line: position.line }
    })
    expect(frames.slice(0, 3)).toEqual([
      { name: 'divide', source: 'trap.c', line: lineOf('divide') },
      { name: 'compute', source: 'trap.c', line: lineOf('compute') },
      { name: 'run', source: 'trap.c', line: lineOf('run') },
    ])
    await page.close()
  })
})
