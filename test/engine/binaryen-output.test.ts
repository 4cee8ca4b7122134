import { asyncifyWasm, AsyncifyError } from 'unplugin-asyncify/transform'
import { describe, expect, it } from 'vitest'
import { compileC } from '../helpers/compile-c.js'
import { wat } from '../helpers/wat.js'

async function failure(bytes: Uint8Array, filename: string, options = {}): Promise<AsyncifyError> {
  const error = await asyncifyWasm(bytes, { filename, ...options }).then(() => null, (e: unknown) => e)
  expect(error).toBeInstanceOf(AsyncifyError)
  return error as AsyncifyError
}

const truncated = () => {
  const bytes = compileC('loop.c')
  return bytes.subarray(0, Math.floor(bytes.length / 2))
}

// (func (result i32) (i32.const 0)) declared without a result: fails validation.
const invalid = new Uint8Array([0, 97, 115, 109, 1, 0, 0, 0, 1, 4, 1, 96, 0, 0, 3, 2, 1, 0, 10, 6, 1, 4, 0, 65, 0, 11])

const tailCall = () =>
  wat(
    `(module
      (import "env" "get" (func $get (result i32)))
      (memory (export "memory") 1)
      (func $tail (export "run") (result i32) (return_call $get)))`,
    ['TailCall'],
  )

const simple = () =>
  wat(`(module
    (import "env" "get" (func $get (result i32)))
    (memory (export "memory") 1)
    (func (export "run") (result i32) (call $get)))`)

/*
 * One worker transforms file after file (in a bundler, every module of the
 * build). binaryen.js prints a parse error without a newline and then throws,
 * so its text used to wait in Emscripten's buffer and come out in the next
 * file's message.
 */
describe("Binaryen's text stays with the file it is about", () => {
  it("a parse error names its own cause, and the next file's validation error holds nothing of it", async () => {
    const first = await failure(truncated(), 'first.wasm')
    expect(first.code).toBe('ASYNCIFY_INVALID_WASM')
    expect(first.message).toMatch(/^first\.wasm: not a valid WebAssembly module \(.*Section extends beyond end of input/)
    const second = await failure(invalid, 'second.wasm')
    expect(second.code).toBe('ASYNCIFY_INVALID_WASM')
    expect(second.message).toMatch(/^second\.wasm: the module does not validate \(\[wasm-validator error/)
    expect(second.message).not.toMatch(/parse exception|beyond end of input/)
  })

  it("an Asyncify fatal error is followed by a file whose error holds nothing of it", async () => {
    const first = await failure(tailCall(), 'first.wasm', { optimize: 0, mode: 'asyncify' })
    expect(first.code).toBe('ASYNCIFY_UNSUPPORTED_FEATURE')
    expect(first.message).toMatch(/tail call/)
    const second = await failure(invalid, 'second.wasm')
    expect(second.message).not.toMatch(/tail call|asyncify/i)
  })

  it('a file transformed after failing ones gets no warnings of theirs', async () => {
    await failure(truncated(), 'first.wasm')
    await failure(tailCall(), 'second.wasm', { optimize: 0, mode: 'asyncify' })
    const { report } = await asyncifyWasm(simple(), { filename: 'third.wasm', imports: ['env.get'] })
    expect(report.warnings).toEqual([])
  })
})
