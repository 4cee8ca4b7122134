/*
 * What the direct engine saves at an unwind and restores at a rewind
 * (frame-records.ts), in a clang-compiled program: frames that keep i32, i64,
 * f32 and f64 locals across several suspensions each, at several depths, give
 * what the program gives with the import answering at once. Records are
 * written in place by default, and with `optimize: 's'` or `'z'` by helpers
 * the functions share, returning several values only where the input may use
 * multi-value.
 */
import binaryen from 'binaryen'
import { describe, expect, it } from 'vitest'
import { instantiate } from '../../src/runtime-shim/index.js'
import { prepareAsyncifyWithoutBinaryen } from '../../src/transform/direct/asyncify-fast.js'
import type { TransformOptions } from '../../src/transform/options.js'
import { scanModule } from '../../src/transform/scan.js'
import { compileC } from '../helpers/compile-c.js'
import { later } from '../helpers/engine.js'
import { wat } from '../helpers/wat.js'

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

function build(input: Uint8Array, options: TransformOptions): Uint8Array {
  const built = prepareAsyncifyWithoutBinaryen(input, options)
  expect(built?.report.engine).toBe('direct')
  return built!.wasm!
}

/** Type indices with more than one result. */
function multiValueTypes(wasm: Uint8Array): number {
  return scanModule(wasm, { code: false }).types.filter((type) => type !== null && type.results.length > 1).length
}

function addedFunctions(input: Uint8Array, output: Uint8Array): number {
  return scanModule(output, { code: false }).functions.length - scanModule(input, { code: false }).functions.length
}

function validatesWith(wasm: Uint8Array, features: number): boolean {
  const module = binaryen.readBinary(wasm)
  try {
    module.setFeatures(features)
    return Boolean(module.validate())
  } finally {
    module.dispose()
  }
}

describe('saved locals', () => {
  const { MVP, MutableGlobals, SignExt, Multivalue } = binaryen.Features
  for (const [label, options, flags, shared, multiValue] of [
    ['written in place', { optimize: 2 }, [], false, false],
    ['written by shared helpers (optimize "z")', { optimize: 'z' }, [], true, false],
    ['written by shared helpers returning several values (optimize "s", a module built with -mmultivalue)', { optimize: 's' }, ['-mmultivalue'], true, true],
  ] as const) {
    it(`i32, i64, f32 and f64 locals come back at every depth, after every suspension, ${label}`, async () => {
      const input = compileC('saved-locals.c', [...flags])
      const wasm = build(input, { imports: ['env.next'], ...options })
      expect(multiValueTypes(input)).toBe(0)
      // Asyncify's five exports and the bound check they share, then any helpers.
      expect(addedFunctions(input, wasm) > 6).toBe(shared)
      expect(multiValueTypes(wasm) > 0).toBe(multiValue)
      // The output keeps to the input's features: multi-value only where its target_features section has it.
      expect(validatesWith(wasm, MVP | MutableGlobals | SignExt | (multiValue ? Multivalue : 0))).toBe(true)
      for (const depth of [0, 1, 5, 30]) {
        const { result, suspensions } = await suspended(wasm, depth)
        expect(result).toEqual(reference(input, depth))
        // mixed: three per frame and one at the bottom; wide: one per frame and one at the bottom.
        expect(suspensions).toBe(3 * (depth + 1) + 1 + (depth + 2))
      }
    })
  }

  const twoFunctions = (type: 'i32' | 'i64') =>
    wat(`(module
      (import "env" "wait" (func $wait (result i32)))
      (memory (export "memory") 1)
      (func $one (export "one") (param $a i32) (param $b i64) (result i64)
        (local $c f64)
        (local.set $c (f64.convert_i32_s (call $wait)))
        (i64.add (i64.extend_i32_s (i32.add (local.get $a) (call $wait))) (i64.add (local.get $b) (i64.trunc_f64_s (local.get $c)))))
      (func $two (export "two") (param $x i32) (param $y ${type}) (result f64)
        (local $z f64)
        (local.set $z (f64.convert_i32_s (call $wait)))
        (f64.add (f64.convert_i32_s (i32.add (local.get $x) (call $wait)))
          (f64.add (f64.convert_${type}_s (local.get $y)) (local.get $z)))))`)

  it('functions whose records hold the same types share one save and one restore; a record type one function uses is written in place', () => {
    const same = twoFunctions('i64')
    const other = twoFunctions('i32')
    // Asyncify's five exports and the bound check they share, then the helpers.
    expect(addedFunctions(same, build(same, { imports: ['env.wait'], optimize: 'z' }))).toBe(6 + 2)
    expect(addedFunctions(other, build(other, { imports: ['env.wait'], optimize: 'z' }))).toBe(6)
    expect(addedFunctions(same, build(same, { imports: ['env.wait'] }))).toBe(6)
  })

  it('a record type one function uses costs more through helpers than in place: optimize "z" never makes a module larger', () => {
    for (const program of ['saved-locals.c', 'loop.c', 'sort.c', 'recurse.c']) {
      const input = compileC(program)
      const imports = program === 'saved-locals.c' ? ['env.next'] : ['env.*']
      expect(build(input, { imports, optimize: 'z' }).length, program).toBeLessThanOrEqual(build(input, { imports }).length)
    }
  })
})
