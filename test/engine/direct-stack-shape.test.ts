/*
 * stack-shape.ts finds the C stack pointer of a module stripped of names by
 * the shape of clang's prologues and epilogues, and nothing else: a wrong
 * answer would have the runtime reset an ordinary global behind the
 * program's back. wasm-ld's output has the pointer as its only global, so
 * each C module here also gets decoys appended (no index moves): globals
 * with the same kind of initial value that code only lowers, or only raises.
 */
import binaryen from 'binaryen'
import { describe, expect, it } from 'vitest'
import { globalsShapedLikeStackPointer } from '../../src/transform/direct/stack-shape.js'
import { scanModule } from '../../src/transform/scan.js'
import { compileC } from '../helpers/compile-c.js'
import { stripNames } from '../helpers/strip-names.js'
import { wat } from '../helpers/wat.js'

function shaped(bytes: Uint8Array): number[] | null {
  return globalsShapedLikeStackPointer(bytes, scanModule(bytes))
}

/**
 * `bytes` with two mutable i32 globals appended, 16-aligned like a stack
 * pointer's start: one a function lowers by 16, the other one a function
 * raises by 16 (neither does both, as a stack pointer does).
 */
function withDecoys(bytes: Uint8Array): Uint8Array {
  const module = binaryen.readBinary(bytes)
  try {
    module.setFeatures(binaryen.Features.All & ~(binaryen.Features as unknown as Record<string, number>).CompactImports!)
    const step = (name: string, op: (a: number, b: number) => number) =>
      module.global.set(name, op(module.global.get(name, binaryen.i32), module.i32.const(16)))
    module.addGlobal('decoy_down', binaryen.i32, true, module.i32.const(4096))
    module.addGlobal('decoy_up', binaryen.i32, true, module.i32.const(8192))
    module.addFunction('lower_decoy', binaryen.none, binaryen.none, [], step('decoy_down', (a, b) => module.i32.sub(a, b)))
    module.addFunction('raise_decoy', binaryen.none, binaryen.none, [], step('decoy_up', (a, b) => module.i32.add(a, b)))
    module.addFunctionExport('lower_decoy', 'lower_decoy')
    module.addFunctionExport('raise_decoy', 'raise_decoy')
    if (!module.validate()) throw new Error('decoys do not validate')
    binaryen.setDebugInfo(true)
    return module.emitBinary()
  } finally {
    binaryen.setDebugInfo(false)
    module.dispose()
  }
}

describe('globalsShapedLikeStackPointer', () => {
  const fixtures = ['recurse.c', 'sort.c', 'storm.c', 'overlap.c', 'big-frame.c']
  describe.each(['-O0', '-O2'])('on C compiled at %s and stripped of names', (level) => {
    it.each(fixtures)('%s: finds exactly the global that was named __stack_pointer, not the decoys', (file) => {
      const named = withDecoys(compileC(file, [level]))
      const globals = scanModule(named).globals
      const pointer = globals.findIndex((global) => global.name === '__stack_pointer')
      expect(pointer).toBeGreaterThanOrEqual(0)
      expect(globals.length).toBeGreaterThan(2)

      const stripped = stripNames(named)
      const strippedGlobals = scanModule(stripped).globals
      // Stripping keeps global indices: the global there still starts where the named one did.
      expect(strippedGlobals.map((global) => global.initI32)).toEqual(globals.map((global) => global.initI32))
      expect(shaped(stripped)).toEqual([pointer])
    })
  })

  it('returns an empty list for a module whose only mutable i32 global is a counter starting at 0', () => {
    const counter = wat(`(module
      (memory 1)
      (global $count (mut i32) (i32.const 0))
      (func (export "next") (result i32)
        (global.set $count (i32.add (global.get $count) (i32.const 16)))
        (global.get $count)))`)
    expect(shaped(counter)).toEqual([])
  })

  it('returns an empty list for a counter that starts 16-aligned and that code both raises and lowers by 1', () => {
    const counter = wat(`(module
      (memory 1)
      (global $count (mut i32) (i32.const 1024))
      (func (export "up") (global.set $count (i32.add (global.get $count) (i32.const 1))))
      (func (export "down") (global.set $count (i32.sub (global.get $count) (i32.const 1)))))`)
    expect(shaped(counter)).toEqual([])
  })

  it('finds a hand-written prologue and epilogue in a function that keeps the lowered pointer in a local, beside a counter', () => {
    const bytes = wat(`(module
      (memory 1)
      (global $count (mut i32) (i32.const 16))
      (global $sp (mut i32) (i32.const 65536))
      (func (export "frame") (param $x i32) (result i32) (local $frame i32)
        (global.set $count (i32.add (global.get $count) (i32.const 16)))
        (local.set $frame (i32.sub (global.get $sp) (i32.const 32)))
        (global.set $sp (local.get $frame))
        (i32.store offset=8 (local.get $frame) (local.get $x))
        (global.set $sp (i32.add (local.get $frame) (i32.const 32)))
        (i32.load offset=8 (local.get $frame))))`)
    expect(shaped(bytes)).toEqual([1])
  })

  /** A function that keeps its lowered frame in a local, `middle` between its prologue and its epilogue (which reads the local). */
  const frameAround = (middle: string) =>
    wat(`(module
      (memory 1)
      (global $count (mut i32) (i32.const 16))
      (global $sp (mut i32) (i32.const 65536))
      (func (export "frame") (param $x i32) (result i32) (local $frame i32)
        (global.set $count (i32.add (global.get $count) (i32.const 16)))
        (global.set $sp (local.tee $frame (i32.sub (global.get $sp) (i32.const 32))))
        ${middle}
        (global.set $sp (i32.add (local.get $frame) (i32.const 32)))
        (local.get $x)))`)
  const stores = (count: number) => Array.from({ length: count }, (_, k) => `(i32.store offset=${k * 4} (local.get $frame) (local.get $x))`).join('\n')

  it('finds the pointer of a large function whose epilogue gives back the frame its prologue kept in a local (Emscripten\'s optimized output)', () => {
    // 60 statements between: the prologue is in the first 24, the epilogue in the last 24.
    expect(shaped(frameAround(stores(60)))).toEqual([1])
  })

  it('does not carry the kept frame past a write to its local between the two ends', () => {
    expect(shaped(frameAround(`${stores(30)} (local.set $frame (i32.const 4096)) ${stores(30)}`))).toEqual([])
    expect(shaped(frameAround(`${stores(30)} (if (local.get $x) (then (local.set $frame (i32.const 4096)))) ${stores(30)}`))).toEqual([])
  })

  it('knows nothing of a local after a nested branch that may write it', () => {
    // A small function: one window, the write inside an if.
    expect(shaped(frameAround(`(if (local.get $x) (then (local.set $frame (i32.const 4096))))`))).toEqual([])
    expect(shaped(frameAround(`(if (local.get $x) (then (local.set $x (i32.const 1))))`))).toEqual([1])
  })

  it('returns null, not a guess, when a body it must read holds an instruction the decoder does not handle', () => {
    const bytes = wat(
      `(module
        (memory 1)
        (global $sp (mut i32) (i32.const 65536))
        (func $again (export "again") (return_call $again)))`,
      ['TailCall'],
    )
    expect(shaped(bytes)).toBeNull()
  })

  it('returns null, not a failure, when a type the scan reads holds a value type the decoder does not know', () => {
    const bytes = wat(
      `(module
        (type $s (struct (field externref)))
        (memory 1)
        (global $sp (mut i32) (i32.const 65536))
        (global $keep (mut (ref null $s)) (ref.null none)))`,
      'every',
    )
    // The struct's field becomes a stringref (0x67): the scan reads it as a reference, the decoder knows no such type.
    const field = bytes.findIndex((byte, i) => byte === 0x5f && bytes[i + 1] === 1 && bytes[i + 2] === 0x6f)
    bytes[field + 2] = 0x67
    expect(shaped(bytes)).toBeNull()
  })

  it('returns an empty list without reading any body when no global could be a stack pointer', () => {
    // No candidate global: the body that would make it give up (a tail call, which the decoder does not handle) is never decoded.
    const bytes = wat(
      `(module
        (memory 1)
        (global $flag (mut i32) (i32.const 1))
        (func $again (export "again") (return_call $again)))`,
      ['TailCall'],
    )
    expect(shaped(bytes)).toEqual([])
  })
})
