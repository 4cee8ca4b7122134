/*
 * Calls a function leaves quietly from (the direct engine, instrument.ts's
 * `leavesQuietly`): when a function has nothing to save, no state check
 * follows a site call after which only pure code that cannot trap runs
 * before the function returns. Unwinding, it returns what the call gave,
 * which its caller ignores. Each case that must keep its check is built so
 * that dropping it gives a wrong number or an error, not only a different
 * module: a record to write, a call or a store after the site (or after
 * the if or block it ends), a division
 * the placeholder would trap, a branch back to a loop.
 */
import { describe, expect, it } from 'vitest'
import { instantiate } from '../../src/runtime-shim/index.js'
import { prepareAsyncifyWithoutBinaryen } from '../../src/transform/direct/asyncify-fast.js'
import { later } from '../helpers/engine.js'
import { functionText, wat } from '../helpers/wat.js'

/** An export that calls `$name` with 0 to n - 1 and folds the results, as the bench's spin does. */
const loop = (name: string) => `
  (func (export "${name}") (param $n i32) (result i32)
    (local $i i32) (local $sum i32)
    (loop $next
      (local.set $sum (i32.add (i32.mul (local.get $sum) (i32.const 31)) (call $${name} (local.get $i))))
      (br_if $next (i32.lt_u (local.tee $i (i32.add (local.get $i) (i32.const 1))) (local.get $n))))
    (local.get $sum))`

const program = wat(`(module
  (import "env" "wait" (func $wait (param i32) (result i32)))
  (import "env" "bump" (func $bump))
  (type $unary (func (param i32) (result i32)))
  (memory (export "memory") 1)
  (data (i32.const 16) "\\05")
  (global $left (mut i32) (i32.const 0))
  (table (export "table") 2 funcref)
  (elem (i32.const 0) $tabled $double)

  ;; Leave quietly: the call's value returned at once, or through pure code, an if's arms, a branch out of a block.
  (func $tail (param $x i32) (result i32) (call $wait (local.get $x)))
  (func $arms (param $x i32) (result i32)
    (if (result i32) (i32.and (local.get $x) (i32.const 1))
      (then (call $wait (local.get $x)))
      (else (i32.xor (call $wait (i32.const 7)) (i32.const 12)))))
  (func $early (param $x i32) (result i32)
    (local $r i32)
    (block $out
      (br_if $out (i32.eqz (i32.and (local.get $x) (i32.const 2))))
      (local.set $r (call $wait (local.get $x)))
      (br $out))
    (i32.add (i32.mul (local.get $r) (i32.const 3)) (i32.const 1)))
  ${loop('tail')}
  ${loop('arms')}
  ${loop('early')}
  (func (export "direct") (param $x i32) (result i32) (call $wait (local.get $x)))

  ;; Keep the check: $y is in the record; a call, a store, a division, a branch back to the loop follow the site.
  (func $keeps (param $x i32) (result i32)
    (local $y i32)
    (local.set $y (i32.load (i32.const 16)))
    (i32.add (call $wait (local.get $x)) (local.get $y)))
  (func $counts (param $x i32) (result i32)
    (local $r i32)
    (local.set $r (call $wait (local.get $x)))
    (call $bump)
    (local.get $r))
  (func $stores (param $x i32) (result i32)
    (local $r i32)
    (local.set $r (call $wait (local.get $x)))
    (i32.store (i32.const 32) (i32.add (i32.load (i32.const 32)) (i32.const 1)))
    (local.get $r))
  ;; The site ends an if's arm, or branches out of a block, but the call after the if or the block is not quiet.
  (func $armCounts (param $x i32) (result i32)
    (local $r i32)
    (if (i32.and (local.get $x) (i32.const 1)) (then (local.set $r (call $wait (local.get $x)))))
    (call $bump)
    (local.get $r))
  (func $outCounts (param $x i32) (result i32)
    (local $r i32)
    (block $out
      (br_if $out (i32.eqz (i32.and (local.get $x) (i32.const 2))))
      (local.set $r (call $wait (local.get $x)))
      (br $out))
    (call $bump)
    (local.get $r))
  (func $divides (param $x i32) (result i32)
    (i32.div_u (i32.const 1000000) (call $wait (local.get $x))))
  (func $again (result i32)
    (local $r i32)
    (loop $l (result i32)
      (if (i32.ge_u (global.get $left) (i32.const 3)) (then (return (local.get $r))))
      (global.set $left (i32.add (global.get $left) (i32.const 1)))
      (local.set $r (call $wait (global.get $left)))
      (br $l)))
  ${loop('keeps')}
  ${loop('counts')}
  ${loop('stores')}
  ${loop('armCounts')}
  ${loop('outCounts')}
  ${loop('divides')}
  (func (export "again") (result i32)
    (global.set $left (i32.const 0))
    (call $again))
  (func (export "stored") (result i32) (i32.load (i32.const 32)))

  ;; The host swaps the table entry while the call waits: the rewind calls $double, which cannot suspend.
  (func $tabled (param $x i32) (result i32) (call $wait (local.get $x)))
  (func $double (param $x i32) (result i32) (i32.mul (local.get $x) (i32.const 2)))
  (func $swapped (export "swapped") (param $x i32) (result i32)
    (call_indirect (type $unary) (local.get $x) (i32.const 0)))
)`)

const wait = (x: number) => x * 10 + 1

describe('calls a function leaves quietly from', () => {
  for (const optimize of [2, 'z'] as const) {
    it(`have no state check after them when there is nothing to save, and every other call keeps its own (optimize ${optimize})`, async () => {
      const result = prepareAsyncifyWithoutBinaryen(program, { imports: ['env.wait'], optimize })
      expect(result, 'the direct engine declined the module').not.toBeNull()
      const wasm = result!.wasm!
      // None of these reads a global: one in the output is the state, which only a check (or a record's code) reads.
      for (const name of ['tail', 'arms', 'early', 'tabled']) expect(functionText(wasm, name), name).not.toContain('global.get')
      for (const name of ['counts', 'armCounts', 'outCounts', 'stores', 'divides']) expect(functionText(wasm, name), name).toContain('global.get')

      let bumps = 0
      const untouched = (await WebAssembly.instantiate(program as Uint8Array<ArrayBuffer>, { env: { wait, bump: () => bumps++ } })).instance.exports as Record<string, (x: number) => number>
      const expected = {
        tail: untouched.tail!(6),
        arms: untouched.arms!(6),
        early: untouched.early!(6),
        direct: untouched.direct!(4),
        keeps: untouched.keeps!(6),
        counts: untouched.counts!(6),
        armCounts: untouched.armCounts!(6),
        outCounts: untouched.outCounts!(6),
        bumps,
        stores: untouched.stores!(6),
        stored: untouched.stored!(0),
        divides: untouched.divides!(6),
      }
      let waits = 0
      bumps = 0
      const { instance } = await instantiate(
        wasm,
        {
          env: {
            wait: (x: number) => {
              // A check left out wrongly can call it again and again while unwinding: fail, not run out of memory.
              if (++waits > 100) throw new Error('wait called while unwinding')
              return later(wait(x))
            },
            bump: () => bumps++,
          },
        },
        { mode: 'asyncify' },
      )
      const exports = instance.exports as Record<string, (...args: number[]) => Promise<number>>
      expect(await exports.tail!(6)).toBe(expected.tail)
      expect(await exports.arms!(6)).toBe(expected.arms)
      expect(await exports.early!(6)).toBe(expected.early)
      expect(await exports.direct!(4)).toBe(expected.direct)
      expect(await exports.keeps!(6)).toBe(expected.keeps)
      expect(await exports.counts!(6)).toBe(expected.counts)
      expect(await exports.armCounts!(6)).toBe(expected.armCounts)
      expect(await exports.outCounts!(6)).toBe(expected.outCounts)
      expect(bumps).toBe(expected.bumps)
      expect(await exports.stores!(6)).toBe(expected.stores)
      expect(await exports.stored!()).toBe(expected.stored)
      expect(await exports.divides!(6)).toBe(expected.divides)
      waits = 0
      expect(await exports.again!()).toBe(31)
      expect(waits).toBe(3)
    })
  }

  it('a quiet call that returns while still rewinding ends the export with ASYNCIFY_REWIND_MISMATCH', async () => {
    const result = prepareAsyncifyWithoutBinaryen(program, { imports: ['env.wait'], optimize: 2 })
    const wasm = result!.wasm!
    expect(functionText(wasm, 'swapped')).not.toContain('global.get')
    let table: WebAssembly.Table | undefined
    const env = {
      wait: (x: number) =>
        new Promise<number>((resolve) => {
          table!.set(0, table!.get(1))
          setTimeout(() => resolve(x))
        }),
      bump: () => {},
    }
    const { instance } = await instantiate(wasm, { env }, { mode: 'asyncify' })
    const exports = instance.exports as { table: WebAssembly.Table; swapped: (x: number) => Promise<number> }
    table = exports.table
    await expect(exports.swapped(5)).rejects.toMatchObject({ code: 'ASYNCIFY_REWIND_MISMATCH' })
  })
})
