/*
 * binaryen-load.ts answers binaryen.js's invoke imports in wasm. Each side
 * runs in a process of its own (binaryen.js loads once per process): the
 * same transforms must give the same bytes, reports and errors, and C++
 * exceptions must leave Binaryen as they always did.
 */
import { execFileSync } from 'node:child_process'
import { mkdtempSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { describe, expect, it } from 'vitest'
import { compileC } from '../helpers/compile-c.js'
import { wireInvokes } from '../../src/transform/binaryen-load.js'
import { wat } from '../helpers/wat.js'

const child = fileURLToPath(new URL('../helpers/binaryen-child.mjs', import.meta.url))
const quickjs = fileURLToPath(new URL('../../node_modules/@jitl/quickjs-wasmfile-release-sync/dist/emscripten-module.wasm', import.meta.url))

interface ChildResult {
  wasmInvokes: number
  results: unknown[]
  thrown: string[]
  valid: boolean
}

function run(invokes: 'wasm' | 'js', jobsFile: string): ChildResult {
  return JSON.parse(execFileSync(process.execPath, [child, invokes, jobsFile], { encoding: 'utf8', maxBuffer: 64 << 20 })) as ChildResult
}

describe('binaryen.js with its invoke imports in wasm', () => {
  it('transforms byte for byte as binaryen.js on its own, fails alike, and throws its C++ exceptions alike', () => {
    const dir = mkdtempSync(join(tmpdir(), 'binaryen-load-'))
    const file = (name: string, bytes: Uint8Array) => {
      const path = join(dir, name)
      writeFileSync(path, bytes)
      return path
    }
    const tail = wat(
      `(module
        (import "env" "get" (func $get (result i32)))
        (memory 1)
        (func $tail (export "run") (result i32) (return_call $get)))`,
      ['TailCall'],
    )
    const jobs = [
      // Thousands of C++ exceptions are thrown and caught inside Binaryen while it transforms QuickJS.
      { file: quickjs, options: { filename: 'quickjs.wasm', imports: ['a.s', 'a.h', 'a.g'], features: ['sign-ext', 'bulk-memory', 'nontrapping-fptoint'] } },
      { file: file('sort-O0.wasm', compileC('sort.c', ['-O0'])), options: { filename: 'sort.wasm', imports: ['env.compare'], optimize: 3 } },
      { file: file('exceptions.wasm', compileC('exceptions.cpp', ['-fwasm-exceptions'])), options: { filename: 'exceptions.wasm', imports: ['env.wait'] } },
      // Binaryen's fatal error leaves it as a C++ exception.
      { file: file('tail.wasm', tail), options: { filename: 'tail.wasm', mode: 'asyncify', optimize: 0 } },
    ]
    const jobsFile = file('jobs.json', new TextEncoder().encode(JSON.stringify(jobs)))

    const inWasm = run('wasm', jobsFile)
    const inJs = run('js', jobsFile)
    expect(inWasm.wasmInvokes).toBeGreaterThan(0)
    expect(inJs.wasmInvokes).toBe(0)
    expect(inWasm.results).toEqual(inJs.results)
    expect(inWasm.results).toHaveLength(jobs.length)
    expect(inWasm.results.slice(0, 3)).not.toContainEqual(expect.objectContaining({ error: expect.anything() }))
    expect(inWasm.results[3]).toEqual({ error: expect.stringMatching(/^ASYNCIFY_UNSUPPORTED_FEATURE .*tail calls/) })
    expect(inWasm.thrown).toEqual(inJs.thrown)
    expect(inWasm.thrown).toHaveLength(1)
    expect(inWasm.thrown[0]).not.toBe('no exception')
    expect(inWasm.valid).toBe(true)
  }, 180_000)
})

describe('an invoke in wasm (wireInvokes on a module shaped like Emscripten output)', () => {
  // Emscripten's C++ exception object: not an Error.
  class CppException {
    constructor(readonly pointer: number) {}
  }
  const module = wat(`(module
    (import "a" "invoke_ii" (func $invoke_ii (param i32 i32) (result i32)))
    (import "a" "cxa_throw" (func $throw))
    (import "a" "abort" (func $abort))
    (memory (export "memory") 1)
    (global $sp (mut i32) (i32.const 4096))
    (table (export "table") 3 3 funcref)
    (elem (i32.const 0) $twice $throws $aborts)
    (func (export "stackSave") (result i32) (global.get $sp))
    (func (export "stackRestore") (param i32) (global.set $sp (local.get 0)))
    (func (export "setThrew") (param i32 i32)
      (if (i32.eqz (i32.load (i32.const 100)))
        (then (i32.store (i32.const 104) (local.get 1)) (i32.store (i32.const 100) (local.get 0)))))
    (func $twice (param i32) (result i32) (i32.mul (local.get 0) (i32.const 2)))
    (func $throws (param i32) (result i32)
      (global.set $sp (i32.sub (global.get $sp) (i32.const 64)))
      (call $throw)
      (local.get 0))
    (func $aborts (param i32) (result i32) (call $abort) (local.get 0))
    (func (export "run") (param i32 i32) (result i32)
      (i32.store (i32.const 100) (i32.const 0))
      (call $invoke_ii (local.get 0) (local.get 1)))
    (func (export "throwOutside") (call $throw))
    (func (export "threw") (result i32) (i32.load (i32.const 100)))
    (func (export "sp") (result i32) (global.get $sp)))`)

  function instantiate() {
    let exports: Record<string, (...args: number[]) => number> = {}
    const table = () => exports.table as unknown as WebAssembly.Table
    // Emscripten's invoke, written as its glue writes it (loadBinaryen recognizes invokes by their source).
    const invoke = new Function(
      'stackSave',
      'getTable',
      'stackRestore',
      'setThrew',
      'CppException',
      'return function invoke_ii(index,a1){var sp=stackSave();try{return getTable(index)(a1)}catch(e){stackRestore(sp);if(!(e instanceof CppException))throw e;setThrew(1,0)}}',
    )(
      () => exports.stackSave!(),
      (index: number) => table().get(index),
      (sp: number) => exports.stackRestore!(sp),
      (threw: number, value: number) => exports.setThrew!(threw, value),
      CppException,
    )
    const imports = {
      a: {
        invoke_ii: invoke,
        cxa_throw: () => {
          throw new CppException(8)
        },
        abort: () => {
          throw new WebAssembly.RuntimeError('Aborted()')
        },
      },
    }
    const wiring = wireInvokes(module, imports)
    expect(wiring?.count).toBe(1)
    const instance = new WebAssembly.Instance(new WebAssembly.Module(module as Uint8Array<ArrayBuffer>), wiring!.imports as WebAssembly.Imports)
    wiring!.connect(instance)
    exports = instance.exports as typeof exports
    return exports
  }

  it('returns the target’s value, and after a C++ exception puts the C stack pointer back and sets threw', () => {
    const { run, threw, sp } = instantiate()
    expect(run!(0, 21)).toBe(42)
    expect([threw!(), sp!()]).toEqual([0, 4096])
    expect(run!(1, 5)).toBe(0)
    expect([threw!(), sp!()]).toEqual([1, 4096])
    expect(run!(0, 4)).toBe(8)
    expect(threw!()).toBe(0)
  })

  it('lets anything else pass, and a C++ exception with no invoke running leaves as Emscripten’s object', () => {
    const { run, threw, throwOutside } = instantiate()
    expect(() => run!(2, 1)).toThrow(WebAssembly.RuntimeError)
    expect(threw!()).toBe(0)
    expect(() => throwOutside!()).toThrow(CppException)
    // The abort above did not leave the invoke counted as running.
    expect(run!(1, 1)).toBe(0)
    expect(threw!()).toBe(1)
    expect(() => throwOutside!()).toThrow(CppException)
  })
})
