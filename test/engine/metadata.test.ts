/*
 * The metadata section says only what is not a given; the runtime reads back
 * exactly the metadata the transform decided, on both paths.
 */
import { asyncifyWasm } from 'unplugin-asyncify/transform'
import { describe, expect, it } from 'vitest'
import { AsyncifyError } from '../../src/runtime-shim/errors.js'
import { ASYNCIFY_API_EXPORTS, MALLOC_EXPORT, METADATA_SECTION, STACK_POINTER_EXPORT, readMetadata } from '../../src/runtime-shim/metadata.js'
import { concatBytes, encodeName, section } from '../../src/runtime-shim/wasm-writer.js'
import { compileC } from '../helpers/compile-c.js'
import { wat } from '../helpers/wat.js'

const stored = (wasm: Uint8Array) => {
  const [payload] = WebAssembly.Module.customSections(new WebAssembly.Module(wasm as Uint8Array<ArrayBuffer>), METADATA_SECTION)
  return JSON.parse(new TextDecoder().decode(payload)) as Record<string, unknown>
}

describe('the metadata section', () => {
  it('leaves out the Asyncify API exports, empty fields and the usual values, and the runtime reads back what the transform decided', async () => {
    const { wasm, metadata, jspi } = await asyncifyWasm(compileC('loop.c'), { imports: ['env.next'] })
    // loop.c has the usual memory export, C stack pointer, stack size and internal exports: none of them is written.
    expect(Object.keys(stored(wasm!)).sort()).toEqual(['asyncImports', 'engine', 'suspendingExports', 'version'])
    expect(metadata).toMatchObject({ stackSize: 65536, stackPointer: STACK_POINTER_EXPORT, memory: { export: 'memory' }, malloc: null })
    expect(metadata!.internalExports).toEqual([...ASYNCIFY_API_EXPORTS, STACK_POINTER_EXPORT])
    expect(readMetadata(new WebAssembly.Module(wasm as Uint8Array<ArrayBuffer>), 'loop.wasm')).toEqual(metadata)
    // The JSPI build has no Asyncify API: its internal exports are compared as they are.
    expect(Object.keys(stored(jspi!.wasm)).sort()).toEqual(['asyncImports', 'engine', 'exportSignatures', 'stackPointerImport', 'suspendingExports', 'version'])
    expect(readMetadata(new WebAssembly.Module(jspi!.wasm as Uint8Array<ArrayBuffer>), 'loop.jspi.wasm')).toEqual(jspi!.metadata)
  })

  it('writes every value that is not the usual one, null included, and reads it back as written', async () => {
    const sorted = await asyncifyWasm(compileC('sort.c'), { imports: ['env.compare'], stackSize: 4096 })
    expect(stored(sorted.wasm!)).toMatchObject({ stackSize: 4096, malloc: MALLOC_EXPORT, internalExports: [STACK_POINTER_EXPORT, MALLOC_EXPORT] })
    expect(readMetadata(new WebAssembly.Module(sorted.wasm as Uint8Array<ArrayBuffer>), 'sort.wasm')).toEqual(sorted.metadata)
    // No C stack pointer: null is written, so that it is not read back as the usual export.
    const bare = await asyncifyWasm(
      wat(`(module
        (import "env" "get" (func $get (result i32)))
        (memory (export "mem") 1)
        (func (export "run") (result i32) (call $get)))`),
      { imports: ['env.get'], filename: 'bare.wasm' },
    )
    expect(stored(bare.wasm!)).toMatchObject({ stackPointer: null, memory: { export: 'mem' }, internalExports: [] })
    const read = readMetadata(new WebAssembly.Module(bare.wasm as Uint8Array<ArrayBuffer>), 'bare.wasm')
    expect(read).toEqual(bare.metadata)
    expect(read.stackPointer).toBeNull()
    // Each read gets its own copy of the usual values.
    const again = readMetadata(new WebAssembly.Module(bare.wasm as Uint8Array<ArrayBuffer>), 'bare.wasm')
    expect(again.exportSignatures).not.toBe(read.exportSignatures)
  })

  it('a section of another version is refused, naming both versions and the fix', () => {
    const payload = concatBytes(encodeName(METADATA_SECTION), new TextEncoder().encode('{"version":4}'))
    const module = concatBytes([0, 0x61, 0x73, 0x6d, 1, 0, 0, 0], section(0, payload)) as Uint8Array<ArrayBuffer>
    const error = (() => {
      try {
        return readMetadata(new WebAssembly.Module(module), 'old.wasm')
      } catch (caught) {
        return caught
      }
    })()
    expect(error).toBeInstanceOf(AsyncifyError)
    expect((error as AsyncifyError).code).toBe('ASYNCIFY_NOT_TRANSFORMED')
    expect((error as Error).message).toMatch(/^old\.wasm: transformed by an incompatible version .*metadata v4, this runtime reads v6\); rebuild/)
  })
})
