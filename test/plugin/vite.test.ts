import { cpSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs'
import { join, resolve } from 'node:path'
import { pathToFileURL } from 'node:url'
import { binaryenRuns } from '../../dist/plugin/transform.js'
import { build, createServer, type InlineConfig, type ViteDevServer } from 'vite'
import asyncify from 'unplugin-asyncify/vite'
import { afterAll, beforeAll, describe, expect, test } from 'vitest'
import { launchChromium } from '../../scripts/playground/browser.js'
import { compileC } from '../helpers/compile-c.js'
import { appOptions, buildOf, expectedResult, fixtures, jspiNode, makeApp, runMain } from './helpers.js'

/** User code that imports the runtime beside a `?asyncify` module, and needs both to be one copy. */
const ONE_RUNTIME = `
import init from './app.wasm?asyncify'
import { AsyncifyError, asyncifyStats } from 'unplugin-asyncify/runtime'
export async function main() {
  const instance = await init({ env: { sleep: async () => 0, read: async (key) => key } })
  const run = await instance.exports.run(3)
  const { mode, suspendedCalls } = asyncifyStats(instance)
  const error = await init({ env: {} }, { stackSize: -1 }).catch((e) => e)
  return { run, mode, suspendedCalls, ourError: error instanceof AsyncifyError }
}
`

const root = resolve(import.meta.dirname, '../..')

function config(dir: string, extra: InlineConfig = {}): InlineConfig {
  return { root: dir, configFile: false, logLevel: 'silent', plugins: [asyncify(appOptions())], ...extra }
}

/** A library-style client build of one entry, kept readable and named `<entry>.js`. */
function clientBuild(dir: string, entry: string, outDir: string, base: string): InlineConfig {
  return config(dir, {
    base,
    build: {
      outDir,
      minify: false,
      rollupOptions: { input: join(dir, entry), preserveEntrySignatures: 'strict', output: { entryFileNames: '[name].js' } },
    },
  })
}

describe('vite build', () => {
  test('a client build runs its async wasm imports in Node with and without JSPI, each build loaded from a hashed asset', async () => {
    const dir = makeApp('vite-client')
    await build(clientBuild(dir, 'main.js', 'dist', './'))
    expect(readdirSync(join(dir, 'dist/assets')).filter((name) => name.endsWith('.wasm')).sort()).toEqual([
      expect.stringMatching(/^app-.+\.wasm$/),
      expect.stringMatching(/^app\.jspi-.+\.wasm$/),
      expect.stringMatching(/^other-.+\.wasm$/),
      expect.stringMatching(/^other\.jspi-.+\.wasm$/),
    ])
    expect(await runMain(join(dir, 'dist/main.js'))).toEqual(expectedResult())
    expect(await runMain(join(dir, 'dist/main.js'), jspiNode)).toEqual(expectedResult())
  })

  test('the asset URL starts with an absolute base', async () => {
    const dir = makeApp('vite-base')
    await build(clientBuild(dir, 'main.js', 'dist', '/cdn/'))
    const code = readFileSync(join(dir, 'dist/main.js'), 'utf8')
    expect(code).toMatch(/"\/cdn\/assets\/app-[\w-]+\.wasm"/)
  })

  test('an SSR build runs in Node with and without JSPI, the wasm read from disk beside the server bundle', async () => {
    const dir = makeApp('vite-ssr')
    await build(config(dir, { build: { ssr: 'main.js', outDir: 'dist-ssr', minify: false } }))
    expect(readdirSync(join(dir, 'dist-ssr/assets'))).toEqual(
      expect.arrayContaining([expect.stringMatching(/^app-.+\.wasm$/), expect.stringMatching(/^app\.jspi-.+\.wasm$/)]),
    )
    expect(await runMain(join(dir, 'dist-ssr/main.js'))).toEqual(expectedResult())
    expect(await runMain(join(dir, 'dist-ssr/main.js'), jspiNode)).toEqual(expectedResult())
  })

  test('one plugin instance builds for SSR and then for the client, as frameworks and watch mode do', async () => {
    const dir = makeApp('vite-ssr-then-client')
    const plugins = [asyncify(appOptions())]
    await build({ ...config(dir, { build: { ssr: 'main.js', outDir: 'dist-ssr', minify: false } }), plugins })
    // A build that emits none of the first build's assets, then one that does again.
    await build({ ...clientBuild(dir, 'vite-coexist.js', 'dist-other', './'), plugins })
    await build({ ...clientBuild(dir, 'main.js', 'dist', './'), plugins })
    expect(await runMain(join(dir, 'dist-ssr/main.js'))).toEqual(expectedResult())
    // Only its own module's builds: none of what the SSR build emitted for other.wasm.
    expect(readdirSync(join(dir, 'dist-other/assets')).filter((name) => name.endsWith('.wasm')).sort()).toEqual([
      expect.stringMatching(/^app-.+\.wasm$/),
      expect.stringMatching(/^app\.jspi-.+\.wasm$/),
    ])
    expect(await runMain(join(dir, 'dist-other/vite-coexist.js'))).toEqual({ triple: 42, run: 0 * 1 + 1 * 2 + 2 * 3 })
    expect(await runMain(join(dir, 'dist/main.js'))).toEqual(expectedResult())
  })

  test("Vite's own ?init keeps working for a module the plugin does not claim", async () => {
    const dir = makeApp('vite-coexist')
    await build(config(dir, { build: { ssr: 'vite-coexist.js', outDir: 'dist-ssr', minify: false } }))
    expect(await runMain(join(dir, 'dist-ssr/vite-coexist.js'))).toEqual({ triple: 42, run: 0 * 1 + 1 * 2 + 2 * 3 })
  })
})

describe('vite dev server (base /sub/)', () => {
  let dir: string
  let server: ViteDevServer
  let origin: string
  const sent: unknown[] = []

  beforeAll(async () => {
    dir = makeApp('vite-dev', {
      'not-wasm.wasm': readFileSync(join(fixtures, 'not-wasm.wasm')),
      'broken.js': "import init from './not-wasm.wasm?asyncify'\nexport default init\n",
      'debug.wasm': compileC('../plugin/app.c', ['-g']),
      'debug.js': "import init from './debug.wasm?asyncify'\nexport default init\n",
    })
    server = await createServer(config(dir, { base: '/sub/', server: { port: 0, host: '127.0.0.1' } }))
    await server.listen()
    const address = server.httpServer!.address() as { port: number }
    origin = `http://127.0.0.1:${address.port}`
    const hot = server.environments.client.hot
    const send = hot.send.bind(hot)
    hot.send = ((...args: Parameters<typeof send>) => {
      sent.push(args[0])
      return send(...args)
    }) as typeof hot.send
  })

  afterAll(async () => {
    await server?.close()
  })

  /** The URL main.js imports a module by, as the browser would request it (Vite adds `?import`). */
  async function importUrl(page: string, file: string): Promise<string> {
    const code = await (await fetch(`${origin}/sub/${page}`)).text()
    const match = new RegExp(`"(/sub/${file.replace('.', '\\.')}\\?[^"]+)"`).exec(code)
    expect(match, code).not.toBeNull()
    return match![1]!
  }

  /** The URLs of a module's builds, as its JavaScript names them (the asyncified build first). */
  async function wasmUrlsOf(page: string, file: string): Promise<string[]> {
    const response = await fetch(origin + (await importUrl(page, file)))
    expect(response.status).toBe(200)
    const code = await response.text()
    const urls = [...code.matchAll(/"(\/sub\/@asyncify\/[^"]+)"/g)].map((match) => match[1]!)
    expect(urls, code).not.toEqual([])
    return urls
  }

  async function wasmUrlOf(page: string, file: string): Promise<string> {
    return (await wasmUrlsOf(page, file))[0]!
  }

  test('the page module and the wasm module are served as JavaScript', async () => {
    const page = await fetch(`${origin}/sub/main.js`)
    expect(page.status).toBe(200)
    expect(page.headers.get('content-type')).toMatch(/javascript/)
    const module = await fetch(origin + (await importUrl('main.js', 'app.wasm')))
    expect(module.headers.get('content-type')).toMatch(/javascript/)
    expect(await module.text()).toMatch(/export default function init/)
  })

  test('the dev server answers the transformed wasm with application/wasm', async () => {
    const response = await fetch(origin + (await wasmUrlOf('main.js', 'app.wasm')))
    expect(response.headers.get('content-type')).toBe('application/wasm')
    const module = await WebAssembly.compile(await response.arrayBuffer())
    expect(WebAssembly.Module.customSections(module, 'unplugin-asyncify')).toHaveLength(1)
  })

  test('both builds of a module are served, each under its own URL', async () => {
    const urls = await wasmUrlsOf('main.js', 'app.wasm')
    expect(urls).toEqual([expect.stringMatching(/\/app\.wasm$/), expect.stringMatching(/\/app\.jspi\.wasm$/)])
    const builds = await Promise.all(urls.map(async (url) => buildOf(new Uint8Array(await (await fetch(origin + url)).arrayBuffer()))))
    expect(builds).toEqual(['asyncify', 'jspi'])
  })

  test('with debug on by default in dev, both builds are served with their source map, naming the C file', async () => {
    for (const url of await wasmUrlsOf('debug.js', 'debug.wasm')) {
      const bytes = new Uint8Array(await (await fetch(origin + url)).arrayBuffer())
      const [section] = WebAssembly.Module.customSections(new WebAssembly.Module(bytes), 'sourceMappingURL')
      const dataUrl = new TextDecoder().decode(new Uint8Array(section!)).replace(/^[^d]*/, '')
      expect(dataUrl).toMatch(/^data:application\/json;base64,/)
      const map = JSON.parse(Buffer.from(dataUrl.slice(dataUrl.indexOf(',') + 1), 'base64').toString('utf8')) as { sources: string[] }
      expect(map.sources.some((source) => source.endsWith('/app.c')), url).toBe(true)
    }
  })

  test('an edit reloads without Binaryen: the JSPI build is read from the bytes, the asyncified one made on its first request', async () => {
    // A custom section of random bytes makes the input new to the shared transform cache.
    const nonce = new TextEncoder().encode(`nonce${Math.random()}`)
    const program = compileC('../plugin/app.c', ['-O1'])
    const before = await wasmUrlsOf('main.js', 'app.wasm')
    writeFileSync(join(dir, 'app.wasm'), Buffer.concat([program, Buffer.from([0, nonce.length + 1, nonce.length]), nonce]))
    const runs = binaryenRuns.count
    // Until the watcher has seen the edit, the module still names the builds of the old bytes.
    let urls = await wasmUrlsOf('main.js', 'app.wasm')
    for (let attempt = 0; attempt < 200 && (urls[1] === before[1] || !(await fetch(origin + urls[1]!)).ok); attempt++) {
      await new Promise((resolve) => setTimeout(resolve, 50))
      urls = await wasmUrlsOf('main.js', 'app.wasm')
    }
    expect(urls).not.toContain(before[0])
    const jspi = new Uint8Array(await (await fetch(origin + urls[1]!)).arrayBuffer())
    expect(buildOf(jspi)).toBe('jspi')
    expect(binaryenRuns.count).toBe(runs)
    const asyncified = new Uint8Array(await (await fetch(origin + urls[0]!)).arrayBuffer())
    expect(buildOf(asyncified)).toBe('asyncify')
    expect(binaryenRuns.count).toBe(runs + 1)
    const suspending = (bytes: Uint8Array) =>
      JSON.parse(new TextDecoder().decode(WebAssembly.Module.customSections(new WebAssembly.Module(bytes as Uint8Array<ArrayBuffer>), 'unplugin-asyncify')[0]!)).suspendingExports
    expect(suspending(jspi)).toEqual(suspending(asyncified))
    // Made once: a second request is served from memory.
    await fetch(origin + urls[0]!)
    expect(binaryenRuns.count).toBe(runs + 1)
  })

  test('SSR in dev runs the async wasm imports', async () => {
    const { main } = (await server.ssrLoadModule('/main.js')) as { main(): Promise<unknown> }
    expect(await main()).toEqual(expectedResult())
  })

  test('a transform error names the file and leaves the server running', async () => {
    await expect(server.environments.client.transformRequest('/broken.js').then(() =>
      server.environments.client.transformRequest('/not-wasm.wasm?asyncify'),
    )).rejects.toMatchObject({ code: 'ASYNCIFY_NOT_WASM', message: expect.stringContaining('not-wasm.wasm') })
    const response = await fetch(origin + (await importUrl('broken.js', 'not-wasm.wasm')))
    expect(response.status).toBe(500)
    expect(await response.text()).toContain('not-wasm.wasm')
    expect((await fetch(`${origin}/sub/main.js`)).status).toBe(200)
  })

  test('changing the .wasm re-transforms it and reloads the page', async () => {
    const before = await wasmUrlOf('main.js', 'app.wasm')
    sent.length = 0
    // Same program, different bytes: unoptimized.
    writeFileSync(join(dir, 'app.wasm'), compileC('../plugin/app.c', ['-O0']))
    let after = before
    for (let attempt = 0; attempt < 200 && after === before; attempt++) {
      await new Promise((resolve) => setTimeout(resolve, 50))
      after = await wasmUrlOf('main.js', 'app.wasm')
    }
    expect(after).not.toBe(before)
    expect(sent).toContainEqual(expect.objectContaining({ type: 'full-reload' }))
    const response = await fetch(origin + after)
    expect(response.headers.get('content-type')).toBe('application/wasm')
  })
})

describe('vite dev server, with the package installed in node_modules as a user has it', () => {
  let server: ViteDevServer
  let origin: string
  let dir: string
  let installedPlugin: typeof asyncify

  beforeAll(async () => {
    dir = makeApp('vite-installed', {
      'one-runtime.js': ONE_RUNTIME,
      'one-runtime.html': '<script type="module">import { main } from "./one-runtime.js"; window.result = main()</script>',
    })
    // A copy, not a link: Vite resolves links to where they point, outside node_modules.
    const installed = join(dir, 'node_modules/unplugin-asyncify')
    mkdirSync(installed, { recursive: true })
    cpSync(join(root, 'package.json'), join(installed, 'package.json'))
    cpSync(join(root, 'dist'), join(installed, 'dist'), { recursive: true })
    installedPlugin = ((await import(pathToFileURL(join(installed, 'dist/plugin/vite.js')).href)) as { default: typeof asyncify }).default
    server = await createServer({
      root: dir,
      configFile: false,
      logLevel: 'silent',
      plugins: [installedPlugin(appOptions())],
      server: { port: 0, host: '127.0.0.1' },
    })
    await server.listen()
    origin = server.resolvedUrls!.local[0]!.replace(/\/$/, '')
  }, 60_000)

  afterAll(async () => {
    await server?.close()
  })

  test('one runtime in SSR: the instance init gives and the errors it throws belong to the runtime user code imports', async () => {
    const { main } = (await server.ssrLoadModule('/one-runtime.js')) as { main(): Promise<unknown> }
    expect(await main()).toEqual({ run: 8, mode: 'asyncify', suspendedCalls: 0, ourError: true })
  })

  test('one runtime in the browser: the dependency optimizer does not make a second copy', async () => {
    const browser = await launchChromium()
    try {
      const page = await browser.context.newPage()
      await page.goto(`${origin}/one-runtime.html`)
      const result = await page.waitForFunction(() => (window as unknown as { result?: Promise<unknown> }).result).then((handle) => handle.jsonValue())
      expect(result).toEqual({ run: 8, mode: 'jspi', suspendedCalls: 0, ourError: true })
    } finally {
      await browser.close()
    }
  })


  test('one runtime in an SSR build of the same app', async () => {
    await build({
      root: dir,
      configFile: false,
      logLevel: 'silent',
      plugins: [installedPlugin(appOptions())],
      build: { ssr: 'one-runtime.js', outDir: 'dist-ssr', minify: false },
    })
    expect(await runMain(join(dir, 'dist-ssr/one-runtime.js'))).toEqual({ run: 8, mode: 'asyncify', suspendedCalls: 0, ourError: true })
  })
})
