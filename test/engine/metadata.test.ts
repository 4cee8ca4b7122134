/*
 * The metadata section says only what is not a given; the runtime reads back
 * exactly the metadata the transform decided, on both paths.
 */
import { asyncifyWasm } from 'unplugin-asyncify/transform'
import { describe, expect, it } from 'vitest'
import { AsyncifyError } from '../../src/runtime-shim/errors.js'
import { ASYNCIFY_API_EXPORTS, METADATA_SECTION, readMetadata } from '../../src/runtime-shim/metadata.js'
import { concatBytes, encodeName, section } from '../../src/runtime-shim/wasm-writer.js'
import { compileC } from '../helpers/compile-c.js'

const stored = (wasm: Uint8Array) => {
  const [payload] = WebAssembly.Module.customSections(new WebAssembly.Module(wasm as Uint8Array<ArrayBuffer>), METADATA_SECTION)
  return JSON.parse(new TextDecoder().decode(payload)) as Record<string, unknown>
}

describe('the metadata section', () => {
  it('leaves out the Asyncify API exports and empty fields, and the runtime reads back what the transform decided', async () => {
    const { wasm, metadata, jspi } = await asyncifyWasm(compileC('loop.c'), { imports: ['env.next'] })
    const section = stored(wasm!)
    expect(section.internalExports).toEqual(metadata!.internalExports.filter((name) => !ASYNCIFY_API_EXPORTS.includes(name)))
    expect(Object.entries(section).filter(([, value]) => value === null)).toEqual([])
    expect(section).not.toHaveProperty('exportSignatures')
    expect(readMetadata(new WebAssembly.Module(wasm as Uint8Array<ArrayBuffer>), 'loop.wasm')).toEqual(metadata)
    expect(metadata!.internalExports).toEqual(expect.arrayContaining([...ASYNCIFY_API_EXPORTS]))
    // The JSPI build has no Asyncify API: its internal exports are stored as they are.
    expect(readMetadata(new WebAssembly.Module(jspi!.wasm as Uint8Array<ArrayBuffer>), 'loop.jspi.wasm')).toEqual(jspi!.metadata)
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
    expect((error as Error).message).toMatch(/^old\.wasm: transformed by an incompatible version .*metadata v4, this runtime reads v5\); rebuild/)
  })
})
