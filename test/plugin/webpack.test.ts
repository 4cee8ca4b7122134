import { mkdtempSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import rspackPlugin from 'unplugin-asyncify/rspack'
import webpackPlugin from 'unplugin-asyncify/webpack'
import { describe, expect, onTestFinished, test } from 'vitest'
import { bundlers } from './bundlers.js'
import { appOptions, expectedResult, makeApp, runMain } from './helpers.js'

const plugins = { webpack: webpackPlugin, rspack: rspackPlugin }

describe.each(['webpack', 'rspack'] as const)('%s', (name) => {
  test('experiments.asyncWebAssembly keeps loading the modules the plugin does not claim', async () => {
    const dir = makeApp(`coexist-${name}`)
    const bundle = await bundlers[name](dir, 'webpack-coexist', appOptions(), { experiments: { asyncWebAssembly: true } })
    expect(await runMain(bundle)).toEqual({ triple: 42, run: 0 * 1 + 1 * 2 + 2 * 3 })
  })

  test('with cacheDir: false the assets wait in a temporary directory of this build alone, removed when the compiler closes', async () => {
    // TMPDIR is what os.tmpdir() reads, so every temporary file of the build lands where the test can see it.
    const tmp = mkdtempSync(join(tmpdir(), 'asyncify-tmpdir-'))
    const previous = process.env.TMPDIR
    process.env.TMPDIR = tmp
    onTestFinished(() => {
      if (previous === undefined) delete process.env.TMPDIR
      else process.env.TMPDIR = previous
      rmSync(tmp, { recursive: true, force: true })
    })
    const duringBuild: { name: string; mode: string }[] = []
    const probe = {
      apply(compiler: { hooks: { done: { tap(name: string, callback: () => void): void } } }) {
        compiler.hooks.done.tap('probe', () => {
          for (const entry of readdirSync(tmp)) duringBuild.push({ name: entry, mode: (statSync(join(tmp, entry)).mode & 0o777).toString(8) })
        })
      },
    }
    const dir = makeApp(`scratch-${name}`)
    const options = appOptions(false)
    const bundle = await bundlers[name](dir, 'main', options, { plugins: [plugins[name](options), probe] } as object)
    // mkdtemp's name and mode: no other process or user can guess it or write into it.
    expect(duringBuild).toEqual([{ name: expect.stringMatching(/^unplugin-asyncify-\w{6}$/), mode: '700' }])
    expect(readdirSync(tmp)).toEqual([])
    expect(await runMain(bundle)).toEqual(expectedResult())
  })
})

test("webpack's persistent cache with cacheDir: false: a later build makes again the assets the closed compiler removed", async () => {
  const dir = makeApp('scratch-persistent-webpack')
  const extra = { cache: { type: 'filesystem' as const, cacheDirectory: join(dir, '.webpack-cache') } }
  for (const build of ['first', 'second']) {
    const bundle = await bundlers.webpack(dir, 'main', appOptions(false), extra)
    expect({ build, result: await runMain(bundle) }).toEqual({ build, result: expectedResult() })
  }
})

test("webpack's persistent cache with a cacheDir it cannot write to: both builds work, their assets from the scratch directory", async () => {
  const dir = makeApp('unwritable-persistent-webpack')
  // A directory under a regular file: every write into it fails with ENOTDIR, even for root.
  writeFileSync(join(dir, 'not-a-directory'), '')
  const extra = { cache: { type: 'filesystem' as const, cacheDirectory: join(dir, '.webpack-cache') } }
  for (const build of ['first', 'second']) {
    const bundle = await bundlers.webpack(dir, 'main', appOptions(join(dir, 'not-a-directory', 'cache')), extra)
    expect({ build, result: await runMain(bundle) }).toEqual({ build, result: expectedResult() })
  }
})
