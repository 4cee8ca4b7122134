/*
 * What the direct engine saves at an unwind and restores at a rewind, in a
 * clang-compiled program: frames that keep i32, i64, f32 and f64 locals
 * across several suspensions each, at several depths, give what the program
 * gives with the import answering at once.
 */
import { describe, expect, it } from 'vitest'
import { instantiate } from '../../src/runtime-shim/index.js'
import { prepareAsyncifyWithoutBinaryen } from '../../src/transform/direct/asyncify-fast.js'
import { compileC } from '../helpers/compile-c.js'
import { later } from '../helpers/engine.js'

const next = (i: number) => (Math.imul(i, 7) + 3) | 0

/** What `run` and `run_wide` return in the input, with `next` answering at once. */
function reference(input: Uint8Array, depth: number) {
  const exports = new WebAssembly.Instance(new WebAssembly.Module(input as Uint8Array<ArrayBuffer>), { env: { next } }).exports as Record<
    string,
    (depth: number) => unknown
  >
  return { run: exports.run!(depth), wide: exports.run_wide!(depth) }
}

async function suspended(wasm: Uint8Array, depth: number) {
  let suspensions = 0
  const imports = { env: { next: (i: number) => (suspensions++, later(next(i))) } }
  const { instance } = await instantiate(wasm, imports, { mode: 'asyncify' })
  const exports = instance.exports as Record<string, (depth: number) => Promise<unknown>>
  const result = { run: await exports.run!(depth), wide: await exports.run_wide!(depth) }
  return { result, suspensions }
}

describe('saved locals', () => {
  it('i32, i64, f32 and f64 locals come back at every depth, after every suspension', async () => {
    const input = compileC('saved-locals.c')
    const built = prepareAsyncifyWithoutBinaryen(input, { imports: ['env.next'] })!
    expect(built.report.engine).toBe('direct')
    for (const depth of [0, 1, 5, 30]) {
      const { result, suspensions } = await suspended(built.wasm!, depth)
      expect(result).toEqual(reference(input, depth))
      // mixed: three per frame and one at the bottom; wide: one per frame and one at the bottom.
      expect(suspensions).toBe(3 * (depth + 1) + 1 + (depth + 2))
    }
  })
})
