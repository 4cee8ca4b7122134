import { readdirSync, readFileSync } from 'node:fs'
import { join } from 'node:path'
import { AsyncifyError } from 'unplugin-asyncify/runtime'
import { describe, expect, it } from 'vitest'
import { asyncified, later } from '../helpers/engine.js'
import { wat } from '../helpers/wat.js'

const body = `
  (func (export "run") (param $x i32) (result i32)
    (i32.add (i32.load (i32.const 64)) (call $get (local.get $x))))`

describe('where the Asyncify data lives', () => {
  it('an imported memory, under any name, gets the Asyncify stack in pages the program never had', async () => {
    const memory = new WebAssembly.Memory({ initial: 1 })
    new Int32Array(memory.buffer)[16] = 1000
    const bytes = wat(`(module
      (import "env" "get" (func $get (param i32) (result i32)))
      (import "host" "heap" (memory 1))
      ${body})`)
    const { exports } = await asyncified(
      bytes,
      { imports: ['env.get'] },
      { env: { get: (x: number) => later(x + 1) }, host: { heap: memory } },
      { stackSize: 4096 },
    )
    await expect(exports.run(1)).resolves.toBe(1002)
    expect(memory.buffer.byteLength).toBe(2 * 65536)
  })

  it('an internal memory that is not exported still works, and the user sees only the module\'s own exports', async () => {
    const bytes = wat(`(module
      (import "env" "get" (func $get (param i32) (result i32)))
      (memory 1)
      (data (i32.const 64) "\\07\\00\\00\\00")
      ${body})`)
    const { exports } = await asyncified(bytes, { imports: ['env.get'] }, { env: { get: (x: number) => later(x) } })
    expect(Object.keys(exports)).toEqual(['run'])
    await expect(exports.run(5)).resolves.toBe(12)
  })

  it('a memory at its maximum gives an error naming the limit and the ways out; stackRegion is one of them', async () => {
    const bytes = wat(`(module
      (import "env" "get" (func $get (param i32) (result i32)))
      (memory (export "memory") 1 1)
      ${body})`)
    const env = { get: (x: number) => later(x) }
    const stuck = await asyncified(bytes, { imports: ['env.get'] }, { env })
    const error = await stuck.exports.run(1).catch((e: unknown) => e)
    expect(error).toBeInstanceOf(AsyncifyError)
    expect((error as AsyncifyError).code).toBe('ASYNCIFY_MEMORY_EXHAUSTED')
    expect((error as Error).message).toMatch(/maximum of 1 pages.*--max-memory.*stackRegion/)
    const placed = await asyncified(bytes, { imports: ['env.get'] }, { env }, { stackRegion: { start: 32768, size: 4096 } })
    await expect(placed.exports.run(3)).resolves.toBe(3)
  })

  it('an async import that returns a Promise during instantiation is refused with a clear error', async () => {
    const bytes = wat(`(module
      (import "env" "get" (func $get (param i32) (result i32)))
      (memory (export "memory") 1)
      (start $init)
      (func $init (drop (call $get (i32.const 0))))
      ${body})`)
    const error = await asyncified(bytes, { imports: ['env.get'] }, { env: { get: () => later(0) } }).catch((e: unknown) => e)
    expect((error as AsyncifyError).code).toBe('ASYNCIFY_SUSPEND_OUTSIDE_CALL')
    expect((error as Error).message).toMatch(/"env\.get" returned a Promise, but the wasm that called it was not entered through an export/)
  })

  it('the runtime shipped to browsers contains no eval and no Function constructor', () => {
    const dir = join(import.meta.dirname, '../../dist/runtime-shim')
    const files = readdirSync(dir).filter((file) => file.endsWith('.js'))
    expect(files).toContain('instantiate.js')
    for (const file of files) {
      const code = readFileSync(join(dir, file), 'utf8')
      expect(code).not.toMatch(/\beval\s*\(|new\s+Function\b|\bFunction\s*\(/)
    }
  })
})
