import { readdirSync } from 'node:fs'
import { join } from 'node:path'
import webpack, { type Configuration, type Stats } from 'webpack'
import asyncify from 'unplugin-asyncify/webpack'
import { describe, expect, test } from 'vitest'
import { appOptions, expectedResult, makeApp, runMain } from './helpers.js'

function compile(config: Configuration): Promise<Stats> {
  return new Promise((resolve, reject) => {
    webpack(config, (error, stats) => {
      if (error) return reject(error)
      if (!stats || stats.hasErrors()) return reject(new Error(stats?.toString('errors-only')))
      resolve(stats)
    })
  })
}

describe('webpack', () => {
  test('an app built by webpack runs its async wasm imports in Node', async () => {
    const dir = makeApp('webpack')
    await compile({
      mode: 'production',
      context: dir,
      entry: './main.js',
      target: 'node',
      output: { path: join(dir, 'dist'), filename: 'main.cjs', library: { type: 'commonjs2' } },
      plugins: [asyncify(appOptions())],
    })
    expect(readdirSync(join(dir, 'dist')).filter((file) => file.endsWith('.wasm'))).toHaveLength(2)
    expect(await runMain(join(dir, 'dist/main.cjs'))).toEqual(expectedResult())
  })
})
