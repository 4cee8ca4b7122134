/*
 * prepareAsyncifyWithoutBinaryen, the whole direct build: the metadata the
 * runtime reads (which imports may suspend, which exports return Promises),
 * and when it declines (null) so that Binaryen's pipeline builds instead.
 */
import { asyncifyWasm } from 'unplugin-asyncify/transform'
import binaryen from 'binaryen'
import { describe, expect, it } from 'vitest'
import { instantiate } from '../../src/runtime-shim/index.js'
import { ASYNCIFY_API_EXPORTS, STACK_POINTER_EXPORT } from '../../src/runtime-shim/metadata.js'
import { prepareAsyncifyWithoutBinaryen } from '../../src/transform/direct/asyncify-fast.js'
import { compileC } from '../helpers/compile-c.js'
import { stripNames } from '../helpers/strip-names.js'
import { wat } from '../helpers/wat.js'

const app = wat(`(module
  (import "env" "wait" (func $wait (param i32) (result i32)))
  (import "env" "log" (func $log (param i32)))
  (memory (export "memory") 1)
  (type $unary (func (param i32) (result i32)))
  (table 2 funcref)
  (elem (i32.const 0) $plain $waited)
  (func $plain (param $x i32) (result i32) (i32.add (local.get $x) (i32.const 1)))
  (func $waited (param $x i32) (result i32) (call $wait (local.get $x)))
  (func $helper (param $x i32) (result i32) (i32.mul (call $waited (local.get $x)) (i32.const 2)))
  (func (export "direct") (param $x i32) (result i32) (call $wait (local.get $x)))
  (func (export "nested") (param $x i32) (result i32) (call $helper (local.get $x)))
  (func (export "through_table") (param $k i32) (result i32) (call_indirect (type $unary) (local.get $k) (local.get $k)))
  (func (export "pure") (param $x i32) (result i32) (call $plain (local.get $x)))
  (func (export "logs") (param $x i32) (call $log (local.get $x))))`)

function build(bytes: Uint8Array, options: Parameters<typeof prepareAsyncifyWithoutBinaryen>[1] = {}) {
  return prepareAsyncifyWithoutBinaryen(bytes, { imports: ['env.wait'], ...options })
}

describe('the metadata of a direct build', () => {
  it('names the listed async import and no other', () => {
    const result = build(app)!
    expect(result.report.engine).toBe('direct')
    expect(result.metadata!.engine).toBe('asyncify')
    expect(result.metadata!.asyncImports).toEqual([{ module: 'env', name: 'wait', params: ['i32'], results: ['i32'] }])
    expect(result.report.asyncImports).toEqual(['env.wait'])
  })

  it('lists the exports that can reach it, directly, through other functions or through the table, and no others', () => {
    const result = build(app)!
    expect([...result.metadata!.suspendingExports].sort()).toEqual(['direct', 'nested', 'through_table'])
    expect([...result.report.suspendingExports].sort()).toEqual(['direct', 'nested', 'through_table'])
  })

  it('lists nothing for an import left off the list, though exports call it', () => {
    const result = prepareAsyncifyWithoutBinaryen(app, { imports: ['env.log'] })!
    expect(result.metadata!.asyncImports.map((entry) => entry.name)).toEqual(['log'])
    expect(result.metadata!.suspendingExports).toEqual(['logs'])
  })

  const apiOf = (wasm: Uint8Array) => {
    const instance = new WebAssembly.Instance(new WebAssembly.Module(wasm as Uint8Array<ArrayBuffer>), { env: { wait: () => 0, log: () => {} } })
    return instance.exports as Record<string, unknown>
  }

  it('adds Binaryen\'s Asyncify API as exports, each listed as internal; without a stack pointer, of Binaryen\'s signatures', () => {
    const result = build(app, { stackPointer: false })!
    const api = apiOf(result.wasm!)
    for (const name of ASYNCIFY_API_EXPORTS) {
      expect(typeof api[name]).toBe('function')
      expect(result.metadata!.internalExports).toContain(name)
    }
    expect((api.asyncify_start_rewind as () => void).length).toBe(1)
    expect((api.asyncify_stop_unwind as () => unknown)()).toBeUndefined()
  })

  // The pointer moves down 16 bytes around the call and back after it, as clang's prologue and epilogue do.
  const framed = wat(`(module
    (import "env" "wait" (func $wait (param i32) (result i32)))
    (memory (export "memory") 2)
    (global $__stack_pointer (mut i32) (i32.const 65536))
    (func (export "run") (param $x i32) (result i32) (local $sp i32) (local $r i32)
      (global.set $__stack_pointer (local.tee $sp (i32.sub (global.get $__stack_pointer) (i32.const 16))))
      (i32.store (local.get $sp) (local.get $x))
      (local.set $r (i32.add (call $wait (local.get $x)) (i32.load (global.get $__stack_pointer))))
      (global.set $__stack_pointer (i32.add (local.get $sp) (i32.const 16)))
      (local.get $r))
    (func (export "sp") (result i32) (global.get $__stack_pointer))
    (func (export "alloc") (param $n i32) (global.set $__stack_pointer (i32.sub (global.get $__stack_pointer) (local.get $n)))))`)

  it('with a C stack pointer, keeps Binaryen\'s signatures: stop_unwind also returns the pointer and start_rewind puts it back', () => {
    const result = build(framed)!
    expect(result.report.engine).toBe('direct')
    const api = apiOf(result.wasm!) as Record<string, (...args: number[]) => number>
    expect(api.asyncify_start_rewind!.length).toBe(1)
    const sp = api.sp!
    const alloc = api.alloc!
    const data = 1024
    new Int32Array((api.memory as unknown as WebAssembly.Memory).buffer, data, 2).set([data + 8, data + 1024])
    alloc(32)
    api.asyncify_start_unwind!(data)
    expect(api.asyncify_stop_unwind!()).toBe(65536 - 32)
    // JavaScript moves the pointer while nothing runs (a stackAlloc); the rewind starts where the unwind ended.
    alloc(64)
    api.asyncify_start_rewind!(data)
    expect(sp()).toBe(65536 - 32)
    api.asyncify_stop_rewind!()
  })

  it('with a C stack pointer, the runtime keeps it right through the API alone', async () => {
    const result = build(framed)!
    // While a call waits, JavaScript moves the pointer (a stackAlloc): the call must resume on its own frame, which the
    // code after the call finds through the pointer.
    let alloc: (n: number) => void = () => {}
    const wait = (x: number) => new Promise((resolve) => setTimeout(() => {
      alloc(64)
      resolve(x * 10)
    }))
    const { instance } = await instantiate(result.wasm!, { env: { wait } }, { mode: 'asyncify' })
    const exports = instance.exports as { run: (x: number) => Promise<number>; sp: () => number; alloc: (n: number) => void }
    alloc = exports.alloc
    const rest = exports.sp()
    // Two calls overlap: each has its frame on a stack of its own, and both read their own argument back.
    expect(await Promise.all([exports.run(3), exports.run(5)])).toEqual([33, 55])
    expect(await exports.run(7)).toBe(77)
    expect(exports.sp()).toBe(rest)
  })

  it('is what the runtime follows: listed exports return Promises, the others plain values', async () => {
    const { instance } = await instantiate(build(app)!.wasm!, { env: { wait: async (x: number) => x * 3, log: () => {} } }, { mode: 'asyncify' })
    const exports = instance.exports as Record<string, (x: number) => unknown>
    expect(exports.pure!(4)).toBe(5)
    expect(exports.logs!(4)).toBeUndefined()
    const direct = exports.direct!(4)
    expect(direct).toBeInstanceOf(Promise)
    await expect(direct).resolves.toBe(12)
    await expect(exports.nested!(4)).resolves.toBe(24)
    await expect(exports.through_table!(1)).resolves.toBe(3)
  })

  it('names the stack pointer export when the C stack pointer is found by its shape in a stripped module', () => {
    const result = prepareAsyncifyWithoutBinaryen(stripNames(compileC('recurse.c')), { imports: ['env.bottom'] })!
    expect(result).not.toBeNull()
    expect(result.metadata!.stackPointer).toBe(STACK_POINTER_EXPORT)
    expect(result.report.warnings).toEqual([])
  })

  it('leaves the C stack alone, with a warning, when no global has the stack pointer\'s shape', () => {
    const counter = wat(`(module
      (import "env" "wait" (func $wait (param i32) (result i32)))
      (memory 1)
      (global $count (mut i32) (i32.const 0))
      (func (export "next") (result i32)
        (global.set $count (i32.add (global.get $count) (i32.const 1)))
        (call $wait (global.get $count))))`)
    const result = build(counter)!
    expect(result).not.toBeNull()
    expect(result.metadata!.stackPointer).toBeNull()
    expect(result.report.warnings).toContainEqual(expect.stringMatching(/no global is known to be the C stack pointer/))
  })
})

describe('the direct build declines (null) and leaves the module to Binaryen', () => {
  it('with preoptimize, which is Binaryen\'s optimizer', () => {
    expect(build(app, { preoptimize: true })).toBeNull()
  })

  it('with a features option, which only Binaryen\'s validation checks', () => {
    expect(build(app, { features: ['sign-ext'] })).toBeNull()
  })

  it('and refuses, with a coded error, a module it built itself', () => {
    const once = build(app)!
    expect(() => build(once.wasm!)).toThrow(expect.objectContaining({ code: 'ASYNCIFY_ALREADY_TRANSFORMED' }))
  })

  it('and refuses a module Binaryen\'s Asyncify pass already instrumented (wasm-opt --asyncify) itself, with the pipeline\'s code and message', async () => {
    const module = binaryen.readBinary(app)
    let asyncified: Uint8Array
    try {
      binaryen.setPassArgument('asyncify-imports', 'env.wait')
      module.runPasses(['asyncify'])
      asyncified = module.emitBinary()
    } finally {
      binaryen.setPassArgument('asyncify-imports', null)
      module.dispose()
    }
    // Handing it to the pipeline to be refused took lightningcss-wasm's 16 MB module from npm 8.7 s and 600 MB.
    const theirs = (await asyncifyWasm(asyncified, { imports: ['env.wait'], filename: 'input.wasm', engine: 'binaryen' }).catch((e: unknown) => e)) as Error
    expect((theirs as { code?: string }).code).toBe('ASYNCIFY_ALREADY_TRANSFORMED')
    expect(() => build(asyncified)).toThrow(theirs)
  })


  it('on a module with two memories', () => {
    const bytes = wat(
      `(module
        (import "env" "wait" (func $wait (param i32) (result i32)))
        (memory 1) (memory 1)
        (func (export "run") (param $x i32) (result i32) (call $wait (local.get $x))))`,
      ['MultiMemory'],
    )
    expect(build(bytes)).toBeNull()
  })

  it('when the stack pointer\'s shape cannot be read: a body it cannot decode and a global that could be one', () => {
    const bytes = wat(
      `(module
        (import "env" "wait" (func $wait (param i32) (result i32)))
        (memory 1)
        (global $maybe (mut i32) (i32.const 65536))
        (func (export "run") (param $x i32) (result i32) (call $wait (local.get $x)))
        (func $again (export "again") (return_call $again)))`,
      ['TailCall'],
    )
    expect(build(bytes)).toBeNull()
    // The tail call's body is no site: told to leave the C stack alone, the engine builds the module.
    expect(build(bytes, { stackPointer: false })).not.toBeNull()
  })

  it('when the stackPointer option names no mutable i32 global, which the pipeline reports', () => {
    expect(build(app, { stackPointer: 'nope' })).toBeNull()
  })

  it('but not with debug, whose line tables the direct engine moves itself (addresses.ts)', () => {
    const result = build(app, { debug: true })
    expect(result).not.toBeNull()
    expect(result!.report.engine).toBe('direct')
  })
})
