import { join } from 'node:path'
import { binaryenRuns } from '../../dist/plugin/transform.js'
import { describe, expect, test } from 'vitest'
import { bundlers } from './bundlers.js'
import { appOptions, expectedResult, makeApp, runMain } from './helpers.js'

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

  test('changing an option transforms again', async () => {
    const dir = makeApp('cache-options')
    const cacheDir = join(dir, '.asyncify-cache')
    await bundlers.rollup(dir, 'main', appOptions(cacheDir))
    const before = binaryenRuns.count
    await bundlers.rollup(dir, 'main', { ...appOptions(cacheDir), stackSize: 4096 })
    // Both modules take the top-level stackSize, so both miss.
    expect(binaryenRuns.count - before).toBe(2)
  })

  test('the cache is shared across bundlers: webpack after Rollup runs no Binaryen', async () => {
    const dir = makeApp('cache-shared')
    const options = appOptions(join(dir, '.asyncify-cache'))
    await bundlers.rollup(dir, 'main', options)
    const before = binaryenRuns.count
    const bundle = await bundlers.webpack(dir, 'main', options)
    expect(binaryenRuns.count).toBe(before)
    expect(await runMain(bundle)).toEqual(expectedResult())
  })
})
