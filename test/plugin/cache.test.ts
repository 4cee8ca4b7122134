import { appendFileSync, cpSync, mkdtempSync, readdirSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join, resolve } from 'node:path'
import { pathToFileURL } from 'node:url'
import { rollup } from 'rollup'
import rollupPlugin from 'unplugin-asyncify/rollup'
import { binaryenRuns, transformCached } from '../../dist/plugin/transform.js'
import { compileC } from '../helpers/compile-c.js'
import { describe, expect, test } from 'vitest'
import { bundlers } from './bundlers.js'
import { appOptions, expectedResult, fixtures, makeApp, runMain } from './helpers.js'

describe('transform cache', () => {
  test('a second build of an unchanged app runs no Binaryen, and its output still works', async () => {
    const dir = makeApp('cache')
    const options = appOptions(join(dir, '.asyncify-cache'))
    const before = binaryenRuns.count
    await bundlers.rollup(dir, 'main', options)
    expect(binaryenRuns.count - before).toBe(2)
    const first = binaryenRuns.count
    const bundle = await bundlers.rollup(dir, 'main', options)
    expect(binaryenRuns.count).toBe(first)
    expect(await runMain(bundle)).toEqual(expectedResult())
  })

  test('the same module asked for twice at once (client and SSR environments) runs Binaryen once, each answer naming its file', async () => {
    const bytes = compileC('loop.c')
    const before = binaryenRuns.count
    const [client, server] = await Promise.all([
      transformCached(bytes, { imports: ['env.next'], filename: 'client/loop.wasm' }, null, () => {}),
      transformCached(bytes, { imports: ['env.next'], filename: 'server/loop.wasm' }, null, () => {}),
    ])
    expect(binaryenRuns.count - before).toBe(1)
    expect([client.report.filename, server.report.filename]).toEqual(['client/loop.wasm', 'server/loop.wasm'])
    expect(server.wasm).toEqual(client.wasm)
    // Once settled, a new request transforms again (without a cache there is nothing to hit).
    await transformCached(bytes, { imports: ['env.next'], filename: 'loop.wasm' }, null, () => {})
    expect(binaryenRuns.count - before).toBe(2)
  })

  test('a cache it cannot write to costs the build nothing but a warning, given once per directory', async () => {
    // A directory under a regular file: mkdir fails with ENOTDIR, even for root.
    const blocker = join(mkdtempSync(join(tmpdir(), 'asyncify-cache-')), 'file')
    writeFileSync(blocker, '')
    const cacheDir = join(blocker, 'cache')
    const options = { imports: ['env.next'], filename: 'loop.wasm' }
    const first = await transformCached(compileC('loop.c'), options, cacheDir, () => {})
    expect(first.wasm).not.toBeNull()
    expect(first.report.warnings).toEqual([expect.stringMatching(/^cannot write the transform cache in .*\/file\/cache \(ENOTDIR: .*\); this build was not cached\. Set the plugin's cacheDir option to a writable directory, or to false/)])
    const second = await transformCached(compileC('sort.c'), { imports: ['env.compare'], filename: 'sort.wasm' }, cacheDir, () => {})
    expect(second.wasm).not.toBeNull()
    expect(second.report.warnings).toEqual([])
  })

  test('a Rollup build with a cache directory it cannot write to works, and warns once, naming a module', async () => {
    const dir = makeApp('cache-unwritable')
    writeFileSync(join(dir, 'not-a-directory'), '')
    const warnings: string[] = []
    const bundle = await rollup({
      input: join(dir, 'main.js'),
      plugins: [rollupPlugin(appOptions(join(dir, 'not-a-directory', 'cache')))],
      onwarn: (warning) => void warnings.push(warning.message),
    })
    await bundle.write({ dir: join(dir, 'dist-rollup'), format: 'es' })
    await bundle.close()
    expect(await runMain(join(dir, 'dist-rollup', 'main.js'))).toEqual(expectedResult())
    const cache = warnings.filter((message) => message.includes('cannot write the transform cache'))
    expect(cache).toEqual([expect.stringMatching(/(app|other)\.wasm: cannot write the transform cache in .*not-a-directory\/cache \(ENOTDIR/)])
  })

  test('a hit returns both builds, the asyncified and the JSPI module, each with its metadata', async () => {
    const cacheDir = mkdtempSync(join(tmpdir(), 'asyncify-cache-'))
    const options = { imports: ['env.next'], filename: 'loop.wasm' }
    const fresh = await transformCached(compileC('loop.c'), options, cacheDir, () => {})
    expect(fresh.report.paths).toEqual(['asyncify', 'jspi'])
    const before = binaryenRuns.count
    const hit = await transformCached(compileC('loop.c'), options, cacheDir, () => {})
    expect(binaryenRuns.count).toBe(before)
    expect(hit).toEqual(fresh)
  })

  test('a module with the JSPI build only is cached without an asyncified one', async () => {
    const cacheDir = mkdtempSync(join(tmpdir(), 'asyncify-cache-'))
    const bytes = new Uint8Array(readFileSync(join(fixtures, 'shared-memory.wasm')))
    const options = { filename: 'shared-memory.wasm' }
    const fresh = await transformCached(bytes, options, cacheDir, () => {})
    expect(fresh.wasm).toBeNull()
    expect(fresh.jspi).not.toBeNull()
    const before = binaryenRuns.count
    expect(await transformCached(bytes, options, cacheDir, () => {})).toEqual(fresh)
    expect(binaryenRuns.count).toBe(before)
    expect(readdirSync(cacheDir).sort()).toEqual([expect.stringMatching(/^\w+\.json$/), expect.stringMatching(/^\w+\.jspi\.wasm$/)])
  })

  test('changing an option transforms again', async () => {
    const dir = makeApp('cache-options')
    const cacheDir = join(dir, '.asyncify-cache')
    await bundlers.rollup(dir, 'main', appOptions(cacheDir))
    const before = binaryenRuns.count
    await bundlers.rollup(dir, 'main', { ...appOptions(cacheDir), stackSize: 4096 })
    // Both modules take the top-level stackSize, so both miss.
    expect(binaryenRuns.count - before).toBe(2)
  })

  test('the cache is shared across bundlers: webpack after esbuild runs no Binaryen', async () => {
    const dir = makeApp('cache-shared')
    const options = appOptions(join(dir, '.asyncify-cache'))
    // Both build for Node, so `optimize: 'auto'` gives both the same level.
    await bundlers.esbuild(dir, 'main', options)
    const before = binaryenRuns.count
    const bundle = await bundlers.webpack(dir, 'main', options)
    expect(binaryenRuns.count).toBe(before)
    expect(await runMain(bundle)).toEqual(expectedResult())
  })

  test('a change to our own code under the same version misses (git dependency, npm link, a patch)', async () => {
    const root = resolve(import.meta.dirname, '../..')
    const install = (patch?: string) => {
      const dir = mkdtempSync(join(tmpdir(), 'asyncify-package-'))
      cpSync(join(root, 'dist'), join(dir, 'dist'), { recursive: true })
      cpSync(join(root, 'package.json'), join(dir, 'package.json'))
      symlinkSync(join(root, 'node_modules'), join(dir, 'node_modules'))
      if (patch) appendFileSync(join(dir, 'dist', patch), '\n// patched\n')
      return import(pathToFileURL(join(dir, 'dist/plugin/cache.js')).href) as Promise<typeof import('../../dist/plugin/cache.js')>
    }
    const bytes = new Uint8Array([0, 97, 115, 109, 1, 0, 0, 0])
    const key = async (patch?: string) => (await install(patch)).cacheKey(bytes, { imports: ['env.x'] })
    const same = await key()
    expect(await key()).toBe(same)
    expect(await key('chunks/engine.js')).not.toBe(same)
    expect(await key('runtime-shim/metadata.js')).not.toBe(same)
    expect(await key('transform/worker.js')).not.toBe(same)
    // The bundler glue shapes a transform only through its options, which the key holds.
    expect(await key('plugin/index.js')).toBe(same)
  })
})
