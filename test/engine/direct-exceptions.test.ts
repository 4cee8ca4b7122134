/*
 * Legacy exception handling in the direct engine (instrument.ts, liveness.ts):
 * a try body is a frame a rewind enters; what a handler reads is saved at
 * every site an exception could leave for it, the resumed call included;
 * handlers are never rewound into. Each case compares the asyncified module,
 * its import settling later, with the untouched module calling the same
 * import synchronously: a local a handler needs and the record missed gives
 * a wrong number, not only a different module.
 */
import { describe, expect, it } from 'vitest'
import type { AsyncifyError } from '../../src/runtime-shim/errors.js'
import { instantiate } from '../../src/runtime-shim/index.js'
import { prepareAsyncifyWithoutBinaryen } from '../../src/transform/direct/asyncify-fast.js'
import { later } from '../helpers/engine.js'
import { wat } from '../helpers/wat.js'

const program = wat(
  `(module
  (import "env" "wait" (func $wait (param i32) (result i32)))
  (type $unary (func (param i32) (result i32)))
  (tag $oops (param i32))
  (memory (export "memory") 1)
  (table 1 funcref)
  (elem (i32.const 0) $risky)
  ;; Each call takes the next ticket before it waits: a local holding one is not computed again on a rewind.
  (global $tickets (mut i32) (i32.const 0))
  (func $ticket (result i32)
    (global.set $tickets (i32.add (global.get $tickets) (i32.const 1)))
    (global.get $tickets))

  ;; Waits for x, then throws $oops with the value when it is negative.
  (func $risky (param $x i32) (result i32)
    (local $v i32)
    (local.set $v (call $wait (local.get $x)))
    (if (i32.lt_s (local.get $v) (i32.const 0)) (then (throw $oops (local.get $v))))
    (local.get $v))

  ;; $before is read only by the handler: it must be in the record.
  (func (export "guarded") (param $x i32) (result i32)
    (local $before i32)
    (local.set $before (i32.mul (call $ticket) (i32.const 100)))
    (try (result i32)
      (do (i32.add (call $risky (local.get $x)) (i32.const 1)))
      (catch $oops (i32.add (local.get $before)))))

  ;; The import's own failure (a JavaScript exception) reaches catch_all, which keeps a local and rethrows.
  (func (export "cleanup") (param $x i32) (result i32)
    (local $keep i32)
    (local.set $keep (i32.add (call $ticket) (i32.const 7)))
    (try $t
      (do (drop (call $wait (local.get $x))))
      (catch_all
        (i32.store (i32.const 0) (local.get $keep))
        (rethrow $t)))
    (local.get $keep))

  ;; A try that delegates to the one around it, a value below the inner try on the stack.
  (func (export "delegated") (param $x i32) (result i32)
    (local $a i32)
    (local.set $a (i32.sub (call $ticket) (local.get $x)))
    (try $outer (result i32)
      (do
        (i32.add
          (local.get $x)
          (block (result i32)
            (try (result i32)
              (do (call $risky (local.get $x)))
              (delegate $outer)))))
      (catch $oops (i32.mul (local.get $a)))))

  ;; A loop whose every round waits in a try and may catch; the sum is live across both.
  (func (export "rounds") (param $n i32) (result i32)
    (local $i i32) (local $sum i32)
    (loop $next
      (try
        (do (local.set $sum (i32.add (local.get $sum) (call $risky (i32.sub (local.get $i) (i32.const 1))))))
        (catch $oops (drop (pop i32)) (local.set $sum (i32.sub (local.get $sum) (i32.mul (i32.const 1000) (local.get $i))))))
      (br_if $next (i32.lt_u (local.tee $i (i32.add (local.get $i) (i32.const 1))) (local.get $n))))
    (local.get $sum))

  ;; Called only directly, so it may take its argument again on a rewind; but its handler writes the
  ;; parameter before the second wait, after which it is read: it must stay in the record.
  (func $rewritten (param $p i32) (result i32)
    (try
      (do (drop (call $risky (local.get $p))))
      (catch $oops (local.set $p (i32.mul (pop i32) (i32.const 7)))))
    (i32.add (call $wait (i32.const 1)) (local.get $p)))
  (func (export "relay") (param $x i32) (result i32)
    (i32.sub (call $rewritten (local.get $x)) (local.get $x)))

  ;; The if's condition reads $k, which a handler in its arm writes before the wait: a rewind must not compute it again.
  (func (export "condition") (param $x i32) (result i32)
    (local $k i32)
    (local.set $k (call $ticket))
    (if (result i32) (i32.and (local.get $k) (i32.const 1))
      (then
        (try
          (do (throw $oops (local.get $x)))
          (catch $oops (drop (pop i32)) (local.set $k (i32.const 2))))
        (i32.add (call $wait (local.get $x)) (local.get $k)))
      (else (i32.sub (call $wait (local.get $x)) (local.get $k)))))

  ;; A suspension inside a handler, through an indirect call: no runtime can resume there.
  (func (export "inHandler") (param $x i32) (result i32)
    (try (result i32)
      (do (throw $oops (local.get $x)))
      (catch $oops (call_indirect (type $unary) (i32.const 0)))))
)`,
  ['ExceptionHandling'],
)

const wait = (x: number) => (x === 13 ? fail() : x * 3)
const fail = (): never => {
  throw new Error('wait failed')
}

describe('legacy exception handling in the direct engine', () => {
  for (const optimize of [2, 'z'] as const) {
    it(`gives the untouched module's results when exceptions cross suspensions (optimize ${optimize})`, async () => {
      const result = prepareAsyncifyWithoutBinaryen(program, { imports: ['env.wait'], optimize })
      expect(result, 'the direct engine declined the module').not.toBeNull()

      const untouched = (await WebAssembly.instantiate(program as Uint8Array<ArrayBuffer>, { env: { wait } })).instance.exports as Record<string, CallableFunction> & { memory: WebAssembly.Memory }
      const run = (name: string, x: number) => {
        try {
          return (untouched[name] as (x: number) => number)(x)
        } catch (error) {
          return error instanceof Error ? error.message : 'a wasm exception'
        }
      }
      const inputs = [4, -3, 0, 13, -8]
      const expected = Object.fromEntries(['guarded', 'delegated', 'relay', 'condition'].map((name) => [name, inputs.map((x) => run(name, x))]))
      expected.rounds = [run('rounds', 0), run('rounds', 3), run('rounds', 7)]
      expected.cleanup = [run('cleanup', 2), run('cleanup', 13)]
      const stored = new Int32Array(untouched.memory.buffer)[0]
      expect(stored).toBeGreaterThan(7)

      const { instance } = await instantiate({ asyncify: result!.wasm! }, { env: { wait: (x: number) => later(0, x % 3).then(() => wait(x)) } }, { name: 'exceptions.wasm' })
      const exports = instance.exports as Record<string, (x: number) => Promise<number>> & { memory: WebAssembly.Memory }
      const settle = (call: Promise<number>) => call.then((value) => value, (error: unknown) => (error instanceof Error ? error.message : 'a wasm exception'))
      // Overlapping calls, finishing out of order.
      const actual: Record<string, unknown[]> = {}
      for (const name of ['guarded', 'delegated', 'relay', 'condition']) actual[name] = await Promise.all(inputs.map((x) => settle(exports[name]!(x))))
      actual.rounds = await Promise.all([0, 3, 7].map((n) => settle(exports.rounds!(n))))
      actual.cleanup = [await settle(exports.cleanup!(2)), await settle(exports.cleanup!(13))]
      expect(actual).toEqual(expected)
      expect(new Int32Array(exports.memory.buffer)[0]).toBe(stored)
    })
  }

  it('refuses a suspension inside a handler at run time, with a code', async () => {
    const result = prepareAsyncifyWithoutBinaryen(program, { imports: ['env.wait'] })
    const { instance } = await instantiate({ asyncify: result!.wasm! }, { env: { wait: (x: number) => later(x) } }, { name: 'exceptions.wasm' })
    const error = (await (instance.exports.inHandler as (x: number) => Promise<number>)(5).catch((e: unknown) => e)) as AsyncifyError
    expect(error.code).toBe('ASYNCIFY_UNSUPPORTED_SUSPENSION')
  })

  it('refuses a direct call that can suspend inside a handler at build time, by name', () => {
    const direct = wat(
      `(module
        (import "env" "wait" (func $wait (param i32) (result i32)))
        (tag $oops (param i32))
        (memory 1)
        (func $recover (export "recover") (param $x i32) (result i32)
          (try (result i32)
            (do (throw $oops (local.get $x)))
            (catch $oops (call $wait)))))`,
      ['ExceptionHandling'],
    )
    let refused: unknown = null
    try {
      prepareAsyncifyWithoutBinaryen(direct, { imports: ['env.wait'], filename: 'recover.wasm' })
    } catch (error) {
      refused = error
    }
    expect((refused as AsyncifyError).code).toBe('ASYNCIFY_UNSUPPORTED_FEATURE')
    expect((refused as AsyncifyError).message).toMatch(/^recover\.wasm: function "recover" calls "wait", which can suspend, inside a catch block/)
  })
})
