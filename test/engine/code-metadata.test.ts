/*
 * Branch hints and other `metadata.code.*` sections point at instructions by
 * their offset in a body. The direct engine rewrites the bodies it
 * instruments, so their entries must go, while the entries of untouched
 * functions, still true, stay. Binaryen keeps branch hints true itself and
 * passes any other kind through unread, so its builds drop those.
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

function build(bytes: Uint8Array) {
  const result = prepareAsyncifyWithoutBinaryen(bytes, { imports: ['env.wait'] })
  expect(result?.report.engine).toBe('direct')
  return result!.wasm!
}

describe('code metadata in a direct build', () => {
  it('keeps the entries of functions it leaves as they were and drops those of functions it instruments', async () => {
    const input = hinted(module, [1, 2])
    expect(WebAssembly.validate(input as Uint8Array<ArrayBuffer>)).toBe(true)
    const output = build(input)
    expect(hintedFunctions(output)).toEqual([2])
    // The kept entry (the last five bytes: function, count, offset, size, hint) is byte for byte the input's, and `pick`'s body with it.
    expect(customSectionPayloads(output, BRANCH_HINTS)[0]).toEqual(concatBytes(leb(1), customSectionPayloads(input, BRANCH_HINTS)[0]!.slice(-5)))
    expect(codeBodies(output)[1]).toEqual(codeBodies(input)[1])
    const { instance } = await WebAssembly.instantiate(output as Uint8Array<ArrayBuffer>, { env: { wait: (x: number) => x } })
    expect((instance.exports.pick as (x: number) => number)(0)).toBe(2)
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

  it('drops the section when every function it names is instrumented', () => {
    expect(hintedFunctions(build(hinted(module, [1])))).toBeNull()
  })

  it('drops a section it cannot read rather than pass on offsets it cannot check', () => {
    const truncated = withSectionBeforeCode(module, BRANCH_HINTS, concatBytes(leb(1), leb(2), leb(1), leb(3), leb(9)))
    expect(hintedFunctions(build(truncated))).toBeNull()
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
