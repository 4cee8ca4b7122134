import binaryen from 'binaryen'
import { asyncifyWasm, AsyncifyError } from 'unplugin-asyncify/transform'
import { describe, expect, it } from 'vitest'
import { compileC } from '../helpers/compile-c.js'
import { wat } from '../helpers/wat.js'
import { fastBuildOrFallback } from '../../src/transform/without-binaryen.js'
import type { TransformResult } from '../../src/transform/pipeline.js'
import { AsyncifyError as SrcAsyncifyError } from '../../src/runtime-shim/errors.js'

async function failure(bytes: Uint8Array, options: Parameters<typeof asyncifyWasm>[1] = {}): Promise<AsyncifyError> {
  const error = await asyncifyWasm(bytes, { filename: 'prog.wasm', ...options }).then(
    () => null,
    (e: unknown) => e,
  )
  expect(error).toBeInstanceOf(AsyncifyError)
  return error as AsyncifyError
}

const simple = () =>
  wat(`(module
    (import "env" "get" (func $get (result i32)))
    (memory (export "memory") 1)
    (func (export "run") (result i32) (call $get)))`)

describe('transform errors name the file, the cause and the fix', () => {
  it('bytes that are not wasm', async () => {
    const error = await failure(new TextEncoder().encode('export default 1\n'))
    expect(error.code).toBe('ASYNCIFY_NOT_WASM')
    expect(error.message).toMatch(/^prog\.wasm: not a WebAssembly module/)
  })

  it('null, undefined, a path string or a number instead of bytes', async () => {
    for (const [input, got] of [
      [null, /got null; pass the contents of the \.wasm file/],
      [undefined, /got undefined; pass the contents/],
      ['prog.wasm', /got a string \("prog\.wasm"\); pass the file's contents, not its path/],
      [42, /got a number \(42\); pass the contents/],
      [{ length: 8 }, /got an object \(\[object Object\]\)/],
    ] as const) {
      const error = await failure(input as never)
      expect(error.code).toBe('ASYNCIFY_NOT_WASM')
      expect(error.message).toMatch(/^prog\.wasm: asyncifyWasm\(\) takes the module's bytes/)
      expect(error.message).toMatch(got)
    }
  })

  it('an ArrayBuffer, a Buffer, a DataView or a view into a larger buffer is taken as the module', async () => {
    const bytes = simple()
    const padded = new Uint8Array(bytes.length + 16)
    padded.set(bytes, 8)
    for (const input of [
      bytes.slice().buffer,
      Buffer.from(bytes),
      new DataView(bytes.slice().buffer),
      padded.subarray(8, 8 + bytes.length),
    ]) {
      const { report } = await asyncifyWasm(input, { imports: ['env.get'] })
      expect(report.suspendingExports).toEqual(['run'])
    }
    expect(padded.subarray(8, 8 + bytes.length)).toEqual(bytes)
  })

  it('a truncated module', async () => {
    const bytes = compileC('loop.c')
    const error = await failure(bytes.subarray(0, Math.floor(bytes.length / 2)))
    expect(error.code).toBe('ASYNCIFY_INVALID_WASM')
    expect(error.message).toMatch(/^prog\.wasm: .*truncated or corrupted/)
  })

  it('a module that does not validate', async () => {
    // (func) whose body leaves an i32 on the stack of a function with no result.
    const bytes = new Uint8Array([
      0, 97, 115, 109, 1, 0, 0, 0, 1, 4, 1, 96, 0, 0, 3, 2, 1, 0, 10, 6, 1, 4, 0, 65, 0, 11,
    ])
    const error = await failure(bytes)
    expect(error.code).toBe('ASYNCIFY_INVALID_WASM')
    expect(error.message).toMatch(/^prog\.wasm: /)
  })

  it('try_table exception handling, with the function that uses it', async () => {
    const bytes = wat(
      `(module
        (import "env" "get" (func $get (result i32)))
        (tag $e)
        (func $guarded (export "run") (result i32)
          (block $caught
            (try_table (catch $e $caught) (return (call $get))))
          (i32.const -1)))`,
      ['ExceptionHandling', 'ReferenceTypes'],
    )
    const error = await failure(bytes, { mode: 'asyncify' })
    expect(error.code).toBe('ASYNCIFY_UNSUPPORTED_FEATURE')
    expect(error.message).toMatch(/"guarded" uses `try_table`/)
  })

  it('call_ref, which Asyncify would silently not instrument', async () => {
    const bytes = wat(
      `(module
        (type $t (func (result i32)))
        (import "env" "get" (func $get (result i32)))
        (elem declare func $get)
        (func $through_ref (export "run") (result i32) (call_ref $t (ref.func $get))))`,
      ['ReferenceTypes', 'GC'],
    )
    const error = await failure(bytes, { mode: 'asyncify' })
    expect(error.code).toBe('ASYNCIFY_UNSUPPORTED_FEATURE')
    expect(error.message).toMatch(/"through_ref" uses `call_ref`/)
  })

  it('tail calls, which Asyncify refuses', async () => {
    const bytes = wat(
      `(module
        (import "env" "get" (func $get (result i32)))
        (memory 1)
        (func $tail (export "run") (result i32) (return_call $get)))`,
      ['TailCall'],
    )
    const error = await failure(bytes, { optimize: 0, mode: 'asyncify' })
    expect(error.code).toBe('ASYNCIFY_UNSUPPORTED_FEATURE')
    expect(error.message).toMatch(/^prog\.wasm: Binaryen's Asyncify pass cannot transform this module in function "tail": tail calls/)
    expect(error.message).toMatch(/list "tail" in asyncify\(\{ runtime \}\)/)
  })

  it('a reference-typed local in a function that can suspend, naming that function and not its neighbours', async () => {
    const bytes = wat(
      `(module
        (import "env" "get" (func $get (result i32)))
        (memory 1)
        (func $quiet (export "quiet") (result i32) (local $r externref) (i32.const 1))
        (func $holder (export "run") (result i32) (local $r externref)
          (local.set $r (ref.null extern))
          (drop (call $get))
          (drop (local.get $r))
          (i32.const 1)))`,
      ['ReferenceTypes'],
    )
    // The direct engine refuses it itself, naming the local's type; Binaryen's pass refuses it as well, in its words.
    const error = await failure(bytes, { optimize: 0, mode: 'asyncify' })
    expect(error.code).toBe('ASYNCIFY_UNSUPPORTED_FEATURE')
    expect(error.message).toMatch(/^prog\.wasm: function "holder" keeps a local of type externref across a call that may suspend; .*list "holder" in asyncify\(\{ runtime \}\)/)
    const theirs = await failure(bytes, { optimize: 0, mode: 'asyncify', engine: 'binaryen' })
    expect(theirs.code).toBe('ASYNCIFY_UNSUPPORTED_FEATURE')
    expect(theirs.message).toMatch(/cannot transform this module in function "holder": Asyncify does not yet support non-number types/)
  })

  it('a module this package already transformed', async () => {
    const { wasm } = await asyncifyWasm(simple(), { imports: ['env.get'] })
    const error = await failure(wasm!)
    expect(error.code).toBe('ASYNCIFY_ALREADY_TRANSFORMED')
    expect(error.message).toMatch(/Pass the original module/)
  })

  it('a module another tool already put through Asyncify', async () => {
    const module = binaryen.readBinary(simple())
    module.runPasses(['asyncify'])
    const bytes = module.emitBinary()
    module.dispose()
    const error = await failure(bytes)
    expect(error.code).toBe('ASYNCIFY_ALREADY_TRANSFORMED')
  })

  it('bad options', async () => {
    const error = await failure(simple(), { optimize: 7 as never })
    expect(error.code).toBe('ASYNCIFY_BAD_OPTIONS')
    expect((await failure(simple(), { imports: ['sleep'] })).message).toMatch(/"module\.name"/)
    expect((await failure(simple(), { preoptimize: 'yes' as never })).message).toMatch(/preoptimize must be true or false; got "yes"/)
    // A misspelled option would leave every import async without a word.
    const misspelled = await failure(simple(), { asyncImports: ['env.get'], filename: 'prog.wasm' } as never)
    expect(misspelled.code).toBe('ASYNCIFY_BAD_OPTIONS')
    expect(misspelled.message).toMatch(/^prog\.wasm: unknown option "asyncImports"; the options are imports, runtime, .*filename$/)
  })

  it('the process and the transform keep working after every failure above', async () => {
    const { report } = await asyncifyWasm(simple(), { imports: ['env.get'] })
    expect(report.suspendingExports).toEqual(['run'])
  })
})

describe('transform report', () => {
  it('counts instrumented functions and sizes, and warns when every import is taken as async', async () => {
    const bytes = compileC('sort.c')
    const { report, wasm } = await asyncifyWasm(bytes, { filename: 'sort.wasm' })
    expect(report.filename).toBe('sort.wasm')
    expect(report.functions.instrumented).toBeGreaterThan(0)
    expect(report.functions.instrumented).toBeLessThan(report.functions.total)
    expect(report.size).toEqual({ before: bytes.length, after: wasm!.length })
    expect(report.warnings.join('\n')).toMatch(/all 1 function imports are treated as possibly async.*this module imports env\.compare\)/)
    expect(WebAssembly.Module.customSections(new WebAssembly.Module(wasm as Uint8Array<ArrayBuffer>), 'name').length).toBe(1)
  })

  it('warns about an import pattern that matches nothing', async () => {
    const { report } = await asyncifyWasm(simple(), { imports: ['env.get', 'env.sleeep'] })
    expect(report.warnings).toEqual([expect.stringMatching(/"env\.sleeep" matches no function import.*env\.get/)])
  })
})

describe('a failure of the direct engine that is not bad input', () => {
  const built = { wasm: new Uint8Array([0, 97, 115, 109]) } as unknown as TransformResult

  it('hands the module to Binaryen\'s pipeline with a warning for its report naming the cause and what to do (the report names the file)', () => {
    const { fast, warning } = fastBuildOrFallback(() => {
      throw new TypeError('cannot read properties of undefined')
    })
    expect(fast).toBeNull()
    expect(warning).toMatch(/^the direct engine failed \(cannot read properties of undefined\), so Binaryen's pipeline built this module instead.*please report it with the \.wasm file$/)
  })

  it('passes a build through without a warning, and throws bad input as it is', () => {
    expect(fastBuildOrFallback(() => built)).toEqual({ fast: built, warning: null })
    expect(fastBuildOrFallback(() => null)).toEqual({ fast: null, warning: null })
    const bad = new SrcAsyncifyError('ASYNCIFY_NOT_WASM', 'prog.wasm: not a WebAssembly module')
    expect(() => fastBuildOrFallback(() => { throw bad })).toThrow(bad)
  })
})
