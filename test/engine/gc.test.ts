/*
 * WasmGC modules: the direct engine reads typed references and the GC
 * instructions, so a GC module gets its builds, or the reason it has no
 * Asyncify build, without Binaryen's pipeline (which loading alone takes
 * most of a second, and whose Asyncify pass aborts on most GC code). A
 * program that keeps no reference across a suspension runs on both paths
 * against the untouched module with a synchronous import; one that must
 * keep a reference is refused, naming the function, and gets its JSPI build
 * alone in mode auto. Node 20 cannot instantiate GC modules (nor validate
 * them: there the engine leaves them to Binaryen's pipeline, which checks
 * its output), so `npm test` runs this file under Node 26 only
 * (vitest.jspi.config.ts); both paths run there.
 */
import { describe, expect, it } from 'vitest'
import { asyncifyWasm } from '../../src/transform/index.js'
import { asyncified, later, type Engine } from '../helpers/engine.js'
import { wat } from '../helpers/wat.js'

/**
 * Builds a list of structs (some of a subtype) while it waits, with arrays,
 * packed fields, an i31 cast back from anyref, the four branches on a
 * reference and a call_indirect that may suspend, none of which holds a
 * reference across a wait; and a suspending function returning a nullable
 * reference (null while it unwinds).
 */
const PROGRAM = `(module
  (rec
    (type $node (sub (struct (field $val (mut i32)) (field $next (ref null $node)))))
    (type $pair (sub final $node (struct (field $val (mut i32)) (field $next (ref null $node)) (field $extra i64)))))
  (type $arr (array (mut i32)))
  (type $bytes (array (mut i8)))
  (type $unary (func (param i32) (result i32)))
  (import "env" "wait" (func $wait (param i32) (result i32)))
  (memory 1)
  (global $list (mut (ref null $node)) (ref.null none))
  (table $fns 2 funcref)
  (elem (table $fns) (i32.const 0) func $double $wait_plus)
  (func $double (type $unary) (i32.mul (local.get 0) (i32.const 2)))
  (func $wait_plus (type $unary) (i32.add (call $wait (local.get 0)) (i32.const 1)))
  (func $push (param $v i32) (param $wide i32)
    (global.set $list
      (if (result (ref $node)) (local.get $wide)
        (then (struct.new $pair (local.get $v) (global.get $list) (i64.extend_i32_u (local.get $v))))
        (else (struct.new $node (local.get $v) (global.get $list))))))
  (func $sum (result i32) (local $n (ref null $node)) (local $s i32)
    (local.set $n (global.get $list))
    (block $done
      (loop $l
        (local.set $n (br_on_null $done (local.get $n)))
        (local.set $s (i32.add (local.get $s) (struct.get $node $val (local.get $n))))
        (drop (block $not_pair (result (ref null $node))
          (local.set $s (i32.add (local.get $s) (i32.wrap_i64 (struct.get $pair $extra
            (br_on_cast_fail $not_pair (ref null $node) (ref $pair) (local.get $n))))))
          (ref.null none)))
        (local.set $n (struct.get $node $next (local.get $n)))
        (br $l)))
    (local.get $s))
  ;; Waits between GC work, keeping no reference across a wait: arrays, packed fields, an i31 cast back.
  (func $run (export "run") (param $k i32) (result i32)
    (local $i i32) (local $t i32) (local $a (ref null $arr)) (local $b (ref null $bytes)) (local $o anyref)
    (global.set $list (ref.null none))
    (loop $l
      (local.set $a (array.new_fixed $arr 3 (local.get $i) (i32.const 5) (i32.const 9)))
      (local.set $t (i32.add (local.get $t) (array.get $arr (local.get $a) (i32.const 2))))
      (call $push (call $wait (array.get $arr (local.get $a) (i32.const 0))) (i32.and (local.get $i) (i32.const 1)))
      (local.set $b (array.new $bytes (i32.const 200) (i32.add (local.get $i) (i32.const 2))))
      (array.set $bytes (local.get $b) (i32.const 1) (i32.const 300))
      (local.set $t (i32.add (local.get $t) (array.get_u $bytes (local.get $b) (i32.const 1))))
      (local.set $t (i32.add (local.get $t) (array.get_s $bytes (local.get $b) (i32.const 0))))
      (local.set $t (i32.add (local.get $t) (array.len (local.get $b))))
      (local.set $o (ref.i31 (call_indirect $fns (type $unary) (local.get $i) (i32.and (local.get $i) (i32.const 1)))))
      (if (ref.test (ref i31) (local.get $o))
        (then (local.set $t (i32.add (local.get $t) (i31.get_s (ref.cast (ref i31) (local.get $o)))))))
      (local.set $t (i32.add (local.get $t)
        (block $nonnull (result (ref any))
          (br_on_non_null $nonnull (local.get $o))
          (return (i32.const -1)))
        (drop)
        (i32.const 1000)))
      (local.set $i (i32.add (local.get $i) (i32.const 1)))
      (br_if $l (i32.lt_u (local.get $i) (local.get $k))))
    (i32.add (local.get $t) (call $sum)))
  ;; A suspending function whose result is a nullable reference: null while it unwinds.
  (func $find (param $v i32) (result (ref null $node))
    (local $n (ref null $node))
    (drop (call $wait (local.get $v)))
    (local.set $n (global.get $list))
    (block $done
      (loop $l
        (br_if $done (ref.is_null (local.get $n)))
        (br_if $done (i32.eq (struct.get $node $val (local.get $n)) (i32.add (i32.mul (local.get $v) (i32.const 3)) (i32.const 1))))
        (local.set $n (struct.get $node $next (local.get $n)))
        (br $l)))
    (local.get $n))
  (func (export "findValue") (param $v i32) (result i32)
    (local $n (ref null $node))
    (local.set $n (call $find (local.get $v)))
    (if (result i32) (ref.is_null (local.get $n)) (then (i32.const -1)) (else (struct.get $node $val (local.get $n))))))`

const wait = (x: number) => x * 3 + 1

/** What the untouched module gives with a synchronous import. */
async function reference(bytes: Uint8Array, runs: number[], finds: number[]) {
  const { instance } = await WebAssembly.instantiate(bytes as Uint8Array<ArrayBuffer>, { env: { wait } })
  const exports = instance.exports as Record<string, (n: number) => number>
  return { runs: runs.map((k) => exports.run!(k)), finds: finds.map((v) => exports.findValue!(v)) }
}

describe.each(['asyncify', 'jspi'] as Engine[])('GC modules, %s path', (on) => {
  it('a program keeping no reference across a wait runs as the untouched module does', async () => {
    const bytes = wat(PROGRAM, 'every')
    const runs = [0, 1, 5, 17]
    const finds = [2, 7, 40]
    const expected = await reference(bytes, runs, finds)
    const { exports, report } = await asyncified(bytes, { imports: ['env.wait'] }, { env: { wait: (x: number) => later(wait(x)) } }, undefined, on)
    expect(report.engine).toBe('direct')
    expect(report.paths).toEqual(['asyncify', 'jspi'])
    const results: number[] = []
    for (const k of runs) results.push(await exports.run(k))
    expect(results).toEqual(expected.runs)
    // Overlapping calls, each through the function returning a reference.
    expect(await Promise.all(finds.map((v) => exports.findValue(v)))).toEqual(expected.finds)
    expect(expected.finds.filter((found) => found !== -1)).toHaveLength(2)
  })
})

/** Modules whose functions each run differently from the program's, by what they exercise. */
const CASES = {
  /**
   * A branch on a reference first in a frame, before a site: not fused with
   * the state check as an entry test is (that test is an i32's).
   */
  'a br_on_null first in a frame': `(module
    (type $box (struct (field (mut i32))))
    (import "env" "wait" (func $wait (param i32) (result i32)))
    (memory 1)
    (global $h (mut i32) (i32.const 0))
    (func (export "set") (param $x i32) (global.set $h (local.get $x)))
    (func $t (export "t") (param $x i32) (param $b (ref null $box)) (result i32)
      (block $l
        (drop (br_on_null $l (local.get $b)))
        (global.set $h (i32.add (global.get $h) (i32.const 1)))
        (global.set $h (i32.add (global.get $h) (call $wait (local.get $x)))))
      (global.get $h))
    (func (export "f") (param $x i32) (result i32)
      (call $t (local.get $x)
        (if (result (ref null $box)) (i32.and (local.get $x) (i32.const 1)) (then (struct.new $box (local.get $x))) (else (ref.null none))))))`,
  /**
   * A nullable reference read from a global (and a table), passed to a call
   * that may suspend after another: held across the first call's block end
   * in a nullable temporary, which a rewind need not restore (the callee
   * restores its own frame and ignores its arguments).
   */
  'a reference from a global passed to a later wait': `(module
    (type $box (struct (field (mut i32))))
    (import "env" "wait" (func $wait (param i32) (result i32)))
    (memory 1)
    (global $g (mut (ref null $box)) (ref.null none))
    (table $t 1 (ref null $box))
    (func (export "set") (param $x i32)
      (global.set $g (struct.new $box (local.get $x)))
      (table.set $t (i32.const 0) (struct.new $box (i32.mul (local.get $x) (i32.const 7)))))
    (func $take (export "take") (param $b (ref null $box)) (param $c (ref null $box)) (param $x i32) (result i32)
      (i32.add (i32.add (struct.get $box 0 (local.get $b)) (struct.get $box 0 (local.get $c))) (call $wait (local.get $x))))
    (func $f (export "f") (param $x i32) (result i32) (local $first i32)
      (local.set $first (call $wait (local.get $x)))
      (i32.add (local.get $first) (call $take (global.get $g) (table.get $t (i32.const 0)) (local.get $x)))))`,
  /**
   * Under subtyping a call_indirect may reach a function of a subtype, whose
   * signature reads otherwise (funcref against a typed reference): every
   * indirect call may unwind there.
   */
  'a call_indirect reaching a subtype': `(module
    (rec
      (type $super (sub (func (param i32) (result funcref))))
      (type $sub (sub $super (func (param i32) (result (ref null $unary)))))
      (type $unary (func (param i32) (result i32))))
    (import "env" "wait" (func $wait (type $unary)))
    (memory 1)
    (table $t 1 funcref)
    (elem (table $t) (i32.const 0) func $waits)
    (elem declare func $wait)
    (func (export "set") (param $x i32))
    (func $waits (type $sub) (param $x i32) (result (ref null $unary))
      (if (result (ref null $unary)) (i32.eqz (call $wait (local.get $x))) (then (ref.null nofunc)) (else (ref.func $wait))))
    (global $calls (mut i32) (i32.const 0))
    (func $f (export "f") (param $x i32) (result i32) (local $k i32)
      (global.set $calls (i32.add (global.get $calls) (i32.const 1)))
      (local.set $k (i32.add (i32.mul (local.get $x) (i32.const 2)) (i32.mul (global.get $calls) (i32.const 100))))
      (i32.add (local.get $k) (ref.is_null (call_indirect $t (type $super) (local.get $x) (i32.const 0))))))`,
}

describe.each(['asyncify', 'jspi'] as Engine[])('GC modules, %s path', (on) => {
  it.each(Object.entries(CASES))('%s: runs as the untouched module does', async (_, text) => {
    const bytes = wat(text, 'every')
    const { instance } = await WebAssembly.instantiate(bytes as Uint8Array<ArrayBuffer>, { env: { wait: (x: number) => x - 1 } })
    const untouched = instance.exports as Record<string, (x: number) => number>
    untouched.set!(5)
    const { exports, report } = await asyncified(bytes, { imports: ['env.wait'] }, { env: { wait: (x: number) => later(x - 1) } }, undefined, on)
    expect(report.engine).toBe('direct')
    await exports.set(5)
    const inputs = [1, 2, 3]
    expect(await Promise.all(inputs.map((x) => exports.f(x)))).toEqual(inputs.map((x) => untouched.f!(x)))
  })
})

/** A module around `body`, a function named `$f` that waits, with a struct type `$box` and a function type `$unary`. */
const around = (body: string) => `(module
  (type $box (struct (field (mut i32))))
  (type $unary (func (param i32) (result i32)))
  (import "env" "wait" (func $wait (type $unary)))
  (memory 1)
  (elem declare func $wait)
  ${body})`

describe('GC modules that must keep a reference across a suspension', () => {
  it.each([
    [
      'a reference local live across a wait',
      `(func $f (export "f") (param $x i32) (result i32) (local $b (ref null $box))
        (local.set $b (struct.new $box (local.get $x)))
        (drop (call $wait (local.get $x)))
        (struct.get $box 0 (local.get $b)))`,
      'function "f" keeps a local of type (ref null $box) across a call that may suspend',
    ],
    [
      'a result that cannot be null',
      `(func $f (export "f") (param $x i32) (result (ref $box))
        (struct.new $box (call $wait (local.get $x))))`,
      'function "f" returns (ref $box), which cannot be null, and may suspend',
    ],
    [
      'a reference that cannot be null passed to a call that may suspend',
      `(func $take (param $b (ref $box)) (result i32) (i32.add (struct.get $box 0 (local.get $b)) (call $wait (i32.const 1))))
      (func $f (export "f") (param $x i32) (result i32) (local $b (ref $box))
        (drop (call $wait (local.get $x)))
        (local.set $b (struct.new $box (local.get $x)))
        (call $take (local.get $b)))`,
      'function "f" keeps a local of type (ref $box) across a call that may suspend',
    ],
    [
      'a call_ref in a function that may suspend',
      `(func $f (export "f") (param $x i32) (result i32)
        (call_ref $unary (local.get $x) (ref.func $wait)))`,
      'function "f" uses `call_ref` (typed function references), which Asyncify cannot instrument',
    ],
  ])('%s: refused for Asyncify, naming the function and the type; JSPI alone in mode auto', async (_, body, message) => {
    const bytes = wat(around(body), 'every')
    await expect(asyncifyWasm(bytes, { imports: ['env.wait'], mode: 'asyncify', filename: 'gc.wasm' })).rejects.toMatchObject({
      code: 'ASYNCIFY_UNSUPPORTED_FEATURE',
      message: expect.stringContaining(`gc.wasm: ${message}`),
    })
    const auto = await asyncifyWasm(bytes, { imports: ['env.wait'], filename: 'gc.wasm' })
    expect(auto.report.paths).toEqual(['jspi'])
    expect(auto.report.asyncifyUnsupported).toContain(message)
    // Built from the bytes: Binaryen's pipeline would name its engine.
    expect(auto.report.engine).toBeNull()
    expect(auto.report.warnings).toEqual([])
  })

  it('the JSPI build of such a module runs', async () => {
    const bytes = wat(around(`(func $f (export "f") (param $x i32) (result i32) (local $b (ref null $box))
        (local.set $b (struct.new $box (local.get $x)))
        (drop (call $wait (local.get $x)))
        (struct.get $box 0 (local.get $b)))`), 'every')
    const { exports } = await asyncified(bytes, { imports: ['env.wait'] }, { env: { wait: (x: number) => later(x) } }, undefined, 'jspi')
    expect(await Promise.all([exports.f(5), exports.f(9)])).toEqual([5, 9])
  })
})
