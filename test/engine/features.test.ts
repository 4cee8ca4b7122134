import { asyncifyWasm, AsyncifyError, type TransformOptions } from 'unplugin-asyncify/transform'
import { instantiate } from 'unplugin-asyncify/runtime'
import { describe, expect, it } from 'vitest'
import { FEATURE_NAMES, featureMask, type FeatureName } from '../../src/transform/features.js'
import { compileC } from '../helpers/compile-c.js'
import { later } from '../helpers/engine.js'

// binaryen.js binds console.error when it loads; a switch installed first keeps expected validation failures quiet.
let quiet = false
const loud = console.error.bind(console)
console.error = (...args: unknown[]) => void (quiet || loud(...args))
const binaryen = (await import('binaryen')).default
const { MVP, MutableGlobals, SignExt } = binaryen.Features

/** Whether binaryen.js validates `wasm` with only the features in `mask`. */
function validatesWith(wasm: Uint8Array, mask: number): boolean {
  const module = binaryen.readBinary(wasm)
  try {
    module.setFeatures(mask)
    quiet = true
    try {
      return Boolean(module.validate())
    } finally {
      quiet = false
    }
  } finally {
    module.dispose()
  }
}

/** The `target_features` section's entries (`+sign-ext`, ...), or null without one. */
function targetFeatures(wasm: Uint8Array): string[] | null {
  const [section] = WebAssembly.Module.customSections(new WebAssembly.Module(wasm as Uint8Array<ArrayBuffer>), 'target_features')
  if (!section) return null
  const bytes = new Uint8Array(section)
  const entries: string[] = []
  for (let i = 1, n = 0; n < bytes[0]!; n++) {
    const length = bytes[i + 1]!
    entries.push(String.fromCharCode(bytes[i]!) + new TextDecoder().decode(bytes.subarray(i + 2, i + 2 + length)))
    i += 2 + length
  }
  return entries.sort()
}

/*
 * An MVP module (no target_features section) whose sign extension by shifts
 * the optimizer rewrites to `i32.extend8_s` whenever sign-ext is allowed.
 */
function mvpModule(): Uint8Array {
  const module = binaryen.parseText(`(module
    (import "env" "get" (func $get (param i32) (result i32)))
    (memory (export "memory") 1)
    (func $low_byte (param $x i32) (result i32)
      (i32.shr_s (i32.shl (call $get (local.get $x)) (i32.const 24)) (i32.const 24)))
    (func (export "run") (param $x i32) (result i32)
      (i32.add (call $low_byte (local.get $x)) (call $low_byte (i32.const 200)))))`)
  try {
    module.setFeatures(MVP | MutableGlobals)
    return module.emitBinary()
  } finally {
    module.dispose()
  }
}

async function failure(bytes: Uint8Array, options: TransformOptions): Promise<AsyncifyError> {
  const error = await asyncifyWasm(bytes, { filename: 'prog.wasm', ...options }).then(() => null, (e: unknown) => e)
  expect(error).toBeInstanceOf(AsyncifyError)
  return error as AsyncifyError
}

describe("the output uses the input's features", () => {
  for (const optimize of [2, 3, 's', 'z'] as const) {
    it(`an MVP module stays MVP at optimize ${optimize}, and runs`, async () => {
      const { wasm, report } = await asyncifyWasm(mvpModule(), { imports: ['env.get'], optimize })
      expect(report.warnings).toEqual([])
      expect(validatesWith(wasm!, MVP | MutableGlobals)).toBe(true)
      expect(targetFeatures(wasm!)).toBeNull()
      const { instance } = await instantiate(wasm!, { env: { get: (x: number) => later(x + 0x7f) } })
      // (x + 0x7f) as a signed byte, twice: 1 -> -128, 200 -> 71.
      await expect((instance.exports.run as (x: number) => Promise<number>)(1)).resolves.toBe(-128 + 71)
    })
  }

  // Without flags clang 14 writes no target_features section; with -msign-ext it does.
  it.each([[[]], [['-msign-ext']]])('a clang module (flags %j) whose functions end in calls transforms at optimize "z" without return_call', async (flags) => {
    const bytes = compileC('similar.c', flags)
    const { wasm } = await asyncifyWasm(bytes, { imports: ['env.step'], optimize: 'z' })
    expect(validatesWith(wasm!, MVP | MutableGlobals | SignExt)).toBe(true)
    const step = (v: number) => (v * 31 + 7) | 0
    const expected = (n: number, k: number) => {
      let acc = 0
      for (let i = 0; i < n; i++) acc = (acc + Math.imul(step(i * k + (acc ^ k)), k + 1)) | 0
      return acc ^ (k * 7)
    }
    const { instance } = await instantiate(wasm!, { env: { step: (v: number) => later(step(v)) } })
    const exports = instance.exports as Record<string, (n: number) => Promise<number>>
    for (const [name, k] of [['one', 3], ['two', 5], ['three', 11], ['four', 13]] as const) {
      await expect(exports[name]!(4)).resolves.toBe(expected(4, k))
    }
  })

  it('the features option lets the output use what it lists', async () => {
    const { wasm } = await asyncifyWasm(mvpModule(), { imports: ['env.get'], features: ['sign-ext'] })
    expect(validatesWith(wasm!, MVP | MutableGlobals)).toBe(false)
    expect(validatesWith(wasm!, MVP | MutableGlobals | SignExt)).toBe(true)
  })

  it('a module using more than the features option allows is refused, naming what it needs', async () => {
    const module = binaryen.parseText(`(module
      (memory (export "memory") 1)
      (func (export "low_byte") (param i32) (result i32) (i32.extend8_s (local.get 0))))`)
    module.setFeatures(MVP | MutableGlobals | SignExt)
    const bytes = module.emitBinary()
    module.dispose()
    const error = await failure(bytes, { features: ['bulk-memory'] })
    expect(error.code).toBe('ASYNCIFY_UNSUPPORTED_FEATURE')
    expect(error.message).toMatch(
      /^prog\.wasm: the module uses features beyond asyncify\(\{ features \}\) \(bulk-memory\); it needs sign-ext: add them/,
    )
  })

  it('a target_features section wins over the option, and the output section says what the output uses', async () => {
    const bytes = compileC('loop.c', ['-msign-ext'])
    expect(targetFeatures(bytes)).toEqual(['+sign-ext'])
    const { wasm, report } = await asyncifyWasm(bytes, { imports: ['env.next'], features: ['simd128'] })
    expect(report.warnings).toContainEqual(expect.stringMatching(/^the features option is ignored: the module's target_features section says it uses sign-ext/))
    expect(targetFeatures(wasm!)).toEqual(['+mutable-globals', '+sign-ext'])
    expect(validatesWith(wasm!, MVP | MutableGlobals | SignExt)).toBe(true)
  })

  it('with a target_features section, the direct engine builds despite the option, warning as the pipeline does', async () => {
    const bytes = compileC('loop.c', ['-msign-ext'])
    const options = { imports: ['env.next'], features: ['simd128'] as FeatureName[] }
    const direct = await asyncifyWasm(bytes, options)
    const pipeline = await asyncifyWasm(bytes, { ...options, engine: 'binaryen' })
    expect(direct.report.engine).toBe('direct')
    expect(direct.report.warnings).toEqual(pipeline.report.warnings)
    // The option changes nothing but the warning: the build is the one made without it.
    expect(Buffer.from(direct.wasm!).equals(Buffer.from((await asyncifyWasm(bytes, { imports: ['env.next'] })).wasm!))).toBe(true)
    expect(Buffer.from(direct.jspi!.wasm).equals(Buffer.from(pipeline.jspi!.wasm))).toBe(true)
    // An option that says what the section says warns of nothing.
    const same = await asyncifyWasm(bytes, { imports: ['env.next'], features: ['sign-ext'], mode: 'jspi' })
    expect(same.report.warnings.filter((warning) => warning.startsWith('the features option'))).toEqual([])
  })

  it('without a target_features section, the option is checked by Binaryen\'s pipeline', async () => {
    const { report } = await asyncifyWasm(mvpModule(), { imports: ['env.get'], features: ['sign-ext'] })
    expect(report.engine).toBe('binaryen')
  })

  it('a bad feature name, or not an array, is ASYNCIFY_BAD_OPTIONS', async () => {
    const error = await failure(mvpModule(), { features: ['sign-extension' as FeatureName] })
    expect(error.code).toBe('ASYNCIFY_BAD_OPTIONS')
    expect(error.message).toMatch(/^prog\.wasm: features: unknown feature "sign-extension"; known: atomics, bulk-memory, .*sign-ext/)
    expect((await failure(mvpModule(), { features: 'sign-ext' as never })).code).toBe('ASYNCIFY_BAD_OPTIONS')
  })

  it("every feature name is Binaryen's own name for its flag", () => {
    const flags = binaryen.Features as unknown as Record<string, number>
    for (const [name, binaryenNames] of Object.entries(FEATURE_NAMES)) {
      const mask = featureMask(binaryen, [name as FeatureName])
      expect(binaryenNames.every((flag) => flags[flag]! > 0 && (mask & flags[flag]!) === flags[flag])).toBe(true)
      // Binaryen writes a target_features section only for a module read with one.
      const module = binaryen.readBinary(compileC('loop.c', ['-msign-ext']))
      module.setFeatures(flags[binaryenNames[0]]!)
      expect(targetFeatures(module.emitBinary()), name).toContain(`+${name}`)
      module.dispose()
    }
  })
})
