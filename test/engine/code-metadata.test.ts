/*
 * Branch hints and other `metadata.code.*` sections point at instructions by
 * their offset in a body. The direct engine rewrites the bodies it
 * instruments: a branch hint moves with its instruction, an entry of another
 * kind goes, and the entries of untouched functions, still true, stay.
 * Binaryen keeps branch hints true itself and passes any other kind through
 * unread, so its builds drop those.
 */
import binaryen from 'binaryen'
import { describe, expect, it } from 'vitest'
import { concatBytes, encodeName, leb, section } from '../../src/runtime-shim/wasm-writer.js'
import { asyncifyWasm } from 'unplugin-asyncify/transform'
import { prepareAsyncifyWithoutBinaryen } from '../../src/transform/direct/asyncify-fast.js'
import { codeBodies } from '../../src/transform/direct/stack-shape.js'
import { customSectionPayloads } from '../../src/transform/wasm-sections.js'
import { WasmReader } from '../../src/transform/wasm-reader.js'
import { wat } from '../helpers/wat.js'

const BRANCH_HINTS = 'metadata.code.branch_hint'

// Function 0 is the import; 1 (`run`) reaches it and is instrumented, 2 (`pick`) is left as it was.
const module = wat(`(module
  (import "env" "wait" (func $wait (param i32) (result i32)))
  (memory 1)
  (func (export "run") (param $x i32) (result i32)
    (if (result i32) (local.get $x) (then (call $wait (local.get $x))) (else (i32.const 0))))
  (func (export "pick") (param $x i32) (result i32)
    (if (result i32) (local.get $x) (then (i32.const 1)) (else (i32.const 2)))))`)

/** `bytes` with a custom section inserted right before the code section, where code metadata belongs. */
function withSectionBeforeCode(bytes: Uint8Array, name: string, payload: Uint8Array): Uint8Array {
  const reader = new WasmReader(bytes, 8)
  while (reader.offset < bytes.length) {
    const start = reader.offset
    const id = reader.byte()
    const length = reader.u32()
    reader.offset += length
    if (id === 10) return concatBytes(bytes.subarray(0, start), section(0, concatBytes(encodeName(name), payload)), bytes.subarray(start))
  }
  throw new Error('no code section')
}

/** A hint for each function's `if`, by defined function (its first 0x04 after the empty local declarations). */
function hinted(bytes: Uint8Array, functions: number[]): Uint8Array {
  const bodies = codeBodies(bytes)
  const entries = functions.map((index) => {
    const offset = bodies[index - 1]!.indexOf(0x04, 1)
    return concatBytes(leb(index), leb(1), leb(offset), leb(1), [1])
  })
  return withSectionBeforeCode(bytes, BRANCH_HINTS, concatBytes(leb(entries.length), ...entries))
}

/** The function indices a code metadata section names, or null without one. */
function hintedFunctions(bytes: Uint8Array, name = BRANCH_HINTS): number[] | null {
  const [payload] = customSectionPayloads(bytes, name)
  if (!payload) return null
  const reader = new WasmReader(payload)
  const functions: number[] = []
  for (let n = reader.u32(); n > 0; n--) {
    functions.push(reader.u32())
    for (let k = reader.u32(); k > 0; k--) {
      reader.u32()
      const length = reader.u32()
      reader.offset += length
    }
  }
  return functions
}

/** Each hint of a branch hint section: function, offset in its body, and the hint's byte. */
function hints(bytes: Uint8Array): { index: number; offset: number; hint: number }[] {
  const [payload] = customSectionPayloads(bytes, BRANCH_HINTS)
  if (!payload) return []
  const reader = new WasmReader(payload)
  const found: { index: number; offset: number; hint: number }[] = []
  for (let n = reader.u32(); n > 0; n--) {
    const index = reader.u32()
    for (let k = reader.u32(); k > 0; k--) {
      const offset = reader.u32()
      expect(reader.u32()).toBe(1)
      found.push({ index, offset, hint: reader.byte() })
    }
  }
  return found
}

function build(bytes: Uint8Array) {
  const result = prepareAsyncifyWithoutBinaryen(bytes, { imports: ['env.wait'] })
  expect(result?.report.engine).toBe('direct')
  return result!.wasm!
}

describe('code metadata in a direct build', () => {
  it('keeps the hints of functions it leaves as they were, and moves those of functions it instruments with their instructions', async () => {
    const input = hinted(module, [1, 2])
    expect(WebAssembly.validate(input as Uint8Array<ArrayBuffer>)).toBe(true)
    const output = build(input)
    expect(hintedFunctions(output)).toEqual([1, 2])
    // `pick`'s entry (the last five bytes: function, count, offset, size, hint) is byte for byte the input's, and its body with it.
    expect(customSectionPayloads(output, BRANCH_HINTS)[0]!.slice(-5)).toEqual(customSectionPayloads(input, BRANCH_HINTS)[0]!.slice(-5))
    expect(codeBodies(output)[1]).toEqual(codeBodies(input)[1])
    // `run`'s `if` moved in its rewritten body; its hint went with it (beside the engine's own, rarely taken, 0).
    const moved = hints(output).filter((entry) => entry.index === 1 && entry.hint === 1)
    expect(moved).toHaveLength(1)
    expect(codeBodies(output)[0]).not.toEqual(codeBodies(input)[0])
    expect(codeBodies(output)[0]![moved[0]!.offset]).toBe(0x04)
    expect(moved[0]!.hint).toBe(1)
    const { instance } = await WebAssembly.instantiate(output as Uint8Array<ArrayBuffer>, { env: { wait: (x: number) => x } })
    expect((instance.exports.pick as (x: number) => number)(0)).toBe(2)
  })

  it('merges its own hints with the input\'s in a function it instruments, each on its instruction, in order', () => {
    // `two` restores a frame (its own hint, rarely taken) and has an `if` of its own that the input hints as likely.
    const input = wat(`(module
      (import "env" "wait" (func $wait (param i32) (result i32)))
      (memory 1)
      (func (export "two") (param $x i32) (result i32)
        (i32.store (i32.const 0) (local.get $x))
        (drop (call $wait (local.get $x)))
        (if (local.get $x) (then (i32.store (i32.const 0) (i32.const 5))))
        (call $wait (i32.load (i32.const 0)))))`)
    const output = build(hinted(input, [1]))
    const entries = hints(output)
    expect(entries.map((entry) => entry.hint)).toEqual([0, 1])
    expect(entries[0]!.offset).toBeLessThan(entries[1]!.offset)
    for (const entry of entries) expect(codeBodies(output)[0]![entry.offset]).toBe(0x04)
    const parsed = binaryen.readBinary(output)
    try {
      const text = parsed.emitText()
      expect(text.match(/\(@metadata\.code\.branch_hint "\\00"\)\s*\(if\s*\(global\.get /g)).toHaveLength(1)
      expect(text.match(/\(@metadata\.code\.branch_hint "\\01"\)\s*\(if\s*\(local\.get \$x\)/g)).toHaveLength(1)
    } finally {
      parsed.dispose()
    }
  })

  it('hints the if that restores a frame, entered only on a rewind, as rarely taken, where Binaryen reads the hint', () => {
    // `two` saves its call index, so it restores a frame; `bare` saves nothing and has no such if, and no entry.
    const output = build(
      wat(`(module
        (import "env" "wait" (func $wait (param i32) (result i32)))
        (memory 1)
        (func (export "two") (param $x i32) (result i32)
          (i32.store (i32.const 0) (local.get $x))
          (drop (call $wait (local.get $x)))
          (i32.store (i32.const 0) (i32.add (i32.load (i32.const 0)) (i32.const 1)))
          (call $wait (i32.load (i32.const 0))))
        (func (export "bare") (result i32) (call $wait (i32.const 1))))`),
    )
    expect(hintedFunctions(output)).toEqual([1])
    const parsed = binaryen.readBinary(output)
    try {
      const text = parsed.emitText()
      // The module has no global of its own, so Asyncify's state is global 0; the restore sets the stack's position.
      const restore = /\(@metadata\.code\.branch_hint "\\00"\)\s*\(if\s*\(global\.get \$global\$0\)\s*\(then\s*\(global\.set /g
      expect(text.match(restore)).toHaveLength(1)
      expect(text.match(/@metadata\.code\.branch_hint/g)).toHaveLength(1)
    } finally {
      parsed.dispose()
    }
  })

  it('keeps the input\'s hints in a build for size, which adds none of its own', () => {
    const result = prepareAsyncifyWithoutBinaryen(hinted(module, [1, 2]), { imports: ['env.wait'], optimize: 'z' })!
    expect(result.report.engine).toBe('direct')
    expect(hints(result.wasm!).map(({ index, hint }) => ({ index, hint }))).toEqual([
      { index: 1, hint: 1 },
      { index: 2, hint: 1 },
    ])
  })

  it('drops a section it cannot read rather than pass on offsets it cannot check, and adds its own', () => {
    const truncated = withSectionBeforeCode(module, BRANCH_HINTS, concatBytes(leb(1), leb(2), leb(1), leb(3), leb(9)))
    const own = hints(build(module))
    expect(own.length).toBeGreaterThan(0)
    expect(own.every((entry) => entry.hint === 0)).toBe(true)
    expect(hints(build(truncated))).toEqual(own)
  })

  it('drops the entries of another kind in the functions it instruments, whose meaning it cannot keep', () => {
    const payload = customSectionPayloads(hinted(module, [1, 2]), BRANCH_HINTS)[0]!
    const output = build(withSectionBeforeCode(module, 'metadata.code.other', payload))
    expect(hintedFunctions(output, 'metadata.code.other')).toEqual([2])
  })

  it('leaves other custom sections alone', () => {
    const input = withSectionBeforeCode(module, 'producers.extra', new Uint8Array([1, 2, 3]))
    expect(customSectionPayloads(build(input), 'producers.extra')).toEqual([new Uint8Array([1, 2, 3])])
  })
})

describe('code metadata in a Binaryen build', () => {
  it('keeps the branch hints Binaryen maintains and drops another kind it passed through unread', async () => {
    const payload = customSectionPayloads(hinted(module, [1, 2]), BRANCH_HINTS)[0]!
    const input = withSectionBeforeCode(hinted(module, [1, 2]), 'metadata.code.other', payload)
    const result = await asyncifyWasm(input, { imports: ['env.wait'], mode: 'asyncify', engine: 'binaryen' })
    expect(result.report.engine).toBe('binaryen')
    expect(hintedFunctions(result.wasm!)).toEqual([2])
    expect(hintedFunctions(result.wasm!, 'metadata.code.other')).toBeNull()
    const { instance } = await WebAssembly.instantiate(result.wasm as Uint8Array<ArrayBuffer>, { env: { wait: (x: number) => x } })
    expect((instance.exports.pick as (x: number) => number)(0)).toBe(2)
  })
})
