/*
 * The transform's worker pool: modules asked for at once are transformed side
 * by side, each worker with its own binaryen.js, and give what one worker
 * gives alone.
 */
import { describe, expect, it } from 'vitest'
import { resolveTransformOptions } from '../../dist/transform/options.js'
import { TransformPool } from '../../dist/transform/worker-pool.js'
import { compileC } from '../helpers/compile-c.js'

describe('the transform worker pool', () => {
  it('gives jobs started together to different workers, with the results one worker gives', async () => {
    const pool = new TransformPool(2)
    const job = (name: string) => {
      const bytes = compileC(name)
      return pool.run(bytes, resolveTransformOptions({ imports: ['env.*'], mode: 'asyncify', filename: name }))
    }
    const together = [job('sort.c'), job('loop.c')]
    expect(pool.loads).toEqual([1, 1])
    const [sort, loop] = await Promise.all(together)
    expect(pool.loads).toEqual([0, 0])
    const alone = new TransformPool(1)
    const sortAlone = await alone.run(compileC('sort.c'), resolveTransformOptions({ imports: ['env.*'], mode: 'asyncify', filename: 'sort.c' }))
    expect(sort!.wasm).toEqual(sortAlone.wasm)
    expect(loop!.report.suspendingExports).toContain('sum_steps')
  })

  it('a job that fails leaves the other worker and the next job unharmed', async () => {
    const pool = new TransformPool(2)
    const bad = pool.run(new Uint8Array([0, 0x61, 0x73, 0x6d, 1, 0, 0, 0, 0xff]), resolveTransformOptions({ filename: 'bad.wasm' }))
    const good = pool.run(compileC('loop.c'), resolveTransformOptions({ imports: ['env.next'], filename: 'loop.wasm' }))
    await expect(bad).rejects.toMatchObject({ code: 'ASYNCIFY_INVALID_WASM' })
    await expect(good).resolves.toMatchObject({ report: { suspendingExports: ['sum_steps'] } })
    await expect(pool.run(compileC('loop.c'), resolveTransformOptions({ imports: ['env.next'], filename: 'again.wasm' }))).resolves.toBeTruthy()
  })
})
