/*
 * The direct engine's instrumentation, proved by running it: each WAT module
 * is asyncified by prepareAsyncifyWithoutBinaryen (never Binaryen: a null
 * there fails the test) and run through the runtime with imports that return
 * Promises, and every call must give what the module gives unasyncified with
 * the same imports answering at once, with the same imports called in the
 * same order. What suspends is chosen per call, so that a rewind lands on
 * each site in turn and code between sites runs both ways.
 */
import { describe, expect, it } from 'vitest'
import { prepareAsyncifyWithoutBinaryen } from '../../src/transform/direct/asyncify-fast.js'
import { asyncifyStats, instantiate } from '../../src/runtime-shim/index.js'
import type { Node } from '../../src/transform/direct/body.js'
import { moduleTypesOf } from '../../src/transform/direct/module-types.js'
import { decodeBody } from '../../src/transform/direct/decode.js'
import { codeBodies } from '../../src/transform/direct/stack-shape.js'
import { scanModule } from '../../src/transform/scan.js'
import { wat } from '../helpers/wat.js'

type Value = number | bigint

/** Imports: `wait*` may suspend (listed), `effect` never does and counts as a side effect. */
const LISTED = ['env.wait*']
const IMPORTS = `
  (import "env" "wait" (func $wait (param i32) (result i32)))
  (import "env" "wait64" (func $wait64 (param i64) (result i64)))
  (import "env" "waitf" (func $waitf (param f64) (result f64)))
  (import "env" "effect" (func $effect (param i32) (result i32)))
  (memory (export "memory") 1)`

/** The imports, answering `wait*` with a Promise when `suspend` says so for the nth call (from 0), and logging every call. */
function host(suspend: (n: number) => boolean) {
  const log: string[] = []
  let calls = 0
  let suspended = 0
  const answer = <T extends Value>(name: string, x: T, value: T): T | Promise<T> => {
    log.push(`${name}(${x})`)
    if (!suspend(calls++)) return value
    suspended++
    return new Promise((resolve) => setTimeout(() => resolve(value)))
  }
  const env = {
    wait: (x: number) => answer('wait', x, (x * 7 + 3) | 0),
    wait64: (x: bigint) => answer('wait64', x, BigInt.asIntN(64, x * 1000003n + 11n)),
    waitf: (x: number) => answer('waitf', x, x * 0.5 - 0.125),
    effect: (x: number) => {
      log.push(`effect(${x})`)
      return (x + 100) | 0
    },
  }
  return { env, log, suspended: () => suspended }
}

/** The module built by the direct engine; fails the test if the engine declined. */
function direct(bytes: Uint8Array): Uint8Array {
  const result = prepareAsyncifyWithoutBinaryen(bytes, { imports: LISTED })
  expect(result, 'the direct engine declined the module').not.toBeNull()
  expect(result!.report.engine).toBe('direct')
  return result!.wasm!
}

const builds = new Map<string, { bytes: Uint8Array; asyncified: Uint8Array }>()

/** The module (with the imports above) and its direct build, made once per text. */
function built(text: string, features: Parameters<typeof wat>[1]) {
  let found = builds.get(text)
  if (!found) {
    const bytes = wat(`(module ${IMPORTS} ${text})`, features)
    found = { bytes, asyncified: direct(bytes) }
    builds.set(text, found)
  }
  return found
}

/**
 * Calls `name` with each argument list on the module as it was (imports
 * answering at once) and asyncified (suspending where `suspend` says), and
 * expects the same results and the same import calls; returns how many
 * calls suspended.
 */
async function agree(
  text: string,
  name: string,
  calls: Value[][],
  suspend: (n: number) => boolean = () => true,
  features: Parameters<typeof wat>[1] = [],
): Promise<number> {
  const { bytes, asyncified } = built(text, features)
  let suspended = 0
  for (const args of calls) {
    const reference = host(() => false)
    const plain = new WebAssembly.Instance(new WebAssembly.Module(bytes as Uint8Array<ArrayBuffer>), { env: reference.env })
    const expected = (plain.exports[name] as (...args: Value[]) => Value)(...args)

    const suspending = host(suspend)
    const { instance } = await instantiate(asyncified, { env: suspending.env }, { mode: 'asyncify' })
    const got = await (instance.exports as Record<string, (...args: Value[]) => Promise<Value>>)[name]!(...args)
    expect({ args, result: got, log: suspending.log }).toEqual({ args, result: expected, log: reference.log })
    suspended += suspending.suspended()
  }
  return suspended
}

/** Every subset of `count` calls, as masks: bit n set means the nth call suspends. */
function everySubset(count: number): number[] {
  return Array.from({ length: 1 << count }, (_, mask) => mask)
}

describe('a call that suspends gets its arguments right on both sides of the suspension', () => {
  it('arguments computed by pure code are the same when the code runs again on the rewind', async () => {
    const text = `(func (export "run") (param $x i32) (result i32) (local $y i32)
      (local.set $y (call $wait (i32.add (i32.mul (local.get $x) (i32.const 3)) (i32.const 1))))
      (i32.add (local.get $y) (call $wait (i32.xor (i32.shl (local.get $y) (i32.const 2)) (local.get $x)))))`
    expect(await agree(text, 'run', [[5], [-9]])).toBe(4)
  })

  it('an argument computed by a call that does not suspend runs that call once, though the site it feeds suspends', async () => {
    const text = `(func (export "run") (param $x i32) (result i32)
      (i32.add
        (call $wait (call $effect (local.get $x)))
        (call $wait (i32.add (call $effect (i32.const 1)) (local.get $x)))))`
    expect(await agree(text, 'run', [[2]])).toBe(2)
  })

  it('an argument computed by code that writes memory runs that code once', async () => {
    // A counter in memory bumped by the argument's code; the result shows how many times it ran.
    const text = `(func (export "run") (param $x i32) (result i32)
      (i32.add
        (call $wait (block (result i32)
          (i32.store (i32.const 0) (i32.add (i32.load (i32.const 0)) (local.get $x)))
          (i32.load (i32.const 0))))
        (i32.mul (i32.load (i32.const 0)) (i32.const 1000))))`
    expect(await agree(text, 'run', [[3]])).toBe(1)
  })

  it('an argument that grows memory grows it once', async () => {
    // Pages counted from the start of the call: the runtime may have taken memory of its own before it.
    const text = `(func (export "run") (result i32) (local $before i32)
      (local.set $before (memory.size))
      (i32.add
        (call $wait (i32.sub (memory.grow (i32.const 1)) (local.get $before)))
        (i32.mul (i32.sub (memory.size) (local.get $before)) (i32.const 100))))`
    expect(await agree(text, 'run', [[]])).toBe(1)
  })

  it('a call with several arguments, one of them the result of a suspending call, gets all of them', async () => {
    const text = `
      (func $three (param $a i32) (param $b i32) (param $c i32) (result i32)
        (i32.sub (i32.mul (local.get $a) (local.get $b)) (local.get $c)))
      (func (export "run") (param $x i32) (result i32)
        (call $three
          (call $effect (local.get $x))
          (call $wait (local.get $x))
          (i32.add (local.get $x) (i32.const 2))))`
    expect(await agree(text, 'run', [[6]])).toBe(1)
  })
})

describe('values on the operand stack below a suspending call survive it', () => {
  it('a local read below a call keeps the value it had when read, though the local changes before the call', async () => {
    const text = `(func (export "run") (param $x i32) (result i32)
      (i32.add
        (local.get $x)
        (block (result i32)
          (local.set $x (i32.const 1000))
          (call $wait (local.get $x)))))`
    expect(await agree(text, 'run', [[7]])).toBe(1)
  })

  it('a value loaded from memory below a call keeps the value loaded, though memory changes before the call', async () => {
    const text = `(func (export "run") (param $x i32) (result i32)
      (i32.store (i32.const 8) (local.get $x))
      (i32.sub
        (i32.load (i32.const 8))
        (block (result i32)
          (i32.store (i32.const 8) (i32.const 55))
          (call $wait (i32.load (i32.const 8))))))`
    expect(await agree(text, 'run', [[40]])).toBe(1)
  })

  it('a value held below an if keeps its own, though a value of its type is held below a call in the if', async () => {
    // Both are held in temporaries across the blocks a rewind skips to: sharing one, a rewind would give the outer
    // value the inner one's.
    const text = `(func (export "run") (param $x i32) (result i32)
      (i32.store (i32.const 0) (i32.const 11))
      (i32.store (i32.const 4) (local.get $x))
      (i32.sub
        (i32.load (i32.const 0))
        (if (result i32) (local.get $x)
          (then (i32.mul (i32.load (i32.const 4)) (call $wait (local.get $x))))
          (else (i32.const 0)))))`
    expect(await agree(text, 'run', [[3], [-20]])).toBe(2)
  })

  it('a global read below a call keeps the value read, though the callee changes it before suspending', async () => {
    const text = `(global $g (mut i32) (i32.const 5))
      (func $bump (param $x i32) (result i32)
        (global.set $g (i32.add (global.get $g) (i32.const 10)))
        (call $wait (local.get $x)))
      (func (export "run") (param $x i32) (result i32)
        (i32.sub (global.get $g) (call $bump (local.get $x))))`
    expect(await agree(text, 'run', [[1], [2]])).toBe(2)
  })

  it('several values of several types below nested suspending calls all survive', async () => {
    const text = `(func (export "run") (param $x i32) (result i32)
      (i32.add
        (i32.wrap_i64 (i64.add
          (i64.mul (i64.extend_i32_s (call $effect (local.get $x))) (i64.const 0x100000001))
          (call $wait64 (i64.extend_i32_s (call $wait (local.get $x))))))
        (i32.trunc_f64_s (f64.add
          (f64.convert_i32_s (local.get $x))
          (call $waitf (f64.convert_i32_s (call $wait (i32.add (local.get $x) (i32.const 1)))))))))`
    for (const mask of everySubset(4)) await agree(text, 'run', [[3]], (n) => ((mask >> n) & 1) === 1)
  })

  it('i64 values held on the stack and in locals across a suspension keep all 64 bits', async () => {
    const text = `(func (export "run") (param $x i64) (result i64) (local $keep i64)
      (local.set $keep (i64.rotl (local.get $x) (i64.const 37)))
      (i64.xor
        (i64.mul (local.get $x) (i64.const 0x7fffffff0001))
        (i64.add (local.get $keep) (call $wait64 (local.get $x)))))`
    expect(await agree(text, 'run', [[0x123456789abcdefn], [-5n]])).toBe(2)
  })

  it('f64 and f32 values held on the stack and in locals across a suspension keep every bit', async () => {
    const text = `(func (export "run") (param $x f64) (result f64) (local $keep f64) (local $narrow f32)
      (local.set $keep (f64.div (local.get $x) (f64.const 3)))
      (local.set $narrow (f32.demote_f64 (local.get $keep)))
      (f64.add
        (f64.mul (local.get $x) (f64.const 1.0000001))
        (f64.sub (call $waitf (local.get $keep)) (f64.promote_f32 (local.get $narrow)))))`
    expect(await agree(text, 'run', [[Math.PI], [-1e300]])).toBe(2)
  })
})

describe('control flow around suspending calls', () => {
  it('an if whose condition is computed by a call before the arm that suspends runs the condition once', async () => {
    const text = `(func (export "run") (param $x i32) (result i32)
      (if (result i32) (i32.and (call $effect (local.get $x)) (i32.const 1))
        (then (i32.add (call $wait (local.get $x)) (i32.const 1)))
        (else (i32.sub (call $wait (local.get $x)) (i32.const 1)))))`
    expect(await agree(text, 'run', [[1], [2]])).toBe(2)
  })

  it('an if whose condition is a global the suspending arm changes before the call rewinds into the same arm', async () => {
    const text = `(global $armed (mut i32) (i32.const 1))
      (func (export "run") (param $x i32) (result i32)
        (if (result i32) (global.get $armed)
          (then (global.set $armed (i32.const 0)) (i32.add (call $wait (local.get $x)) (i32.const 1000)))
          (else (call $wait (i32.const 2)))))`
    expect(await agree(text, 'run', [[5]])).toBe(1)
  })

  it('an if whose condition is a local the suspending arm changes before the call rewinds into the same arm', async () => {
    // A pure condition is computed again on the rewind (instrument.ts's pureTail), from the locals as they
    // were at the suspension: $x is then the arm's 0, not the 5 the if was entered with (Binaryen's build is right).
    const text = `(func (export "run") (param $x i32) (result i32)
      (if (result i32) (local.get $x)
        (then (local.set $x (i32.const 0)) (call $wait (i32.const 1)))
        (else (i32.const 99))))`
    expect(await agree(text, 'run', [[5]])).toBe(1)
  })

  it('an if whose condition a suspending arm changes before its call returns from that arm, when the other arm suspends too', async () => {
    // As above, with a site in each arm: taking the wrong arm on the rewind reaches a call, so nothing notices.
    const text = `(func (export "run") (param $x i32) (result i32)
      (if (result i32) (local.get $x)
        (then (local.set $x (i32.const 0)) (i32.add (call $wait (i32.const 1)) (i32.const 1000)))
        (else (call $wait (i32.const 2)))))`
    expect(await agree(text, 'run', [[5]])).toBe(1)
  })

  it('a loop that suspends on every iteration sums what each suspension returned', async () => {
    const text = `(func (export "run") (param $n i32) (result i32) (local $i i32) (local $sum i32)
      (loop $next
        (local.set $sum (i32.add (local.get $sum) (call $wait (local.get $i))))
        (local.set $i (i32.add (local.get $i) (i32.const 1)))
        (br_if $next (i32.lt_u (local.get $i) (local.get $n))))
      (local.get $sum))`
    expect(await agree(text, 'run', [[6]])).toBe(6)
  })

  it('a loop that suspends on some iterations only gives the same sum for every choice of which', async () => {
    const text = `(func (export "run") (param $n i32) (result i32) (local $i i32) (local $sum i32)
      (loop $next
        (local.set $sum (i32.add (i32.mul (local.get $sum) (i32.const 3)) (call $wait (local.get $i))))
        (local.set $i (i32.add (local.get $i) (i32.const 1)))
        (br_if $next (i32.lt_u (local.get $i) (local.get $n))))
      (local.get $sum))`
    for (const mask of everySubset(4)) await agree(text, 'run', [[4]], (n) => ((mask >> n) & 1) === 1)
  })

  it('a loop whose exit condition is what the suspending call returned leaves on the same iteration', async () => {
    const text = `(func (export "run") (param $x i32) (result i32) (local $n i32)
      (loop $next
        (local.set $n (i32.add (local.get $n) (i32.const 1)))
        (br_if $next (i32.lt_u (call $wait (local.get $n)) (local.get $x))))
      (local.get $n))`
    expect(await agree(text, 'run', [[40]])).toBe(6)
  })

  it('a select between the results of two suspending calls picks by a condition computed after them', async () => {
    const text = `(func (export "run") (param $x i32) (result i32)
      (select
        (call $wait (local.get $x))
        (call $wait (i32.add (local.get $x) (i32.const 1)))
        (i32.and (call $effect (local.get $x)) (i32.const 1))))`
    expect(await agree(text, 'run', [[1], [2]])).toBe(4)
  })

  it('a br_table that picks among arms holding suspending calls, or skips them, takes the same path after a rewind', async () => {
    const text = `(func (export "run") (param $k i32) (result i32) (local $r i32)
      (block $done
        (block $two
          (block $one
            (block $zero
              (br_table $zero $one $two $done (local.get $k)))
            (local.set $r (call $wait (i32.const 10)))
            (br $done))
          (local.set $r (i32.add (call $wait (i32.const 20)) (call $wait (i32.const 21))))
          (br $done))
        (local.set $r (i32.const 30)))
      (i32.add (local.get $r) (call $wait (local.get $k))))`
    expect(await agree(text, 'run', [[0], [1], [2], [3], [9]])).toBe(8)
  })

  it('several sites in one function each resume where they left, whichever of them suspend', async () => {
    const text = `(func (export "run") (param $x i32) (result i32) (local $a i32) (local $b i32)
      (local.set $a (call $wait (local.get $x)))
      (local.set $b (i32.mul (call $wait (i32.add (local.get $a) (i32.const 1))) (i32.const 2)))
      (drop (call $effect (local.get $b)))
      (i32.sub (call $wait (i32.add (local.get $b) (local.get $x))) (local.get $a)))`
    for (const mask of everySubset(3)) await agree(text, 'run', [[11]], (n) => ((mask >> n) & 1) === 1)
  })

  it('a site inside nested blocks, a loop and an if resumes inside all of them, with values held outside', async () => {
    const text = `(func (export "run") (param $x i32) (result i32) (local $r i32)
      (i32.add
        (call $effect (i32.const 1))
        (block $out (result i32)
          (loop $again
            (block $skip
              (br_if $skip (i32.le_s (local.get $x) (i32.const 0)))
              (if (i32.and (local.get $x) (i32.const 1))
                (then (local.set $r (i32.add (local.get $r) (call $wait (local.get $x)))))
                (else (local.set $r (i32.sub (local.get $r) (call $wait (local.get $x))))))
              (local.set $x (i32.sub (local.get $x) (i32.const 1)))
              (br $again)))
          (i32.mul (local.get $r) (i32.const 2)))))`
    expect(await agree(text, 'run', [[5]])).toBe(5)
  })

  it('a block with two results that holds a site hands both on past a later site', async () => {
    const text = `(func (export "run") (param $x i32) (result i32)
      (block (result i32 i32)
        (call $wait (local.get $x))
        (call $effect (local.get $x)))
      (call $wait (i32.const 4))
      (i32.sub)
      (i32.mul))`
    for (const mask of everySubset(2)) await agree(text, 'run', [[3]], (n) => ((mask >> n) & 1) === 1, ['Multivalue'])
  })

  it('a br_if that carries a value out of a block before a site in it is still taken after other sites rewound', async () => {
    const text = `(func (export "run") (param $x i32) (result i32)
      (i32.add
        (call $wait (local.get $x))
        (block $early (result i32)
          (drop (br_if $early (i32.const 7) (i32.and (local.get $x) (i32.const 1))))
          (call $wait (i32.add (local.get $x) (i32.const 1))))))`
    for (const mask of everySubset(2)) await agree(text, 'run', [[3], [4]], (n) => ((mask >> n) & 1) === 1)
  })

  it('a loop with a result that holds a site, followed by another site, hands its result on', async () => {
    const text = `(func (export "run") (param $x i32) (result i32) (local $i i32)
      (i32.sub
        (loop $again (result i32)
          (local.set $i (i32.add (local.get $i) (call $wait (local.get $i))))
          (br_if $again (i32.lt_u (local.get $i) (local.get $x)))
          (local.get $i))
        (call $wait (local.get $x))))`
    for (const mask of everySubset(3)) await agree(text, 'run', [[20]], (n) => ((mask >> n) & 1) === 1)
  })

  it('a function with more sites and locals than one LEB byte numbers rewinds to each of its late sites', async () => {
    // 140 sites and as many locals, each site adding to its own local: site and local indices past 127.
    const count = 140
    const locals = Array.from({ length: count }, (_, k) => `(local $l${k} i32)`).join(' ')
    const sites = Array.from({ length: count }, (_, k) => `(local.set $l${k} (i32.add (local.get $x) (call $wait (i32.const ${k}))))`).join('\n')
    const sum = Array.from({ length: count }, (_, k) => `(local.get $l${k})`).reduce((a, b) => `(i32.add ${a} ${b})`)
    const text = `(func (export "run") (param $x i32) (result i32) ${locals} ${sites} ${sum})`
    const late = new Set([0, 63, 64, 127, 128, 129, 139])
    expect(await agree(text, 'run', [[1]], (n) => late.has(n))).toBe(late.size)
  })

  it('code after the last site of a block runs once, after the rewind, with the block\'s result', async () => {
    const text = `(func (export "run") (param $x i32) (result i32)
      (call $effect
        (block (result i32)
          (drop (call $effect (local.get $x)))
          (i32.mul (call $wait (local.get $x)) (call $effect (i32.const 2))))))`
    expect(await agree(text, 'run', [[3]])).toBe(1)
  })
})

describe('calls between instrumented functions', () => {
  const wide = `
    (func $half (param $x i32) (result f64)
      (f64.div (f64.convert_i32_s (call $wait (local.get $x))) (f64.const 2)))
    (func $shifted (param $x i32) (result i64)
      (i64.shl (i64.extend_i32_s (call $wait (local.get $x))) (i64.const 33)))
    (func (export "float") (param $x i32) (result f64)
      (f64.add (f64.const 0.25) (call $half (local.get $x))))
    (func (export "long") (param $x i32) (result i64)
      (i64.add (call $shifted (local.get $x)) (i64.sub (call $shifted (i32.const -3)) (i64.const 7))))`

  it('a function returning f64 across a suspension returns it to its caller', async () => {
    expect(await agree(wide, 'float', [[9], [-4]])).toBe(2)
  })

  it('a function returning i64 across a suspension returns it to its caller', async () => {
    expect(await agree(wide, 'long', [[9]])).toBe(2)
  })

  it('a recursion suspending at every depth unwinds and rewinds every frame', async () => {
    const text = `(func $down (export "run") (param $n i32) (result i32)
      (if (result i32) (i32.eqz (local.get $n))
        (then (call $wait (i32.const 0)))
        (else (i32.add
          (call $wait (local.get $n))
          (i32.mul (call $down (i32.sub (local.get $n) (i32.const 1))) (i32.const 3))))))`
    expect(await agree(text, 'run', [[6]])).toBe(7)
  })
})

/** A table of two unary functions: `$double`, and `$waited`, which each module defines with a call to `wait`. */
const UNARY_TABLE = `(type $unary (func (param i32) (result i32)))
    (table 2 funcref)
    (elem (i32.const 0) $double $waited)
    (func $double (param $x i32) (result i32) (i32.mul (local.get $x) (i32.const 2)))`

describe('indirect calls', () => {
  const table = `
    ${UNARY_TABLE}
    (func $waited (param $x i32) (result i32) (i32.add (call $wait (local.get $x)) (i32.const 1)))
    (func (export "one") (param $k i32) (param $x i32) (result i32)
      (i32.add (local.get $x) (call_indirect (type $unary) (local.get $x) (local.get $k))))
    (func (export "mixed") (param $n i32) (result i32) (local $i i32) (local $sum i32)
      (loop $next
        (local.set $sum (i32.add
          (i32.mul (local.get $sum) (i32.const 5))
          (call_indirect (type $unary) (local.get $i) (i32.and (local.get $i) (i32.const 1)))))
        (local.set $i (i32.add (local.get $i) (i32.const 1)))
        (br_if $next (i32.lt_u (local.get $i) (local.get $n))))
      (local.get $sum))`

  it('a call through a table to a function that suspends resumes in it and returns to the caller', async () => {
    expect(await agree(table, 'one', [[1, 8]])).toBe(1)
  })

  it('a call through a table to a function that does not suspend returns at once through the same site', async () => {
    expect(await agree(table, 'one', [[0, 8]])).toBe(0)
  })

  it('a call_indirect whose target suspends on some iterations and not on others gives the same sum', async () => {
    expect(await agree(table, 'mixed', [[5]])).toBe(2)
  })
})

/** The body of export `func` in the direct build of `text`, decoded, and the index of Asyncify's state global. */
function decodedExport(text: string, func: string): { body: Node[]; state: number } {
  const { bytes, asyncified } = built(text, [])
  // Asyncify's state is the first global the engine adds.
  const state = scanModule(bytes, { code: false }).globals.length
  const scanned = scanModule(asyncified, { code: false })
  const module = moduleTypesOf(scanned, asyncified)
  const index = scanned.exports.find((entry) => entry.kind === 'function' && entry.name === func)!.index
  const imported = scanned.functions.filter((fn) => fn.imported !== null).length
  return { body: decodeBody(codeBodies(asyncified)[index - imported]!, module.functions[index]!.params, module).body, state }
}

/**
 * How many times export `func` in the direct build of `text` reads the state
 * before its first call, going forward: past the then arms of the `if`s on
 * the way, which only a rewind enters (so the export's own code before that
 * call must have no `if`).
 */
function stateReadsBeforeFirstCall(text: string, func: string): number {
  const { body, state } = decodedExport(text, func)
  let reads = 0
  const walk = (nodes: Node[]): boolean =>
    nodes.some((node) => {
      if (node.kind === 'call' || node.kind === 'call_indirect') return true
      if (node.kind === 'op' && node.bytes[0] === 0x23 && node.bytes[1] === state) reads++
      if (node.kind === 'block' || node.kind === 'loop') return walk(node.body)
      // The first call is reached forward, past what only a rewind runs.
      if (node.kind === 'if') return walk(node.else ?? [])
      return false
    })
  walk(body)
  return reads
}

/**
 * How many times `func` in the direct build of `text` reads the state to skip
 * code a rewind does not run again: its frames' dispatchers. The state's other
 * reads are the unwind check after each site's call, the prologue's, and the
 * ones that choose a first run's value (`i32.eqz`, `select`), which skip nothing.
 */
function rewindSkips(text: string, func: string): number {
  const { body, state } = decodedExport(text, func)
  const outer = body[0]!
  expect(outer.kind).toBe('block')
  const prologue = outer.kind === 'block' ? outer.body[0] : undefined
  let skips = 0
  const walk = (nodes: Node[]) =>
    nodes.forEach((node, k) => {
      // After a call, its unwind check: the state read right after it, or after the site index it carries.
      const carried = nodes[k - 1]?.kind === 'op' && (nodes[k - 1] as { bytes: Uint8Array }).bytes[0] === 0x41
      const call = nodes[carried ? k - 2 : k - 1]
      const readsState = node.kind === 'op' && node.bytes[0] === 0x23 && node.bytes[1] === state
      const opcode = (at: number) => (nodes[at]?.kind === 'op' ? (nodes[at] as { bytes: Uint8Array }).bytes[0] : undefined)
      const chooses = opcode(k + 1) === 0x45 && opcode(k + 2) === 0x1b
      if (readsState && node !== prologue && !chooses && call?.kind !== 'call' && call?.kind !== 'call_indirect') skips++
      if (node.kind === 'block' || node.kind === 'loop') walk(node.body)
      if (node.kind === 'if') walk([...node.then, ...(node.else ?? [])])
    })
  walk(body)
  return skips
}

describe('arguments a rewind computes again, from memory a suspension may have changed', () => {
  // A call's arguments are computed again on a rewind, loads included, never skipped: the callee
  // restores what it reads from its own frame (an async import's wrapper ignores them), so a changed value does
  // no harm. A load's address must come out as it did (another address may trap): computed once and held. So
  // must a call_indirect's table index and an if's condition (another value calls another function, takes
  // another arm): computed again too, then the first run's value is chosen from a temporary.
  const text = `
    (type $unary (func (param i32) (result i32)))
    (table 2 funcref)
    (elem (i32.const 0) $first $second)
    (func $first (param $v i32) (result i32)
      (i32.store (i32.const 0) (i32.const 1))
      (i32.add (call $wait (local.get $v)) (i32.const 1)))
    (func $second (param $v i32) (result i32)
      (i32.add (call $wait (local.get $v)) (i32.const 2)))
    (func $spoils (param $v i32) (result i32)
      (i32.store (i32.const 0) (i32.const -16))
      (i32.add (call $wait (i32.const 1)) (local.get $v)))
    (func $loaded (export "loaded") (param $x i32) (result i32)
      (i32.store (i32.const 0) (local.get $x))
      (drop (call $wait (i32.load offset=4 (i32.const 0))))
      (drop (call $wait (i32.load offset=8 (i32.const 0))))
      (call $spoils (i32.load (i32.const 0))))
    (func (export "through") (param $x i32) (result i32)
      (i32.store (i32.const 0) (i32.const 16))
      (i32.store (i32.const 16) (local.get $x))
      (call $spoils (i32.load (i32.load (i32.const 0)))))
    (func (export "indirect") (param $x i32) (result i32)
      (i32.store (i32.const 0) (i32.const 0))
      (call_indirect (type $unary) (local.get $x) (i32.load (i32.const 0))))
    (func (export "chosen") (param $x i32) (result i32)
      (call_indirect (type $unary) (local.get $x) (i32.load (i32.const 0))))
    (func (export "flag") (param $x i32) (result i32)
      (if (result i32) (i32.load (i32.const 0))
        (then (i32.add (call $wait (local.get $x)) (i32.const 1000)))
        (else (call $spoils (local.get $x)))))`

  it('an argument loaded from memory the callee changes before it suspends: the callee goes on with the value it was called with', async () => {
    let suspended = 0
    for (const mask of everySubset(3)) suspended += await agree(text, 'loaded', [[5], [-7]], (n) => ((mask >> n) & 1) === 1)
    expect(suspended).toBe(2 * 12)
    // The loads run again after the blocks a rewind skips to, so no temporary holds them; one dispatcher skips the
    // store and the drops, whichever site the rewind is for.
    expect(rewindSkips(text, 'loaded')).toBe(1)
  })

  it('a load through a pointer the callee changes is not run again: its address would now trap', async () => {
    expect(await agree(text, 'through', [[5]])).toBe(1)
  })

  it('a call_indirect whose index the callee changes before it suspends rewinds into the function it called', async () => {
    expect(await agree(text, 'indirect', [[5]])).toBe(1)
    // Loaded first thing, the index is loaded again on the rewind, where nothing skips it; memory at 0 makes the
    // first call go to $first (which stores 1 there) and the second to $second.
    expect(await agree(text, 'chosen', [[5], [6]])).toBe(2)
    expect(rewindSkips(text, 'chosen')).toBe(0)
  })

  it('an if whose condition is loaded from memory the suspending arm changes rewinds into the same arm', async () => {
    // The first call finds 0 and suspends in $spoils, which stores -16 there; the second takes the other arm.
    expect(await agree(text, 'flag', [[5], [6]])).toBe(2)
    expect(rewindSkips(text, 'flag')).toBe(0)
  })
})

describe('the state checked once on entry', () => {
  // A function with a record restores it at a rewind, behind a check of the state. When the first code it runs
  // is its dispatcher or a guard, the restore goes inside that check instead. Functions with loops keep the two
  // checks: joined, Node 20 (V8 11.3) ran a loop of buffered reads 1.3x slower and SQLite's bytecode loop 2.5%
  // slower (docs/performance-notes.md, "Where the checks are").
  const text = `
    (func (export "twice") (param $x i32) (result i32) (local $y i32)
      (local.set $y (call $wait (local.get $x)))
      (i32.add (call $wait (local.get $y)) (local.get $x)))
    (func (export "stored") (param $x i32) (result i32)
      (i32.store (i32.const 8) (local.get $x))
      (i32.add (call $wait (local.get $x)) (local.get $x)))`

  it('a dispatcher restores the record before it branches', async () => {
    let suspended = 0
    for (const mask of everySubset(2)) suspended += await agree(text, 'twice', [[5]], (n) => ((mask >> n) & 1) === 1)
    expect(suspended).toBe(4)
    expect(stateReadsBeforeFirstCall(text, 'twice')).toBe(1)
  })

  it('a guard becomes an if that restores the record and skips the code', async () => {
    let suspended = 0
    for (const mask of everySubset(1)) suspended += await agree(text, 'stored', [[5], [-9]], (n) => ((mask >> n) & 1) === 1)
    expect(suspended).toBe(2)
    expect(stateReadsBeforeFirstCall(text, 'stored')).toBe(1)
  })
})

describe('code before a site that a rewind runs again instead of skipping', () => {
  // The shape of a C function with a fast path: a branch on a parameter, then the call that may suspend.
  const early = `(func $step (export "step") (param $x i32) (param $go i32) (result i32) (local $y i32)
      (block $out
        (br_if $out (i32.eqz (local.get $go)))
        (local.set $y (i32.add (local.get $x) (i32.const 9)))
        (return (i32.add (call $wait (local.get $y)) (local.get $y))))
      (i32.mul (local.get $x) (i32.const 3)))`

  it('a branch and a local computed from unchanged locals run again, not skipped, and reach the same site', async () => {
    expect(await agree(early, 'step', [[4, 1], [4, 0], [-2, 7]])).toBe(2)
    expect(rewindSkips(early, 'step')).toBe(0)
  })

  it('a segment that reads a local it writes is skipped: running it again would count twice', async () => {
    const text = `(func $bump (export "bump") (param $x i32) (result i32)
      (local.set $x (i32.add (local.get $x) (i32.const 1)))
      (i32.add (local.get $x) (call $wait (local.get $x))))`
    expect(await agree(text, 'bump', [[10]])).toBe(1)
    expect(rewindSkips(text, 'bump')).toBe(1)
  })

  it('a segment that reads a local the item after it writes before its call is skipped', async () => {
    const text = `(func $moved (export "moved") (param $x i32) (result i32) (local $y i32)
      (local.set $y (i32.shl (local.get $x) (i32.const 1)))
      (block (result i32)
        (local.set $x (i32.const 1000))
        (i32.add (i32.add (local.get $y) (local.get $x)) (call $wait (local.get $y)))))`
    expect(await agree(text, 'moved', [[5]])).toBe(1)
    expect(rewindSkips(text, 'moved')).toBeGreaterThan(0)
  })

  it('a segment that writes a local the item after it writes too is skipped', async () => {
    // The arm's own write reads memory, so it is skipped; run again, the segment would undo it.
    const text = `(func $twice (export "twice") (param $x i32) (result i32) (local $y i32)
      (local.set $y (i32.const 1))
      (if (result i32) (local.get $x)
        (then
          (local.set $y (i32.add (i32.load (i32.const 32)) (local.get $x)))
          (i32.add (call $wait (local.get $x)) (local.get $y)))
        (else (i32.const 0))))`
    expect(await agree(text, 'twice', [[2]])).toBe(1)
    expect(rewindSkips(text, 'twice')).toBeGreaterThan(0)
  })

  it('a segment that reads a local a later item of its frame writes is skipped: a rewind to that item runs it too', async () => {
    // Found by the fuzzer (seed 45): judged against the next item only, the branch ran again with $x as the second
    // call left it, skipped the rest of the block and never reached the site the rewind was for.
    const text = `(func $later (export "later") (param $x i32) (result i32) (local $y i32)
      (block $skip
        (br_if $skip (i32.gt_s (local.get $x) (i32.const 5)))
        (local.set $y (call $wait (local.get $x)))
        (local.set $x (i32.add (local.get $x) (i32.const 10)))
        (local.set $y (i32.add (local.get $y) (call $wait (local.get $x)))))
      (i32.add (local.get $x) (local.get $y)))`
    expect(await agree(text, 'later', [[1], [3], [9]], (n) => n % 2 === 1)).toBe(2)
    expect(rewindSkips(text, 'later')).toBeGreaterThan(0)
  })

  it('a segment that leaves a value under its call is skipped: run again, it would overwrite a later segment\'s temporary', async () => {
    // Found by the fuzzer (seed 45): both segments held their values in the same temporary, and the first one, run
    // again on a rewind to the second call, put its own value there.
    const text = `(func $temps (export "temps") (param $x i32) (result i32) (local $a i32)
      (local.set $a (i32.add (local.get $x) (call $wait (local.get $x))))
      (i32.add (local.get $a) (i32.add (i32.load (i32.const 0)) (call $wait (i32.const 5)))))`
    expect(await agree(text, 'temps', [[4]], (n) => n === 1)).toBe(1)
    for (const mask of everySubset(2)) await agree(text, 'temps', [[4]], (n) => ((mask >> n) & 1) === 1)
  })

  it('a segment that reads memory or a global is skipped: a suspension may change both', async () => {
    const text = `(global $g (mut i32) (i32.const 3))
      (func $fromMemory (export "fromMemory") (param $x i32) (result i32) (local $y i32)
        (local.set $y (i32.load (i32.const 16)))
        (i32.store (i32.const 16) (i32.add (local.get $x) (i32.const 1)))
        (i32.add (local.get $y) (call $wait (local.get $x))))
      (func $fromGlobal (export "fromGlobal") (param $x i32) (result i32) (local $y i32)
        (local.set $y (global.get $g))
        (global.set $g (i32.add (local.get $x) (i32.const 1)))
        (i32.add (local.get $y) (call $wait (local.get $x))))`
    expect(await agree(text, 'fromMemory', [[5], [6]])).toBe(2)
    expect(await agree(text, 'fromGlobal', [[5], [6]])).toBe(2)
    expect(rewindSkips(text, 'fromMemory')).toBeGreaterThan(0)
    expect(rewindSkips(text, 'fromGlobal')).toBeGreaterThan(0)
  })

  it('a replayed segment with a loop, a br_table and a select before a site in a loop gives the same sum for every choice of what suspends', async () => {
    const text = `(func $mix (export "mix") (param $n i32) (result i32) (local $i i32) (local $sum i32) (local $k i32) (local $pick i32)
      (loop $next
        (local.set $k (i32.const 0))
        (block $done
          (loop $count
            (br_if $done (i32.ge_u (local.get $k) (i32.and (local.get $i) (i32.const 3))))
            (local.set $k (i32.add (local.get $k) (i32.const 1)))
            (br $count)))
        (block $b2 (block $b1 (block $b0
          (br_table $b0 $b1 $b2 (i32.and (local.get $i) (i32.const 3))))
          (local.set $pick (i32.const 100)) (br $b2))
          (local.set $pick (select (i32.const 7) (local.get $k) (local.get $n))))
        (local.set $sum (i32.add (i32.mul (local.get $sum) (i32.const 3))
          (call $wait (i32.add (local.get $pick) (local.get $k)))))
        (local.set $i (i32.add (local.get $i) (i32.const 1)))
        (br_if $next (i32.lt_u (local.get $i) (local.get $n))))
      (local.get $sum))`
    for (const mask of everySubset(5)) await agree(text, 'mix', [[5]], (n) => ((mask >> n) & 1) === 1)
  })
})

describe('a rewind that misses its import', () => {
  it('a call that returns while still rewinding ends the export with ASYNCIFY_REWIND_MISMATCH, and the instance is poisoned', async () => {
    // The host swaps the table entry while the call waits: the rewind calls a function that cannot suspend, which
    // returns without reaching the import the call suspended at.
    const text = `
      (type $unary (func (param i32) (result i32)))
      (table (export "table") 2 funcref)
      (elem (i32.const 0) $waited $double)
      (func $double (param $x i32) (result i32) (i32.mul (local.get $x) (i32.const 2)))
      (func $waited (param $x i32) (result i32) (i32.add (call $wait (local.get $x)) (i32.const 1)))
      (func (export "run") (param $x i32) (result i32)
        (i32.add (local.get $x) (call_indirect (type $unary) (local.get $x) (i32.const 0))))`
    const { asyncified } = built(text, [])
    let table: WebAssembly.Table | undefined
    const env = {
      ...host(() => false).env,
      wait: (x: number) =>
        new Promise<number>((resolve) => {
          table!.set(0, table!.get(1))
          setTimeout(() => resolve(x))
        }),
    }
    const { instance } = await instantiate(asyncified, { env }, { mode: 'asyncify' })
    const exports = instance.exports as { table: WebAssembly.Table; run: (x: number) => Promise<number> }
    table = exports.table
    await expect(exports.run(5)).rejects.toMatchObject({ code: 'ASYNCIFY_REWIND_MISMATCH' })
    await expect(exports.run(5)).rejects.toMatchObject({ code: 'ASYNCIFY_INSTANCE_POISONED' })
  })
})

describe('what a rewind does not read is not saved', () => {
  // The call a rewind re-enters ignores its arguments: an instrumented callee restores what it reads, an async
  // import's wrapper returns the settled value. So locals that only compute them are not saved, unless computing
  // them from a value the rewind did not restore could trap (a load, a division), or the value must be the same
  // (a call_indirect's table index).
  const text = `
    ${UNARY_TABLE}
    (func $waited (param $x i32) (result i32) (call $wait (local.get $x)))
    (func $sum (param $a i32) (param $b i32) (result i32) (call $wait (i32.add (local.get $a) (local.get $b))))
    (func (export "arguments") (param $x i32) (result i32)
      (call $sum (local.get $x) (i32.mul (local.get $x) (i32.const 3))))
    (func (export "after") (param $x i32) (result i32) (i32.add (call $wait (local.get $x)) (local.get $x)))
    (func (export "loaded") (param $p i32) (result i32)
      (i32.store (i32.const 64) (local.get $p))
      (call $wait (i32.load (i32.const 64))))
    (func (export "through") (param $p i32) (result i32) (call $wait (i32.load (local.get $p))))
    (func (export "divided") (param $a i32) (param $b i32) (result i32) (call $wait (i32.div_s (local.get $a) (local.get $b))))
    (func (export "indirect") (param $k i32) (param $x i32) (result i32) (call_indirect (type $unary) (local.get $x) (local.get $k)))`

  /** Bytes on the Asyncify stack while `name(...args)` waits for its one suspension. */
  async function savedWhileSuspended(name: string, args: number[]): Promise<number> {
    const { asyncified } = built(text, [])
    let settle!: (value: number) => void
    const env = { ...host(() => false).env, wait: (x: number) => new Promise<number>((resolve) => (settle = () => resolve(x + 1))) }
    const { instance } = await instantiate(asyncified, { env }, { mode: 'asyncify' })
    const pending = (instance.exports as Record<string, (...args: number[]) => Promise<number>>)[name]!(...args)
    const used = asyncifyStats(instance).asyncifyStackUsed
    settle(0)
    await pending
    return used
  }

  it('locals that only compute the arguments of the suspending call, in its function and its caller, are not saved', async () => {
    expect(await agree(text, 'arguments', [[5], [-9]])).toBe(2)
    expect(await savedWhileSuspended('arguments', [5])).toBe(0)
  })

  it('a local read after the call as well is saved', async () => {
    expect(await agree(text, 'after', [[5]])).toBe(1)
    expect(await savedWhileSuspended('after', [5])).toBe(4)
  })

  it('an address an argument is loaded from is saved, while a constant address needs nothing', async () => {
    expect(await agree(text, 'through', [[64]])).toBe(1)
    expect(await savedWhileSuspended('through', [64])).toBe(4)
    expect(await agree(text, 'loaded', [[7]])).toBe(1)
    expect(await savedWhileSuspended('loaded', [7])).toBe(0)
  })

  it('the operands of a division that computes an argument are saved', async () => {
    expect(await agree(text, 'divided', [[50, 7]])).toBe(1)
    expect(await savedWhileSuspended('divided', [50, 7])).toBe(8)
  })

  it('a call_indirect\'s table index is saved, its arguments are not', async () => {
    expect(await agree(text, 'indirect', [[1, 8]])).toBe(1)
    expect(await savedWhileSuspended('indirect', [1, 8])).toBe(4)
  })
})
