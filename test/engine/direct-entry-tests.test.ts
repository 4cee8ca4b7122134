/*
 * Entry tests (instrument.ts, `entryTest`): a frame whose first segment starts
 * with a test that may leave it runs that test before its state check, fused
 * with it, so a fast path takes one branch where it took two. A rewind runs
 * the test again, after the import that suspended has changed memory: each
 * case here has an async import that writes memory before its Promise settles
 * (the reference run, the module untouched, writes the same at once), so the
 * test's reads differ on the rewind, and a build that let them matter gives
 * another number, traps, or misses the import (ASYNCIFY_REWIND_MISMATCH).
 * Whether a function got its fused test is read from its text: none of the
 * inputs has an `i32.and`, which only the fused test adds.
 */
import { describe, expect, it } from 'vitest'
import { prepareAsyncifyWithoutBinaryen } from '../../src/transform/direct/asyncify-fast.js'
import { instantiate } from '../../src/runtime-shim/index.js'
import type { TransformOptions } from '../../src/transform/index.js'
import { functionText, wat } from '../helpers/wat.js'

/**
 * `refill(x)` writes `x` at address 0 (a buffer's position) and the bytes 1 to
 * 4 at 16 (its contents), and puts an address out of bounds at 8, where a
 * caller takes its argument from.
 */
const IMPORTS = `
  (import "env" "refill" (func $refill (param i32) (result i32)))
  (memory (export "memory") 1)`

function env(memory: () => WebAssembly.Memory, suspend: boolean, log: number[]) {
  return {
    refill: (x: number) => {
      log.push(x)
      const write = () => {
        const view = new DataView(memory().buffer)
        view.setInt32(0, x, true)
        view.setUint32(8, 0xfff0_0000, true)
        for (let k = 0; k < 4; k++) view.setUint8(16 + k, k + 1)
        return x * 10
      }
      return suspend ? new Promise((resolve) => setTimeout(() => resolve(write()))) : write()
    },
  }
}

function build(text: string, options: TransformOptions = {}): { bytes: Uint8Array; built: Uint8Array } {
  const bytes = wat(`(module ${IMPORTS} ${text})`)
  const result = prepareAsyncifyWithoutBinaryen(bytes, { imports: ['env.refill'], ...options })
  expect(result, 'the direct engine declined the module').not.toBeNull()
  return { bytes, built: result!.wasm! }
}

/** `run(...args)` on the module untouched (the import answering at once) and built (suspending at each call): the same result and import calls. */
async function agree(bytes: Uint8Array, built: Uint8Array, args: number[], prepare: (memory: DataView) => void = () => {}): Promise<void> {
  const expectedLog: number[] = []
  let plainMemory: WebAssembly.Memory
  const plain = new WebAssembly.Instance(new WebAssembly.Module(bytes as Uint8Array<ArrayBuffer>), { env: env(() => plainMemory, false, expectedLog) })
  plainMemory = plain.exports.memory as WebAssembly.Memory
  prepare(new DataView(plainMemory.buffer))
  const expected = (plain.exports.run as (...args: number[]) => number)(...args)

  const log: number[] = []
  let memory: WebAssembly.Memory
  const { instance } = await instantiate(built, { env: env(() => memory, true, log) }, { mode: 'asyncify' })
  memory = instance.exports.memory as WebAssembly.Memory
  prepare(new DataView(memory.buffer))
  const got = await (instance.exports.run as (...args: number[]) => Promise<number>)(...args)
  expect({ result: got, log }).toEqual({ result: expected, log: expectedLog })
  expect(log.length, 'the import was never called: nothing suspended').toBeGreaterThan(0)
}

/**
 * `$get` tests what its parameter points at and refills when it is 0, then
 * returns `returned`; `run` passes it an address it loads from 8, which the
 * refill puts out of bounds, so a rewind passes that.
 */
function loadingGetter(returned: string): string {
  return `
    (func $get (param $p i32) (result i32)
      (block $fast
        (br_if $fast (i32.ne (i32.load (local.get $p)) (i32.const 0)))
        (drop (call $refill (i32.const 2)))
        (return ${returned}))
      (i32.const 9))
    (func (export "run") (result i32)
      (call $get (i32.load (i32.const 8))))`
}

describe('entry tests run before the state check', () => {
  // A buffered reader: the fast path leaves at once; a used-up buffer waits for a refill, which moves the position
  // so that the test, run again on the rewind, would take the fast path.
  const reader = `
    (func $next (param $suspend i32) (result i32) (local $p i32)
      (block $fast
        (br_if $fast (i32.ne (local.tee $p (i32.load (i32.const 0))) (i32.const 4)))
        (i32.store (i32.const 0) (i32.const 0))
        (local.set $p (i32.const 0))
        (br_if $fast (i32.eqz (local.get $suspend)))
        (drop (call $refill (i32.const 1)))
        (local.set $p (i32.load (i32.const 0))))
      (i32.store (i32.const 0) (i32.add (local.get $p) (i32.const 1)))
      (i32.load8_u offset=16 (local.get $p)))
    (func (export "run") (param $n i32) (result i32) (local $i i32) (local $sum i32)
      (loop $bytes
        (local.set $sum (i32.add (i32.mul (local.get $sum) (i32.const 31)) (call $next (i32.const 1))))
        (br_if $bytes (i32.lt_u (local.tee $i (i32.add (local.get $i) (i32.const 1))) (local.get $n))))
      (local.get $sum))`

  it('a buffered read resumes at its refill, though the test would now take the fast path', async () => {
    const { bytes, built } = build(reader)
    expect(functionText(built, 'next')).toContain('i32.and')
    await agree(bytes, built, [11], (memory) => memory.setInt32(0, 4, true))
  })

  it('a test on any i32, not a comparison, is made 0 or 1 before it meets the state', async () => {
    // The refill writes 2, an even number: and-ed with the state's eqz as it is, it would read as false, and every
    // call would refill again.
    const { bytes, built } = build(`
      (func $next (result i32)
        (block $fast
          (br_if $fast (i32.load (i32.const 0)))
          (drop (call $refill (i32.const 2))))
        (i32.add (i32.load (i32.const 0)) (i32.load8_u offset=16 (i32.const 0))))
      (func (export "run") (param $n i32) (result i32) (local $i i32) (local $sum i32)
        (loop $calls
          (local.set $sum (i32.add (i32.mul (local.get $sum) (i32.const 31)) (call $next)))
          (br_if $calls (i32.lt_u (local.tee $i (i32.add (local.get $i) (i32.const 1))) (local.get $n))))
        (local.get $sum))`)
    expect(functionText(built, 'next')).toContain('i32.and')
    await agree(bytes, built, [5])
  })

  it('at optimize "z" the state check stays first: the fused test costs bytes', () => {
    const { built } = build(reader, { optimize: 'z' })
    expect(functionText(built, 'next')).not.toContain('i32.and')
  })

  it('a test writing a local the code after the site reads is left after the state check', async () => {
    // $n is saved at the unwind: a test run on the rewind would overwrite its restored value with the refill's.
    const { bytes, built } = build(`
      (func $run (export "run") (result i32) (local $n i32)
        (block $empty
          (br_if $empty (i32.eqz (local.tee $n (i32.load (i32.const 0)))))
          (drop (call $refill (i32.const 9)))
          (return (i32.add (i32.mul (local.get $n) (i32.const 100)) (i32.load (i32.const 0)))))
        (i32.const -1))`)
    expect(functionText(built, 'run')).not.toContain('i32.and')
    await agree(bytes, built, [], (memory) => memory.setInt32(0, 3, true))
  })

  it('a test loading through a parameter that is not restored is left after the state check', async () => {
    // The caller loads the argument again on the rewind, and finds an address out of bounds there: a test run
    // with it would trap.
    const { bytes, built } = build(loadingGetter('(i32.const 7)'))
    expect(functionText(built, 'get')).not.toContain('i32.and')
    await agree(bytes, built, [], (memory) => memory.setUint32(8, 32, true))
  })

  it('a test loading through a parameter written before the site is left after the state check', async () => {
    // The record holds what $p held at the site, an address out of bounds, not what the test loaded through.
    const { bytes, built } = build(`
      (func $get (param $p i32) (result i32)
        (block $fast
          (br_if $fast (i32.ne (i32.load (local.get $p)) (i32.const 0)))
          (local.set $p (i32.load (i32.const 8)))
          (drop (call $refill (i32.const 2)))
          (return (i32.add (i32.const 5) (i32.shr_u (local.get $p) (i32.const 31)))))
        (i32.const 9))
      (func (export "run") (result i32)
        (call $get (i32.const 32)))`)
    expect(functionText(built, 'get')).not.toContain('i32.and')
    await agree(bytes, built, [], (memory) => memory.setUint32(8, 0xfff0_0000, true))
  })

  it('a test loading through a parameter the record restores runs first, and loads where the first run did', async () => {
    // The same, but $p is read after the site, so the record holds it: restored before the test runs again.
    const { bytes, built } = build(loadingGetter('(i32.load offset=4 (local.get $p))'))
    expect(functionText(built, 'get')).toContain('i32.and')
    await agree(bytes, built, [], (memory) => {
      memory.setUint32(8, 32, true)
      memory.setUint32(36, 55, true)
    })
  })
})
