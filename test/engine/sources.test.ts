import { readFileSync } from 'node:fs'
import { asyncifyWasm } from 'unplugin-asyncify/transform'
import { AsyncifyError, instantiate } from 'unplugin-asyncify/runtime'
import { describe, expect, it } from 'vitest'
import { later } from '../helpers/engine.js'
import { wat } from '../helpers/wat.js'

const source = wat(readFileSync(new URL('../fixtures/wat/behaviour.wat', import.meta.url), 'utf8'))
const { wasm } = await asyncifyWasm(source, { imports: ['env.get', 'env.get64'] })
const bytes = wasm as Uint8Array<ArrayBuffer>
const imports = { env: { get: (x: number) => later(x * 2), get64: (x: bigint) => x, log: () => {} } }

async function addAfter(instance: { exports: Record<string, unknown> }) {
  return (instance.exports.add_after as (x: number) => Promise<number>)(4)
}

describe('instantiate accepts every kind of source', () => {
  it('bytes, an ArrayBuffer and a compiled Module', async () => {
    for (const input of [bytes, bytes.slice().buffer, new WebAssembly.Module(bytes)]) {
      const { instance, module } = await instantiate(input, imports)
      expect(module).toBeInstanceOf(WebAssembly.Module)
      await expect(addAfter(instance)).resolves.toBe(12)
    }
  })

  it('a Response or a Promise of one, streaming with application/wasm', async () => {
    const response = () => new Response(bytes, { headers: { 'content-type': 'application/wasm' } })
    await expect(addAfter((await instantiate(response(), imports)).instance)).resolves.toBe(12)
    await expect(addAfter((await instantiate(Promise.resolve(response()), imports)).instance)).resolves.toBe(12)
  })

  it('a Response served with the wrong MIME type falls back to its bytes', async () => {
    const response = new Response(bytes, { headers: { 'content-type': 'application/octet-stream' } })
    await expect(addAfter((await instantiate(response, imports)).instance)).resolves.toBe(12)
  })

  it('a failed HTTP response names the module and the status', async () => {
    const error = await instantiate(new Response('not here', { status: 404, statusText: 'Not Found' }), imports, {
      name: 'prog.wasm',
    }).catch((e: unknown) => e)
    expect((error as AsyncifyError).code).toBe('ASYNCIFY_FETCH_FAILED')
    expect((error as Error).message).toMatch(/^prog\.wasm: fetching the module failed with HTTP 404 Not Found; check that/)
  })

  it('a module that was not transformed is refused with a message that says how to fix it', async () => {
    const error = await instantiate(source, imports, { name: 'plain.wasm' }).catch((e: unknown) => e)
    expect((error as AsyncifyError).code).toBe('ASYNCIFY_NOT_TRANSFORMED')
    expect((error as Error).message).toMatch(/^plain\.wasm: .*asyncifyWasm\(\)/)
  })
})
