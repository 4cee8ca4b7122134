/*
 * Modules with several memories: the runtime keeps suspended state in memory
 * 0, so Asyncify must write it there too, whichever memory 0 is (defined,
 * imported, named). Each build runs against the untouched module with a
 * synchronous import, on both paths, and the second memory must come out
 * byte for byte as the reference leaves it. Node 20 cannot instantiate
 * multi-memory modules, so `npm test` runs this file under Node 26 only
 * (vitest.jspi.config.ts); both paths run there.
 */
import { describe, expect, it } from 'vitest'
import { asyncified, later, type Engine } from '../helpers/engine.js'
import { wat } from '../helpers/wat.js'

/** memory 0 as declared by each variant; `$side` is memory 1 in all of them. */
const MEMORY_ZERO = {
  defined: '(memory 1)',
  named: '(memory $heap 1)',
  imported: '(import "env" "heap" (memory 1))',
}

const module = (memoryZero: string) => `(module
  (import "env" "wait" (func $wait (param i32) (result i32)))
  ${memoryZero}
  (memory $side 1)
  (export "side" (memory $side))
  ;; Fills the second memory with a pattern that any stray write would break.
  (func (export "fill")
    (local $i i32)
    (loop $next
      (i32.store $side (i32.shl (local.get $i) (i32.const 2)) (i32.mul (local.get $i) (i32.const -1640531535)))
      (local.set $i (i32.add (local.get $i) (i32.const 1)))
      (br_if $next (i32.lt_u (local.get $i) (i32.const 16384)))))
  ;; Recurses n frames deep with a word of the second memory in each, waits at
  ;; the bottom, then writes its sum back over the word it read.
  (func $sum (export "sum") (param $n i32) (result i32)
    (local $v i32) (local $r i32)
    (if (result i32) (i32.eqz (local.get $n))
      (then (call $wait (i32.const 7)))
      (else
        (local.set $v (i32.load $side (i32.shl (local.get $n) (i32.const 6))))
        (local.set $r (i32.add (local.get $v) (call $sum (i32.sub (local.get $n) (i32.const 1)))))
        (i32.store $side (i32.shl (local.get $n) (i32.const 6)) (local.get $r))
        (local.get $r)))))`

function heap(variant: keyof typeof MEMORY_ZERO): WebAssembly.Imports['env'] {
  return variant === 'imported' ? { heap: new WebAssembly.Memory({ initial: 1 }) } : {}
}

/** What the untouched module gives with a synchronous import: results of `sum` for each n, and the second memory. */
async function reference(bytes: Uint8Array, variant: keyof typeof MEMORY_ZERO, depths: number[]) {
  const { instance } = await WebAssembly.instantiate(bytes as Uint8Array<ArrayBuffer>, {
    env: { ...heap(variant), wait: (x: number) => x * 3 },
  })
  const exports = instance.exports as Record<string, any>
  exports.fill()
  const results = depths.map((n) => exports.sum(n))
  return { results, side: new Uint8Array((exports.side as WebAssembly.Memory).buffer).slice() }
}

describe.each(['asyncify', 'jspi'] as Engine[])('several memories, %s path', (on) => {
  it.each(Object.keys(MEMORY_ZERO) as (keyof typeof MEMORY_ZERO)[])('memory 0 %s: suspended state stays out of the second memory', async (variant) => {
    const bytes = wat(module(MEMORY_ZERO[variant]), ['MultiMemory'])
    const depths = [1, 40, 3, 200, 0, 17]
    const expected = await reference(bytes, variant, depths)
    const { exports, report } = await asyncified(
      bytes,
      { imports: ['env.wait'] },
      { env: { ...heap(variant), wait: (x: number) => later(x * 3) } },
      undefined,
      on,
    )
    expect(report.paths).toEqual(['asyncify', 'jspi'])
    exports.fill()
    const results: number[] = []
    for (const n of depths) results.push(await exports.sum(n))
    expect(results).toEqual(expected.results)
    expect(new Uint8Array((exports.side as WebAssembly.Memory).buffer)).toEqual(expected.side)
  })

  it('overlapping calls each get their own result', async () => {
    const bytes = wat(module(MEMORY_ZERO.defined), ['MultiMemory'])
    const { exports } = await asyncified(bytes, { imports: ['env.wait'] }, { env: { wait: (x: number) => later(x * 3, 5) } }, undefined, on)
    // With the second memory all zero each call's sum is the waited value, 21, at any depth.
    const results = await Promise.all([exports.sum(30), exports.sum(5), exports.sum(120)])
    expect(results).toEqual([21, 21, 21])
  })
})
