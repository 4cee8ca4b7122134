/*
 * What the Vite dev server serves for transformed modules: each build's
 * latest version, at a content-addressed path that two identical modules
 * share without one's edit taking it from the other.
 */
import type { IncomingMessage, ServerResponse } from 'node:http'
import { describe, expect, it } from 'vitest'
import { DevAssets } from '../../src/plugin/dev-assets.js'

/** The status and body the middleware answers `path` with (404 for "not ours"). */
async function request(assets: DevAssets, path: string): Promise<[number, string]> {
  return new Promise((resolve) => {
    const chunks: string[] = []
    const response = {
      statusCode: 200,
      setHeader() {},
      end(body: Uint8Array | string) {
        chunks.push(typeof body === 'string' ? body : new TextDecoder().decode(body))
        resolve([response.statusCode, chunks.join('')])
      },
    }
    assets.middleware('/', () => {})({ url: path } as IncomingMessage, response as unknown as ServerResponse, () => resolve([404, '']))
  })
}

const bytes = (text: string) => new TextEncoder().encode(text)

describe('dev assets', () => {
  it('two files with the same name and bytes share a path, and an edit of one leaves it to the other', async () => {
    const assets = new DevAssets()
    const a = assets.add('/app/a/x.wasm', 'same', 'x.wasm', bytes('one'))
    const b = assets.add('/app/b/x.wasm', 'same', 'x.wasm', bytes('one'))
    expect(a).toBe(b)
    const edited = assets.add('/app/a/x.wasm', 'edited', 'x.wasm', bytes('two'))
    expect(await request(assets, edited)).toEqual([200, 'two'])
    expect(await request(assets, b)).toEqual([200, 'one'])
    // Once b is edited too, nothing uses the old path.
    assets.add('/app/b/x.wasm', 'other', 'x.wasm', bytes('three'))
    expect(await request(assets, b)).toEqual([404, ''])
  })

  it('an edited build drops its previous version, and a lazy build is made once for every file that shares it', async () => {
    const assets = new DevAssets()
    const first = assets.add('/app/x.wasm', 'v1', 'x.wasm', bytes('v1'))
    assets.add('/app/x.wasm', 'v2', 'x.wasm', bytes('v2'))
    expect(await request(assets, first)).toEqual([404, ''])
    let made = 0
    const make = async () => bytes(`made ${++made}`)
    const lazy = assets.addLazy('/app/a/y.wasm', 'lazy', 'y.wasm', make)
    expect(assets.addLazy('/app/b/y.wasm', 'lazy', 'y.wasm', make)).toBe(lazy)
    expect(await request(assets, lazy)).toEqual([200, 'made 1'])
    expect(await request(assets, lazy)).toEqual([200, 'made 1'])
  })
})
