/*
 * What the direct engine does not handle it declines (null), and the full
 * API then builds the module with Binaryen's pass: the two cases
 * instrument.ts throws DecodeUnsupported for (a block with parameters that
 * holds a site, a local of a type it cannot save live across one), each
 * declined by directAsyncify and by prepareAsyncifyWithoutBinaryen, then
 * built by asyncifyWasm and run. The same constructs away from any site do
 * not make it decline. A function with several results it builds (since
 * 2026-11-24), whether or not it holds a site. What Asyncify cannot transform
 * at all it refuses itself, as the pipeline does.
 */
import { asyncifyWasm } from 'unplugin-asyncify/transform'
// asyncifyWasm's worker runs the built package: its builds go to the built runtime, the direct engine's from src/ to src/'s.
import * as built from 'unplugin-asyncify/runtime'
import { describe, expect, it } from 'vitest'
import { instantiate } from '../../src/runtime-shim/index.js'
import { concatBytes, encodeName, functionBody, section, vector } from '../../src/runtime-shim/wasm-writer.js'
import { prepareAsyncifyWithoutBinaryen } from '../../src/transform/direct/asyncify-fast.js'
import { directAsyncify } from '../../src/transform/direct/module.js'
import { resolveTransformOptions } from '../../src/transform/options.js'
import { buildWithoutBinaryen } from '../../src/transform/without-binaryen.js'
import { stripNames } from '../helpers/strip-names.js'
import { wat } from '../helpers/wat.js'

const wait = (x: number) => new Promise<number>((resolve) => setTimeout(() => resolve(x * 10)))

/**
 * Runs `bytes` built by the full API and expects Binaryen built it (the
 * direct engine having declined) and `run(x)` to give `expected`.
 */
async function builtByBinaryen(bytes: Uint8Array, x: number, expected: number): Promise<void> {
  const { wasm, report } = await asyncifyWasm(bytes, { imports: ['env.wait'], mode: 'asyncify' })
  expect(report.engine).toBe('binaryen')
  const { instance } = await built.instantiate(wasm!, { env: { wait } }, { mode: 'asyncify' })
  await expect((instance.exports as Record<string, (x: number) => Promise<number>>).run!(x)).resolves.toBe(expected)
}

/** Builds `bytes` with the direct engine (which must not decline) and expects `run(x)` to give `expected`. */
async function builtDirectly(bytes: Uint8Array, x: number, expected: number): Promise<void> {
  const result = prepareAsyncifyWithoutBinaryen(bytes, { imports: ['env.wait'] })
  expect(result, 'the direct engine declined the module').not.toBeNull()
  const { instance } = await instantiate(result!.wasm!, { env: { wait } }, { mode: 'asyncify' })
  await expect((instance.exports as Record<string, (x: number) => Promise<number>>).run!(x)).resolves.toBe(expected)
}

/** A plan instrumenting every defined function, with import 0 (env.wait) and all of them unwinding. */
function everything(imported: number, defined: number) {
  const functions = Array.from({ length: defined }, (_, k) => imported + k)
  return { unwinding: new Set([0, ...functions]), instrument: new Set(functions), stackPointer: null, sharedRecords: false, argumentsAgain: new Map<number, Set<number>>() }
}

describe('a function with several results', () => {
  it('that holds a site is built by the direct engine, and its results of three types come out right after a suspension', async () => {
    // $keep comes from a global the function moves on, so the rewind takes it from the record, not from computing it again.
    const bytes = wat(
      `(module
        (import "env" "wait" (func $wait (param i32) (result i32)))
        (memory 1)
        (global $next (mut i32) (i32.const 5))
        (func $triple (param $x i32) (result i32 i64 f64)
          (local $keep i32)
          (local.set $keep (global.get $next))
          (global.set $next (i32.add (global.get $next) (i32.const 1)))
          (call $wait (local.get $x))
          (i64.extend_i32_s (i32.add (local.get $keep) (local.get $x)))
          (f64.convert_i32_s (local.get $keep)))
        (func (export "run") (param $x i32) (result i32)
          (local $a i32) (local $b i64) (local $c f64)
          (call $triple (local.get $x))
          (local.set $c)
          (local.set $b)
          (local.set $a)
          (i32.add (i32.add (local.get $a) (i32.wrap_i64 (local.get $b))) (i32.trunc_f64_s (local.get $c)))))`,
      ['Multivalue'],
    )
    expect(directAsyncify(bytes, everything(1, 2))).not.toBeNull()
    // wait(4) gives 40; $keep is 5: 40 + 9 + 5.
    await builtDirectly(bytes, 4, 54)
    const small = prepareAsyncifyWithoutBinaryen(bytes, { imports: ['env.wait'], optimize: 'z' })
    const { instance } = await instantiate(small!.wasm!, { env: { wait } }, { mode: 'asyncify' })
    await expect((instance.exports as Record<string, (x: number) => Promise<number>>).run!(4)).resolves.toBe(54)
  })

  it('called, but holding no site, does not stop the direct engine, and the build runs', async () => {
    const bytes = wat(
      `(module
        (import "env" "wait" (func $wait (param i32) (result i32)))
        (memory 1)
        (func $pair (param $x i32) (result i32 i32)
          (i32.mul (local.get $x) (i32.const 10))
          (i32.add (local.get $x) (i32.const 1)))
        (func (export "run") (param $x i32) (result i32)
          (call $pair (call $wait (local.get $x)))
          (i32.sub)))`,
      ['Multivalue'],
    )
    await builtDirectly(bytes, 4, 400 - 41)
  })
})

describe('a block with parameters', () => {
  /**
   * (func run (param i32) (result i32) local.get 0 <before> block (param i32) (result i32) <inside> end
   * i32.const 1 i32.add), assembled by hand: Binaryen's text parser lowers block parameters away.
   */
  const withBlockParams = (before: number[], inside: number[]) =>
    concatBytes(
      [0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00],
      section(1, vector([[0x60, 1, 0x7f, 1, 0x7f]])),
      section(2, vector([concatBytes(encodeName('env'), encodeName('wait'), [0x00, 0])])),
      section(3, vector([[0]])),
      section(5, vector([[0x00, 1]])),
      section(7, vector([concatBytes(encodeName('run'), [0x00, 1]), concatBytes(encodeName('memory'), [0x02, 0])])),
      section(10, vector([functionBody([], [0x20, 0, ...before, 0x02, 0x00, ...inside, 0x0b, 0x41, 1, 0x6a])])),
    )
  const call = [0x10, 0]
  const double = [0x41, 2, 0x6c]

  it('that holds a site is declined, and the full API builds it with Binaryen and it runs', async () => {
    const bytes = withBlockParams([], call)
    expect(WebAssembly.validate(bytes as Uint8Array<ArrayBuffer>)).toBe(true)
    expect(directAsyncify(bytes, everything(1, 1))).toBeNull()
    expect(prepareAsyncifyWithoutBinaryen(bytes, { imports: ['env.wait'] })).toBeNull()
    await builtByBinaryen(bytes, 3, 31)
  })

  it('after the function\'s last site, holding none, does not stop the direct engine, and the build runs', async () => {
    const bytes = withBlockParams(call, double)
    expect(WebAssembly.validate(bytes as Uint8Array<ArrayBuffer>)).toBe(true)
    await builtDirectly(bytes, 3, 61)
  })
})

describe('a local the engine cannot save', () => {
  const withLocal = (type: 'externref', reads: boolean) =>
    wat(
      `(module
        (import "env" "wait" (func $wait (param i32) (result i32)))
        (memory 1)
        (func $run (export "run") (param $x i32) (result i32) (local $kept ${type})
          (local.set $x (call $wait (local.get $x)))
          ${reads ? '(drop (local.get $kept))' : ''}
          (i32.add (local.get $x) (i32.const 1))))`,
      ['ReferenceTypes'],
    )

  // Binaryen's Asyncify refuses it too: such a module has no Asyncify build (README, Limits). Handing it to Binaryen's
  // pipeline to be refused took Ruffle's module (14 MB, from npm) four minutes in mode auto; refused here, 0.8 s.
  it('an externref local live across a site is refused, naming the function, and mode auto makes the JSPI build alone without Binaryen', () => {
    const bytes = withLocal('externref', true)
    expect(() => prepareAsyncifyWithoutBinaryen(bytes, { imports: ['env.wait'] })).toThrow(/function "run" keeps a local of type externref across a call that may suspend/)
    const built = buildWithoutBinaryen(bytes, resolveTransformOptions({ imports: ['env.wait'], filename: 'prog.wasm' }))
    expect(built, 'built without Binaryen').not.toBeNull()
    expect(built!.report.paths).toEqual(['jspi'])
    expect(built!.report.asyncifyUnsupported).toMatch(/keeps a local of type externref/)
  })

  it('an externref local that no path reads across a site does not stop the direct engine, and the build runs', async () => {
    await builtDirectly(withLocal('externref', false), 2, 21)
  })
})

describe('reference-typed results', () => {
  // wasm-bindgen's catch wrappers (automerge's module has them): an import returning an externref, called in a
  // legacy try, its result returned. Binaryen's Asyncify refuses any reference type; no local of one lives across a site
  // here, so the direct engine builds it, and a function that leaves while unwinding returns ref.null for it.
  const wrapper = wat(
    `(module
      (import "env" "fetch" (func $fetch (param externref) (result externref)))
      (import "env" "wait" (func $wait (param i32) (result i32)))
      (tag $e (param externref))
      (memory 1)
      (elem declare func $one)
      (func $one)
      (func $caught (param $x externref) (result externref) (local $r externref)
        (try (result externref)
          (do (local.set $r (call $fetch (local.get $x))) (local.get $r))
          (catch $e (pop externref))))
      (func (export "fetched") (param $x externref) (result externref)
        (call $caught (local.get $x)))
      (func $pick (param $x i32) (result funcref)
        (if (result funcref) (call $wait (local.get $x)) (then (ref.func $one)) (else (ref.null func))))
      (func (export "run") (param $x i32) (result i32)
        (i32.add (ref.is_null (call $pick (local.get $x))) (call $wait (local.get $x)))))`,
    ['ReferenceTypes', 'ExceptionHandling'],
  )

  it('an async import and functions returning an externref or a funcref are built by the direct engine, and their values come back after suspensions', async () => {
    const result = prepareAsyncifyWithoutBinaryen(wrapper, { imports: ['env.fetch', 'env.wait'] })
    expect(result, 'the direct engine declined the module').not.toBeNull()
    const answer = { answer: 42 }
    const { instance } = await instantiate(
      result!.wasm!,
      { env: { fetch: async (key: unknown) => ({ key, answer }), wait: async (x: number) => x } },
      { mode: 'asyncify' },
    )
    const exports = instance.exports as unknown as { fetched(key: unknown): Promise<unknown>; run(x: number): Promise<number> }
    await expect(exports.fetched('key')).resolves.toEqual({ key: 'key', answer })
    // wait(x) is x: a nonzero x picks $one (not null), zero picks null.
    await expect(exports.run(5)).resolves.toBe(5)
    await expect(exports.run(0)).resolves.toBe(1)
  })
})

describe('atomic instructions', () => {
  it('on an unshared memory, around a site, are built by the direct engine, and the build runs', async () => {
    const bytes = wat(
      `(module
        (import "env" "wait" (func $wait (param i32) (result i32)))
        (memory 1)
        (func (export "run") (param $x i32) (result i32)
          (drop (i32.atomic.rmw.add (i32.const 16) (local.get $x)))
          (local.set $x (call $wait (local.get $x)))
          (i32.add (i32.atomic.load (i32.const 16)) (local.get $x))))`,
      ['Atomics'],
    )
    // 16 holds x after the add, and wait gives 10x: 11x.
    await builtDirectly(bytes, 21, 231)
  })

  it('in a threaded module stripped of names, let mode auto make its JSPI build without Binaryen, with the stack pointer found by shape', () => {
    // tfjs-backend-wasm's threaded build went to Binaryen's pipeline for this: 5 s and 340 MB instead of a fraction of a second.
    const bytes = stripNames(
      wat(
        `(module
          (import "env" "wait" (func $wait (param i32) (result i32)))
          (memory 1 1 shared)
          (global $sp (mut i32) (i32.const 65536))
          (func (export "run") (param $x i32) (result i32) (local $frame i32)
            (global.set $sp (local.tee $frame (i32.sub (global.get $sp) (i32.const 16))))
            (drop (i32.atomic.rmw.add (local.get $frame) (local.get $x)))
            (local.set $x (call $wait (local.get $x)))
            (global.set $sp (i32.add (local.get $frame) (i32.const 16)))
            (local.get $x)))`,
        ['Atomics'],
      ),
    )
    const built = buildWithoutBinaryen(bytes, resolveTransformOptions({ imports: ['env.wait'], filename: 'threads.wasm' }))
    expect(built, 'built without Binaryen').not.toBeNull()
    expect(built!.report.paths).toEqual(['jspi'])
    expect(built!.report.asyncifyUnsupported).toMatch(/shared memory/)
    expect(built!.jspi!.metadata.stackPointer).not.toBeNull()
    expect(built!.report.warnings).toEqual([])
  })
})

describe('what Asyncify cannot transform', () => {
  const noMemory = wat(`(module
    (import "env" "wait" (func $wait (param i32) (result i32)))
    (func (export "run") (param i32) (result i32) (call $wait (local.get 0))))`)
  const sharedMemory = wat(
    `(module
      (import "env" "wait" (func $wait (param i32) (result i32)))
      (memory 1 1 shared)
      (func (export "run") (param i32) (result i32) (call $wait (local.get 0))))`,
    ['Atomics'],
  )

  it('the direct engine refuses itself, with the pipeline\'s code and message', async () => {
    for (const bytes of [noMemory, sharedMemory]) {
      const theirs = (await asyncifyWasm(bytes, { imports: ['env.wait'], mode: 'asyncify', engine: 'binaryen' }).catch((e: unknown) => e)) as Error
      expect(() => prepareAsyncifyWithoutBinaryen(bytes, { imports: ['env.wait'] })).toThrow(theirs)
      expect((theirs as { code?: string }).code).toMatch(/^ASYNCIFY_(NO_MEMORY|UNSUPPORTED_FEATURE)$/)
    }
  })

  it('in mode auto, a module without memory gets its JSPI build alone without Binaryen, saying why as the pipeline does', async () => {
    const options = resolveTransformOptions({ imports: ['env.wait'], filename: 'prog.wasm' })
    const direct = buildWithoutBinaryen(noMemory, options)
    expect(direct, 'built without Binaryen').not.toBeNull()
    const pipeline = await asyncifyWasm(noMemory, { imports: ['env.wait'], filename: 'prog.wasm', engine: 'binaryen' })
    expect(direct!.report.paths).toEqual(['jspi'])
    expect(direct!.report.asyncifyUnsupported).toMatch(/has no linear memory/)
    expect(direct!.report.asyncifyUnsupported).toBe(pipeline.report.asyncifyUnsupported)
    expect(direct!.jspi!.metadata).toEqual(pipeline.jspi!.metadata)
  })
})
