import { readdirSync, readFileSync } from 'node:fs'
import { join } from 'node:path'
import { rollup, type RollupLog } from 'rollup'
import rollupPlugin from 'unplugin-asyncify/rollup'
import { describe, expect, test } from 'vitest'
import type { AsyncifyPluginOptions } from '../../src/plugin/options.js'
import { bundlers } from './bundlers.js'
import {
  appOptions,
  buildOf,
  ENGINE_ENTRY,
  expectedResult,
  fixtures,
  jspiNode,
  makeApp,
  runMain,
  type EngineResult,
} from './helpers.js'

/** The builds in a Rollup output directory, by asset name without its hash (`app.jspi.wasm`). */
function emitted(bundle: string): Record<string, 'asyncify' | 'jspi'> {
  const dir = join(bundle, '..', 'assets')
  return Object.fromEntries(
    readdirSync(dir)
      .filter((name) => name.endsWith('.wasm'))
      .map((name) => [name.replace(/-[\w-]+\.wasm$/, '.wasm'), buildOf(readFileSync(join(dir, name)))]),
  )
}

const run = expectedResult().run

describe('plugin option mode', () => {
  test("mode 'asyncify' emits one .wasm per module, which runs with or without JSPI", async () => {
    const dir = makeApp('mode-asyncify', { 'engine.js': ENGINE_ENTRY })
    const bundle = await bundlers.rollup(dir, 'engine', { ...appOptions(), mode: 'asyncify' })
    expect(emitted(bundle)).toEqual({ 'app.wasm': 'asyncify' })
    expect(await runMain<EngineResult>(bundle)).toEqual({ engine: 'asyncify', run, paths: ['asyncify'] })
    expect(await runMain<EngineResult>(bundle, jspiNode)).toEqual({ engine: 'asyncify', run, paths: ['asyncify'] })
  })

  test("mode 'jspi' emits one .wasm per module, which runs with JSPI; without it instantiating says what is missing", async () => {
    const dir = makeApp('mode-jspi', { 'engine.js': ENGINE_ENTRY })
    const bundle = await bundlers.rollup(dir, 'engine', { ...appOptions(), mode: 'jspi' })
    expect(emitted(bundle)).toEqual({ 'app.jspi.wasm': 'jspi' })
    expect(await runMain<EngineResult>(bundle, jspiNode)).toEqual({ engine: 'jspi', run, paths: ['jspi'] })
    await expect(runMain(bundle)).rejects.toMatchObject({
      stderr: expect.stringMatching(/app\.wasm: this build of the module needs JSPI .*build with mode "auto"/),
    })
  })

  test('overrides choose the mode per module', async () => {
    const dir = makeApp('mode-overrides')
    const options: AsyncifyPluginOptions = {
      ...appOptions(),
      mode: 'asyncify',
      overrides: { '**/other.wasm': { imports: ['env.fetch'], mode: 'jspi' } },
    }
    const bundle = await bundlers.rollup(dir, 'main', options)
    expect(emitted(bundle)).toEqual({ 'app.wasm': 'asyncify', 'other.jspi.wasm': 'jspi' })
    expect(await runMain(bundle, jspiNode)).toEqual(expectedResult())
  })

  test("in mode 'auto', a module Asyncify cannot transform is built for JSPI only, with a warning that says why", async () => {
    const dir = makeApp('mode-auto-jspi-only', {
      'shared-memory.wasm': readFileSync(join(fixtures, 'shared-memory.wasm')),
      'only-jspi.js': "import init from './shared-memory.wasm?asyncify'\nexport async function main() { await init(); return 'ran' }\n",
    })
    const warnings: RollupLog[] = []
    const build = await rollup({
      input: join(dir, 'only-jspi.js'),
      plugins: [rollupPlugin(appOptions())],
      onLog: (level, log) => void (level === 'warn' && warnings.push(log)),
    })
    try {
      await build.write({ dir: join(dir, 'dist'), format: 'es' })
    } finally {
      await build.close()
    }
    const bundle = join(dir, 'dist/only-jspi.js')
    expect(emitted(bundle)).toEqual({ 'shared-memory.jspi.wasm': 'jspi' })
    // Besides the transform's own warnings (the app's import patterns match nothing in this module).
    expect(warnings.map((log) => log.message)).toContainEqual(
      expect.stringMatching(
        /shared-memory\.wasm: built for JSPI only, so engines without JSPI \(WebAssembly\.Suspending\) cannot run it; Asyncify cannot transform it: the module uses a shared memory/,
      ),
    )
    expect(await runMain<string>(bundle, jspiNode)).toBe('ran')
    await expect(runMain(bundle)).rejects.toMatchObject({
      stderr: expect.stringMatching(/shared-memory\.wasm: this module can only run with JSPI .*because Asyncify cannot transform it: .*shared memory/),
    })
  })
})
