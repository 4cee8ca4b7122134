/*
 * Small modules the direct engine builds are built in the calling thread
 * (transform/index.ts). A failure there that is not bad input must not reach
 * the caller: the worker runs the whole transform again (its own direct
 * engine, then Binaryen's pipeline). Bad input rejects at once, as the worker
 * would say it. The in-thread build is replaced here to fail on demand.
 */
import { afterEach, describe, expect, it, vi } from 'vitest'
import { AsyncifyError, asyncifyWasm } from 'unplugin-asyncify/transform'
import { instantiate } from 'unplugin-asyncify/runtime'
import { compileC } from '../helpers/compile-c.js'
import { later } from '../helpers/engine.js'

const failWith = vi.hoisted(() => ({ error: null as unknown }))

vi.mock('../../dist/transform/without-binaryen.js', async (original) => {
  const real = await original<typeof import('../../dist/transform/without-binaryen.js')>()
  return {
    ...real,
    buildWithoutBinaryen: (...args: Parameters<typeof real.buildWithoutBinaryen>) => {
      if (failWith.error !== null) throw failWith.error
      return real.buildWithoutBinaryen(...args)
    },
  }
})

afterEach(() => {
  failWith.error = null
})

describe('the in-thread build of small modules', () => {
  it('a bug in the calling thread falls to the worker, whose build runs', async () => {
    failWith.error = new TypeError('a bug in the direct engine')
    const result = await asyncifyWasm(compileC('loop.c'), { imports: ['env.next'], mode: 'asyncify', filename: 'loop.c' })
    expect(result.report.engine).toBe('direct')
    const { instance } = await instantiate(result.wasm!, { env: { next: (i: number) => later(i + 1) } })
    const exports = instance.exports as Record<string, (...args: number[]) => Promise<number>>
    const inThread = await asyncifyWasm(compileC('loop.c'), { imports: ['env.next'], mode: 'asyncify', filename: 'loop.c' })
    expect(result.wasm).toEqual(inThread.wasm)
    // sum = sum * 31 + next(i), next(i) = i + 1
    expect(await exports.sum_steps!(4)).toBe(31810)
  })

  it('bad input found in the calling thread rejects with its own error, without the worker', async () => {
    failWith.error = new AsyncifyError('ASYNCIFY_NOT_WASM', 'loop.c: a stand-in for bad input')
    await expect(asyncifyWasm(compileC('loop.c'), { imports: ['env.next'], mode: 'asyncify', filename: 'loop.c' })).rejects.toBe(failWith.error)
  })
})
