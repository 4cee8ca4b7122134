/*
 * Functions that take their arguments again on a rewind (the direct engine,
 * module.ts's ArgumentsAgain): a function only instrumented code calls,
 * directly, whose record would hold only parameters no write changes before
 * a site, writes no record when every call to it computes the arguments of
 * the first run again from restored locals; one whose record holds more
 * keeps only the rest. Each case that must keep its
 * record is built so that dropping it gives a wrong number, not only a
 * different module: a parameter written before the site, one written after
 * it in a loop around it, an argument loaded from memory the callee changes
 * before it suspends. The callers of the first two read their arguments'
 * locals after the call, so that they save them anyway and only the
 * callee's own writes decide. A function whose parameters hold the first
 * run's arguments, because its callers pass them again, passes them on
 * exactly too, even where its record does not hold them. Exports keep
 * theirs: a runtime written to Binaryen's API calls an export again without
 * its arguments.
 */
import { instantiate as asyncifyWasmInstantiate } from 'asyncify-wasm'
import { describe, expect, it } from 'vitest'
import { instantiate } from '../../src/runtime-shim/index.js'
import { prepareAsyncifyWithoutBinaryen } from '../../src/transform/direct/asyncify-fast.js'
import { later } from '../helpers/engine.js'
import { functionText, wat } from '../helpers/wat.js'

const program = wat(`(module
  (import "env" "wait" (func $wait (param i32) (result i32)))
  (type $unary (func (param i32) (result i32)))
  (memory (export "memory") 1)
  (data (i32.const 16) "\\05\\00\\00\\00\\07")
  (table 1 funcref)
  (elem (i32.const 0) $tabled)

  ;; Takes its arguments again: $flag is written only after the one site, outside any loop.
  (func $leaf (param $x i32) (param $flag i32) (result i32)
    (if (local.get $flag) (then (return (call $wait (local.get $x)))))
    (local.set $flag (i32.mul (local.get $x) (i32.const 3)))
    (local.get $flag))
  (func (export "spin") (param $n i32) (result i32)
    (local $i i32) (local $sum i32)
    (loop $next
      (local.set $sum (i32.add (i32.mul (local.get $sum) (i32.const 31))
        (call $leaf (local.get $i) (i32.and (local.get $i) (i32.const 1)))))
      (br_if $next (i32.lt_u (local.tee $i (i32.add (local.get $i) (i32.const 1))) (local.get $n))))
    (local.get $sum))

  ;; Takes its arguments again, and keeps a record for $y, which a load computed before the site.
  (func $mixed (param $x i32) (result i32)
    (local $y i32)
    (local.set $y (i32.add (i32.load (i32.const 16)) (local.get $x)))
    (i32.add (i32.add (call $wait (local.get $x)) (local.get $y)) (local.get $x)))
  (func (export "mixed") (param $n i32) (result i32)
    (local $i i32) (local $sum i32)
    (loop $next
      (local.set $sum (i32.add (local.get $sum) (call $mixed (local.get $i))))
      (br_if $next (i32.lt_u (local.tee $i (i32.add (local.get $i) (i32.const 1))) (local.get $n))))
    (local.get $sum))

  ;; Written before the site: a rewind needs the written value, not the argument.
  (func $before (param $x i32) (result i32)
    (local.set $x (i32.add (local.get $x) (i32.const 1)))
    (i32.add (call $wait (local.get $x)) (local.get $x)))
  (func (export "before") (param $x i32) (result i32)
    (i32.add (call $before (local.get $x)) (local.get $x)))

  ;; Written after the site, in the loop around it: the next round's site sees the written value.
  ;; (The sum is a global, so that the record would hold the parameter alone.)
  (global $sum (mut i32) (i32.const 0))
  (func $countdown (param $n i32) (result i32)
    (loop $next
      (global.set $sum (i32.add (call $wait (local.get $n)) (global.get $sum)))
      (br_if $next (local.tee $n (i32.sub (local.get $n) (i32.const 1)))))
    (global.get $sum))
  (func (export "countdown") (param $n i32) (result i32)
    (i32.add (call $countdown (local.get $n)) (local.get $n)))

  ;; Its argument is loaded from memory it changes before it suspends: loaded again, it would differ.
  (func $echo (param $v i32) (param $p i32) (result i32)
    (i32.store (local.get $p) (i32.const 99))
    (i32.add (call $wait (i32.const 0)) (local.get $v)))
  (func (export "loaded") (param $p i32) (result i32)
    (call $echo (i32.load (local.get $p)) (local.get $p)))

  ;; Its argument comes from a local its caller does not save: the caller would have to save more.
  (func $unsaved (param $v i32) (result i32)
    (i32.add (call $wait (i32.const 0)) (local.get $v)))
  (func (export "unsaved") (result i32)
    (local $y i32)
    (local.set $y (i32.load (i32.const 20)))
    (call $unsaved (local.get $y)))

  ;; $ping and $pong call each other, so neither is decided after all its callers: $ping keeps $n in its record,
  ;; though the export's call could pass it again, as $pong's could not (a load of what the next $pong overwrites).
  ;; $after, which only $ping calls, is decided once $ping is instrumented, and takes its argument again. ($pong
  ;; comes first, so that the cycle's members are instrumented $ping first: were the cycle ordered, $ping would be
  ;; decided before $pong's call to it was seen.)
  (func $pong (param $m i32) (result i32)
    (i32.store (i32.const 32) (local.get $m))
    (i32.mul (call $ping (i32.load (i32.const 32))) (i32.const 3)))
  (func $ping (param $n i32) (result i32)
    (if (result i32) (i32.le_s (local.get $n) (i32.const 0))
      (then (call $after (i32.add (local.get $n) (i32.const 5))))
      (else (i32.add (call $pong (i32.sub (local.get $n) (i32.const 1))) (local.get $n)))))
  (func $after (param $x i32) (result i32)
    (i32.add (call $wait (local.get $x)) (local.get $x)))
  (func (export "cycle") (param $n i32) (result i32)
    (i32.add (call $ping (local.get $n)) (local.get $n)))

  ;; What JavaScript or a table can call keeps its record: a runtime written to Binaryen's API may call an export
  ;; again without its arguments.
  (func $exported (export "exported") (param $x i32) (result i32)
    (i32.add (call $wait (i32.const 1)) (local.get $x)))
  (func $tabled (param $x i32) (result i32)
    (i32.add (call $wait (i32.const 2)) (local.get $x)))
  (func (export "indirect") (param $x i32) (result i32)
    (call_indirect (type $unary) (local.get $x) (i32.const 0)))

  ;; $relay saves nothing (its parameter only computes an argument), yet its parameter holds the first run's argument
  ;; on a rewind, computed from a local its caller restores: so $relayed takes its argument again.
  (func $relayed (param $y i32) (result i32)
    (i32.add (call $wait (local.get $y)) (local.get $y)))
  (func $relay (param $x i32) (result i32)
    (call $relayed (i32.add (local.get $x) (i32.const 1))))
  (func (export "relay") (param $n i32) (result i32)
    (i32.mul (call $relay (local.get $n)) (local.get $n)))
  ;; $rewritten writes its parameter (from memory) before the site: $relayedToo keeps its record.
  (func $relayedToo (param $y i32) (result i32)
    (i32.add (call $wait (local.get $y)) (local.get $y)))
  (func $rewritten (param $x i32) (result i32)
    (local.set $x (i32.load (i32.const 16)))
    (call $relayedToo (local.get $x)))
  (func (export "rewritten") (param $n i32) (result i32)
    (i32.add (call $rewritten (local.get $n)) (local.get $n)))
  ;; $again calls itself with an argument loaded from memory, which $again2 changes before it suspends: the inner
  ;; frame's parameter does not hold the first run's argument on a rewind, so $again2 keeps its record.
  (data (i32.const 24) "\\01\\00\\00\\00\\07")
  (func $again2 (param $y i32) (result i32)
    (i32.store (i32.const 28) (i32.const 9))
    (i32.add (call $wait (local.get $y)) (local.get $y)))
  (func $again (param $n i32) (result i32)
    (if (result i32) (i32.load (i32.const 24))
      (then
        (i32.store (i32.const 24) (i32.const 0))
        (call $again (i32.load (i32.const 28))))
      (else (call $again2 (local.get $n)))))
  (func (export "recursive") (param $n i32) (result i32)
    (i32.add (call $again (local.get $n)) (local.get $n)))
)`)

const wait = (x: number) => x * 10 + 1

/** The program's own functions: a call to any other is to a shared record helper (optimize 'z'). */
const OWN = new Set(['wait', 'leaf', 'mixed', 'before', 'countdown', 'echo', 'unsaved', 'ping', 'pong', 'after', 'exported', 'tabled', 'relayed', 'relay', 'relayedToo', 'rewritten', 'again', 'again2'])

/**
 * Whether the function writes a frame record: in place (none of these
 * functions loads from memory otherwise) or by a helper the module gained.
 */
function hasRecord(wasm: Uint8Array, name: string): boolean {
  const text = functionText(wasm, name)
  return text.includes('i32.load') || [...text.matchAll(/\(call \$([^\s)]+)/g)].some((call) => !OWN.has(call[1]!))
}

describe('functions that take their arguments again', () => {
  for (const optimize of [2, 'z'] as const) {
    it(`write no record where every call passes the first run's arguments again, and keep it elsewhere (optimize ${optimize})`, async () => {
      const result = prepareAsyncifyWithoutBinaryen(program, { imports: ['env.wait'], optimize })
      expect(result, 'the direct engine declined the module').not.toBeNull()
      const wasm = result!.wasm!
      expect(hasRecord(wasm, 'leaf')).toBe(false)
      expect(hasRecord(wasm, 'after')).toBe(false)
      expect(hasRecord(wasm, 'relayed')).toBe(false)
      // $x leaves mixed's record: nothing sets it but a restore.
      expect(hasRecord(wasm, 'mixed')).toBe(true)
      expect(functionText(wasm, 'mixed')).not.toContain('(local.set $x')
      for (const name of ['before', 'countdown', 'echo', 'unsaved', 'ping', 'exported', 'tabled', 'relayedToo', 'again2']) expect(hasRecord(wasm, name), name).toBe(true)

      const untouched = (await WebAssembly.instantiate(program as Uint8Array<ArrayBuffer>, { env: { wait } })).instance.exports as Record<string, (x: number) => number>
      const run = async () => {
        const { instance } = await instantiate(wasm, { env: { wait: (x: number) => later(wait(x)) } }, { mode: 'asyncify' })
        return instance.exports as Record<string, (x: number) => Promise<number>>
      }
      const exports = await run()
      for (const n of [1, 2, 7]) expect(await exports.spin!(n), `spin ${n}`).toBe(untouched.spin!(n))
      for (const n of [1, 3]) expect(await exports.mixed!(n), `mixed ${n}`).toBe(untouched.mixed!(n))
      expect(await exports.before!(4)).toBe(untouched.before!(4))
      expect(await exports.countdown!(3)).toBe(untouched.countdown!(3))
      for (const n of [0, 1, 4]) expect(await exports.cycle!(n), `cycle ${n}`).toBe(untouched.cycle!(n))
      expect(await exports.unsaved!(0)).toBe(untouched.unsaved!(0))
      expect(await exports.exported!(6)).toBe(untouched.exported!(6))
      expect(await exports.relay!(4)).toBe(untouched.relay!(4))
      expect(await exports.rewritten!(0)).toBe(untouched.rewritten!(0))
      expect(await exports.indirect!(8)).toBe(untouched.indirect!(8))
      // Each module's memory starts as the data segment left it.
      expect(await (await run()).loaded!(16)).toBe(untouched.loaded!(16))
      const fresh = (await WebAssembly.instantiate(program as Uint8Array<ArrayBuffer>, { env: { wait } })).instance.exports as Record<string, (x: number) => number>
      expect(await (await run()).recursive!(0)).toBe(fresh.recursive!(0))
    })
  }
})

describe('a runtime written to Binaryen\'s Asyncify API', () => {
  // asyncify-wasm calls an export again without its arguments (so does Emscripten): its data lives at 16 to 1024, which
  // this program leaves alone.
  const relays = wat(`(module
    (import "env" "wait" (func $wait (param i32) (result i32)))
    (memory (export "memory") 1)
    (func $relayed (param $y i32) (result i32)
      (i32.add (call $wait (local.get $y)) (local.get $y)))
    (func $relay (param $x i32) (result i32)
      (call $relayed (i32.add (local.get $x) (i32.const 1))))
    (func (export "relay") (param $n i32) (result i32)
      (i32.mul (call $relay (local.get $n)) (local.get $n))))`)

  it('gets the untouched module\'s numbers: exports restore their parameters from their records', async () => {
    const result = prepareAsyncifyWithoutBinaryen(relays, { imports: ['env.wait'] })
    const wasm = result!.wasm!
    expect(hasRecord(wasm, 'relayed')).toBe(false)
    const untouched = (await WebAssembly.instantiate(relays as Uint8Array<ArrayBuffer>, { env: { wait } })).instance.exports as Record<string, (x: number) => number>
    const { instance } = await asyncifyWasmInstantiate(wasm as Uint8Array<ArrayBuffer>, { env: { wait: (x: number) => later(wait(x)) } })
    const relay = instance.exports.relay as (x: number) => Promise<number>
    for (const n of [3, 7]) expect(await relay(n), `relay ${n}`).toBe(untouched.relay!(n))
  })
})
