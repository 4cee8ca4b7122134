/**
 * The C programs with their JavaScript imports, exactly as a user of the plugin
 * writes them: `init(imports)` from a `?asyncify` import, then await the
 * exports. Each run gets a fresh instance, so a game left unfinished never
 * leaks into the next one. Runs on the page or in a worker (see host.ts).
 */
import initFetch from '../wasm/fetch.wasm?asyncify'
import initGoroutines from '../wasm/goroutines.wasm?asyncify'
import initInput from '../wasm/input.wasm?asyncify'
import initSleep from '../wasm/sleep.wasm?asyncify'
import initSort from '../wasm/sort.wasm?asyncify'
import type { DemoName, Host, ProgramArgs } from './host'
import { copyIn, readText, utf8, writeCString } from './memory'

// Signatures come from the C sources; exports that can reach an async import return Promises.
type Exports = { memory: WebAssembly.Memory } & Record<string, any>

/**
 * Instantiates a program with its `env` imports plus the `print` they all share.
 * Imports exist before the instance does, so they reach its exports through a getter.
 */
async function start(
  init: typeof initSleep,
  demo: DemoName,
  host: Host,
  env: (exports: () => Exports) => Record<string, Function>,
): Promise<Exports> {
  let exports: Exports | undefined
  const current = () => exports!
  const instance = await init({
    env: {
      print: (address: number, length: number) => host.print(demo, readText(current().memory, address, length)),
      ...env(current),
    },
  })
  exports = instance.exports as Exports
  // A reactor runs libc's constructors in _initialize, before any other export.
  await exports._initialize()
  return exports
}

export const programs: { [D in DemoName]: (host: Host, ...args: ProgramArgs[D]) => Promise<number> } = {
  async sleep(host, steps, pauseMs) {
    const exports = await start(initSleep, 'sleep', host, () => ({
      sleep: (ms: number) => new Promise((resolve) => setTimeout(resolve, ms)),
      progress: (step: number, steps: number, primes: number) => host.progress(step, steps, primes),
    }))
    return exports.count_primes(steps, pauseMs)
  },

  async input(host, seed) {
    const exports = await start(initInput, 'input', host, (exports) => ({
      read_line: async (address: number, capacity: number) => {
        const line = await host.readLine()
        return writeCString(exports().memory, address, capacity, line)
      },
    }))
    return exports.play(seed)
  },

  async fetch(host, url) {
    const exports = await start(initFetch, 'fetch', host, (exports) => ({
      fetch_text: async (address: number, length: number) => {
        const path = readText(exports().memory, address, length)
        // Relative to the app's base, not to this script: in a worker they differ.
        const base = new URL(import.meta.env.BASE_URL, location.origin)
        // Asking for text, not HTML: Vite's single-page-app fallback answers an
        // unknown path that accepts HTML with index.html instead of a 404.
        const response = await fetch(new URL(path, base), { headers: { accept: 'text/plain' } }).catch(() => null)
        if (!response?.ok) return 0
        const body = new Uint8Array(await response.arrayBuffer())
        return copyIn(exports().memory, exports().alloc, body)
      },
    }))
    return exports.analyse(copyIn(exports.memory, exports.alloc, utf8(url)))
  },

  async sort(host, seed) {
    const exports = await start(initSort, 'sort', host, (exports) => {
      const values = () => {
        const { memory, values, count } = exports()
        return [...new Int32Array(memory.buffer, values(), count())]
      }
      return {
        show_compare: (i: number, j: number) => host.showCompare(values(), i, j),
        show_sorted: () => host.showSorted(values()),
      }
    })
    exports.shuffle(seed)
    return exports.sort()
  },

  async goroutines(host, items, pauseMs, ringSize, laps) {
    const exports = await start(initGoroutines, 'goroutines', host, () => ({
      sleep: (ms: number) => new Promise((resolve) => setTimeout(resolve, ms)),
    }))
    return exports.run(items, pauseMs, ringSize, laps)
  },
}
