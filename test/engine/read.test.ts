import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { asyncifyWasm, AsyncifyError } from 'unplugin-asyncify/transform'
import { instantiate } from 'unplugin-asyncify/runtime'
import { describe, expect, it } from 'vitest'
import { later } from '../helpers/engine.js'

const fixture = (name: string) => new Uint8Array(readFileSync(join(import.meta.dirname, '../fixtures/wabt', name)))

describe('custom sections Binaryen cannot parse', () => {
  it('a valid module with wabt-style tag names keeps them through the direct engine, which reads the section as the spec does', async () => {
    const bytes = fixture('tag-names.wasm')
    const { wasm, report } = await asyncifyWasm(bytes, { filename: 'tags.wasm', imports: ['env.get'] })
    expect(report.engine).toBe('direct')
    expect(report.warnings).toEqual([])
    expect(WebAssembly.Module.customSections(new WebAssembly.Module(wasm! as Uint8Array<ArrayBuffer>), 'name')).toHaveLength(1)
    const { instance } = await instantiate(wasm!, { env: { get: () => later(41) } })
    await expect((instance.exports.run as () => Promise<number>)()).resolves.toBe(42)
  })

  it('through Binaryen, a valid module with wabt-style tag names is transformed without its names, with a warning saying why', async () => {
    const bytes = fixture('tag-names.wasm')
    expect(WebAssembly.validate(bytes)).toBe(true)
    const { wasm, report } = await asyncifyWasm(bytes, { filename: 'tags.wasm', imports: ['env.get'], engine: 'binaryen' })
    expect(report.warnings).toEqual([
      expect.stringMatching(/^Binaryen cannot read the module's name section \(.*unexpected end of input.*\), so it was read without it/),
    ])
    const { instance } = await instantiate(wasm!, { env: { get: () => later(41) } })
    await expect((instance.exports.run as () => Promise<number>)()).resolves.toBe(42)
  })

  it('a module that is corrupt without its name section too is ASYNCIFY_INVALID_WASM', async () => {
    const bytes = fixture('tag-names.wasm')
    // The `call` opcode in $run's body becomes 0xff, which is no opcode.
    bytes[bytes.findIndex((byte, i) => byte === 0x10 && bytes[i + 1] === 0x00 && bytes[i + 2] === 0x41)] = 0xff
    const error = await asyncifyWasm(bytes, { filename: 'tags.wasm' }).then(() => null, (e: unknown) => e)
    expect(error).toBeInstanceOf(AsyncifyError)
    expect((error as AsyncifyError).code).toBe('ASYNCIFY_INVALID_WASM')
    expect((error as AsyncifyError).message).toMatch(/^tags\.wasm: not a valid WebAssembly module \(.+\); the file is truncated or corrupted/)
  })
})
