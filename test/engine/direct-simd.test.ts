/*
 * SIMD in the direct engine. The decoder knows each 0xFD instruction's
 * immediates and operand types from its opcode alone; a wrong entry would
 * make the instrumenter spill or hold the wrong types, so every opcode is
 * checked against validators: a function typed by what the decoder says the
 * instruction pops and pushes must validate, in Binaryen (every opcode,
 * relaxed SIMD included) and in V8 (the final SIMD proposal; Node 20's V8
 * has no relaxed SIMD). Then v128 values live across a suspension, in locals,
 * on the operand stack and as a function's result, come back as they were,
 * in place and through the shared helpers of `optimize: 'z'`.
 */
import binaryen from 'binaryen'
import { describe, expect, it } from 'vitest'
import { instantiate } from '../../src/runtime-shim/index.js'
import { concatBytes, leb, section, vector } from '../../src/runtime-shim/wasm-writer.js'
import { prepareAsyncifyWithoutBinaryen } from '../../src/transform/direct/asyncify-fast.js'
import type { Node, ValType } from '../../src/transform/direct/body.js'
import { DecodeUnsupported } from '../../src/transform/direct/body.js'
import { decodeBody, typeBytes } from '../../src/transform/direct/decode.js'
import { asyncifyWasm } from 'unplugin-asyncify/transform'
import * as built from 'unplugin-asyncify/runtime'
import { compileC } from '../helpers/compile-c.js'
import { later } from '../helpers/engine.js'
import { wat } from '../helpers/wat.js'

/** Opcodes the SIMD proposal left unassigned below 0x100; relaxed SIMD ends at 0x113. */
const UNASSIGNED = new Set([0x9a, 0xa2, 0xa5, 0xa6, 0xaf, 0xb0, 0xb2, 0xb3, 0xb4, 0xbb, 0xc2, 0xc5, 0xc6, 0xcf, 0xd0, 0xd2, 0xd3, 0xd4, 0xe2, 0xee])
const LAST = 0x113

/** Each instruction's immediates, as the SIMD proposal lists them (written here apart from the decoder's). */
function immediates(op: number): number[] {
  const memarg = [0, 0]
  if (op <= 0x0b || op === 0x5c || op === 0x5d) return memarg
  if (op === 0x0c || op === 0x0d) return new Array<number>(16).fill(0)
  if (op >= 0x15 && op <= 0x22) return [0]
  if (op >= 0x54 && op <= 0x5b) return [...memarg, 0]
  return []
}

/** The instruction decoded, or the decoder's refusal. */
function decoded(op: number): Extract<Node, { kind: 'op' }> | DecodeUnsupported {
  // No locals, and after an `unreachable`, where the decoder takes operands it cannot see: what it says comes from the opcode alone.
  const body = new Uint8Array([0, 0x00, 0xfd, ...leb(op), ...immediates(op), 0x0b])
  const module = { types: [], fields: [], functions: [], globals: [], tables: [], tags: [] }
  try {
    const nodes = decodeBody(body, [], module).body
    expect(nodes.map((node) => node.kind)).toEqual(['unreachable', 'op'])
    return nodes[1] as Extract<Node, { kind: 'op' }>
  } catch (error) {
    if (error instanceof DecodeUnsupported) return error
    throw error
  }
}

/** A module of one function taking `pops` and returning `pushes`, its body the instruction on its parameters. */
function typedBy(op: number, pops: ValType[], pushes: ValType[]): Uint8Array {
  const code = [0, ...pops.flatMap((_, k) => [0x20, k]), 0xfd, ...leb(op), ...immediates(op), 0x0b]
  return concatBytes(
    [0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00],
    section(1, vector([[0x60, ...leb(pops.length), ...pops.flatMap(typeBytes), ...leb(pushes.length), ...pushes.flatMap(typeBytes)]])),
    section(3, vector([[0]])),
    section(5, vector([[0x00, 1]])),
    section(10, vector([concatBytes(leb(code.length), code)])),
  )
}

function binaryenValidates(bytes: Uint8Array): boolean {
  const module = binaryen.readBinary(bytes)
  try {
    module.setFeatures(binaryen.Features.All)
    return module.validate() !== 0
  } finally {
    module.dispose()
  }
}

describe('the decoder\'s SIMD instructions', () => {
  it('knows every assigned opcode, relaxed SIMD included, and refuses the rest', () => {
    const refused: number[] = []
    for (let op = 0; op <= LAST + 2; op++) if (decoded(op) instanceof DecodeUnsupported) refused.push(op)
    expect(refused).toEqual([...UNASSIGNED, LAST + 1, LAST + 2])
  })

  it('gives each one the operand types the validators agree with', () => {
    const wrong: string[] = []
    for (let op = 0; op <= LAST; op++) {
      if (UNASSIGNED.has(op)) continue
      const node = decoded(op) as Extract<Node, { kind: 'op' }>
      const bytes = typedBy(op, node.pops, node.pushes)
      const said = `0x${op.toString(16)}: ${node.pops.join(' ')} -> ${node.pushes.join(' ')}`
      if (!binaryenValidates(bytes)) wrong.push(`${said} (Binaryen)`)
      if (op < 0x100 && !WebAssembly.validate(bytes as Uint8Array<ArrayBuffer>)) wrong.push(`${said} (V8)`)
      // Its bytes are the instruction's, immediates included, for the instrumenter to write back as they were.
      expect([...node.bytes]).toEqual([0xfd, ...leb(op), ...immediates(op)])
    }
    expect(wrong).toEqual([])
  })

  it('the check can fail: a wrong type does not validate', () => {
    expect(WebAssembly.validate(typedBy(0x6e, ['v128', 'v128'], ['i32']) as Uint8Array<ArrayBuffer>)).toBe(false)
    expect(binaryenValidates(typedBy(0x100, ['v128', 'v128'], ['i32']))).toBe(false)
  })
})

// `local` keeps a vector in a local across the wait, `held` one on the operand stack, `outer` gets one back from a function that waited.
const program = wat(
  `(module
    (import "env" "wait" (func $wait (param i32) (result i32)))
    (memory (export "memory") 1)
    (func (export "local") (param $x i32) (result i32) (local $v v128)
      (local.set $v (i32x4.add (i32x4.splat (local.get $x)) (v128.const i32x4 1 2 3 4)))
      (drop (call $wait (local.get $x)))
      (i32x4.extract_lane 3 (i32x4.mul (local.get $v) (i32x4.splat (call $wait (i32.const 2))))))
    (func (export "held") (param $x i32) (result i32)
      (i32x4.extract_lane 1 (i32x4.add (i32x4.splat (local.get $x)) (i32x4.splat (call $wait (local.get $x))))))
    (func $inner (param $x i32) (result v128) (local $v v128)
      (local.set $v (f64x2.splat (f64.convert_i32_s (local.get $x))))
      (drop (call $wait (local.get $x)))
      (f64x2.add (local.get $v) (local.get $v)))
    (func (export "outer") (param $x i32) (result f64)
      (f64x2.extract_lane 1 (call $inner (local.get $x)))))`,
  ['SIMD128'],
)

describe('v128 values across a suspension, built by the direct engine', () => {
  for (const optimize of [2, 'z'] as const) {
    it(`come back as they were, in a local, on the operand stack and as a result (optimize ${optimize})`, async () => {
      const result = prepareAsyncifyWithoutBinaryen(program, { imports: ['env.wait'], optimize })
      expect(result, 'the direct engine declined the module').not.toBeNull()
      // wait(x) answers x * 10, later.
      const { instance } = await instantiate(result!.wasm!, { env: { wait: (x: number) => later(x * 10) } }, { mode: 'asyncify' })
      const exports = instance.exports as Record<string, (x: number) => Promise<number>>
      // (x + 4) * 20; x + 10x; 2x.
      expect(await exports.local!(5)).toBe(180)
      expect(await exports.held!(7)).toBe(77)
      expect(await exports.outer!(21)).toBe(42)
    })
  }
})

describe('a clang-compiled program with SIMD (-msimd128)', () => {
  for (const level of ['-O0', '-O2']) {
    it(`is built by the direct engine in the default mode and computes what the untouched module does (${level})`, async () => {
      const bytes = compileC('simd/vectors.c', [level, '-msimd128'])
      const result = await asyncifyWasm(bytes, { imports: ['env.next'], filename: 'vectors.wasm' })
      expect(result.report.engine).toBe('direct')
      expect(result.report.paths).toEqual(['asyncify', 'jspi'])
      const next = (i: number) => (i * 7) % 5
      const untouched = (await WebAssembly.instantiate(bytes as Uint8Array<ArrayBuffer>, { env: { next } })).instance.exports as Record<string, (n: number) => number>
      const { instance } = await built.instantiate(result.wasm!, { env: { next: (i: number) => later(next(i)) } }, { mode: 'asyncify' })
      const exports = instance.exports as Record<string, (n: number) => Promise<number>>
      for (const n of [0, 1, 5, 37]) {
        expect(await exports.dot!(n)).toBe(untouched.dot!(n))
        expect(await exports.scale!(n)).toBe(untouched.scale!(n))
      }
    })
  }
})
