/*
 * The JSPI build read without Binaryen (the Vite dev server's edit-reload
 * path, mode 'auto''s JSPI half and mode 'jspi') must be the very build the
 * Binaryen pipeline makes in mode 'jspi':
 * the same bytes, so the same exports suspend and the runtime finds the same
 * memory, C stack pointer and malloc.
 */
import { readdirSync, readFileSync } from 'node:fs'
import { join } from 'node:path'
import { asyncifyWasm, type TransformOptions } from 'unplugin-asyncify/transform'
import { describe, expect, it } from 'vitest'
import { prepareJspiWithoutBinaryen } from '../../src/transform/jspi-fast.js'
import { generateTtf } from '../../scripts/fuzz/generate-ttf.js'
import { Random } from '../../scripts/fuzz/random.js'
import { compileC } from '../helpers/compile-c.js'
import { stripNames } from '../helpers/strip-names.js'
import { wat } from '../helpers/wat.js'

const fixtures = join(import.meta.dirname, '../fixtures')

async function expectSameBuild(bytes: Uint8Array, options: TransformOptions = {}) {
  const fast = prepareJspiWithoutBinaryen(bytes, options)
  expect(fast).not.toBeNull()
  // engine 'binaryen' keeps the transform from taking this very fast path: the pipeline builds.
  const full = await asyncifyWasm(bytes, { ...options, mode: 'jspi', engine: 'binaryen' })
  expect(fast!.jspi!.metadata).toEqual(full.jspi!.metadata)
  expect(Buffer.from(fast!.jspi!.wasm).equals(Buffer.from(full.jspi!.wasm))).toBe(true)
  expect(fast!.report.suspendingExports).toEqual(full.report.suspendingExports)
  expect(fast!.report.asyncImports).toEqual(full.report.asyncImports)
  expect(fast!.report.warnings).toEqual(full.report.warnings)
}

describe('the JSPI build without Binaryen is the pipeline\'s JSPI build', () => {
  // fibers.c and coroutines.c have no JSPI build at all: see the tests after these.
  const programs = readdirSync(join(fixtures, 'c')).filter((name) => name.endsWith('.c') && name !== 'fibers.c' && name !== 'coroutines.c')
  for (const level of ['-O0', '-O2']) {
    it(`for every C fixture at ${level} (${programs.length} programs), with every import async`, async () => {
      for (const program of programs) await expectSameBuild(compileC(program, [level]))
    })
  }

  it('declines a module that uses fibers, or drives Asyncify itself: neither has a JSPI build', () => {
    expect(prepareJspiWithoutBinaryen(compileC('fibers.c'), { filename: 'fibers.wasm' })).toBeNull()
    expect(prepareJspiWithoutBinaryen(compileC('coroutines.c'), { filename: 'coroutines.wasm' })).toBeNull()
  })

  // Their counters are unnamed mutable i32 globals, which only the shape of the code tells from a stack pointer.
  it('for the WAT fixtures, with imports listed, runtime functions named and the stack pointer option', async () => {
    for (const name of readdirSync(join(fixtures, 'wat'))) {
      const text = readFileSync(join(fixtures, 'wat', name), 'utf8')
      // Binaryen's examples drive Asyncify themselves: no JSPI build (asyncify-api.test.ts).
      if (text.includes('(import "asyncify"')) continue
      const bytes = wat(text)
      await expectSameBuild(bytes, { imports: ['env.*'], stackPointer: false })
      await expectSameBuild(bytes, { imports: ['env.nothing'], runtime: ['*'], stackPointer: false })
    }
  })

  it('for 40 random modules from wasm-opt\'s translate-to-fuzz', async () => {
    const random = new Random(7)
    for (let i = 0; i < 40; i++) await expectSameBuild(await generateTtf(random), { stackPointer: false })
  })

  // Mode 'auto' makes both builds without Binaryen only when this path finds the stack pointer as the direct engine
  // does: a decline here sends both builds to Binaryen's pipeline (resvg: 59 s instead of 0.6 s).
  it(`for every C fixture stripped of names, its stack pointer found by the shape of prologues (${programs.length} programs)`, async () => {
    for (const program of programs) await expectSameBuild(stripNames(compileC(program, ['-O2'])))
  })

  const unnamed = stripNames(wat(`(module
    (import "env" "get" (func $get (result i32)))
    (memory 1)
    (global (mut i32) (i32.const 65536))
    (func (export "run") (result i32) (call $get)))`))

  it('for a module whose one global has no name and no frame\'s shape: no stack pointer, and the same warning', async () => {
    await expectSameBuild(unnamed)
    expect(prepareJspiWithoutBinaryen(unnamed)!.report.warnings).toContainEqual(expect.stringMatching(/no global is known to be the C stack pointer/))
  })

  it('declines what only Binaryen can decide: a stackPointer option naming no global, a module with another of Asyncify\'s exports alone', () => {
    expect(prepareJspiWithoutBinaryen(unnamed, { stackPointer: 'missing' })).toBeNull()
    const partial = wat(`(module (memory 1) (func (export "asyncify_stop_unwind")))`)
    expect(prepareJspiWithoutBinaryen(partial)).toBeNull()
  })

  it('refuses a module already through Asyncify as the pipeline does', () => {
    const foreign = wat(`(module (memory 1) (global $__asyncify_state (mut i32) (i32.const 0)) (func (export "asyncify_start_unwind") (param i32)))`)
    expect(() => prepareJspiWithoutBinaryen(foreign)).toThrow(/input\.wasm: this module was already put through Asyncify \(it has the __asyncify_state global\)/)
  })
})
