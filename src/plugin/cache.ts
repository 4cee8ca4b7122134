import { createHash } from 'node:crypto'
import { readFileSync, readdirSync } from 'node:fs'
import { mkdir, readFile, rename, writeFile } from 'node:fs/promises'
import { createRequire } from 'node:module'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import type { TransformOptions, TransformResult } from '../transform/index.js'

const require = createRequire(import.meta.url)

/*
 * A transform depends on the input bytes, the options, Binaryen and our own
 * code; any of them changing must miss. Our code is hashed, not versioned: a
 * git dependency, `npm link` or a patch changes it under the same version. The
 * runtime is in it because the metadata a transform writes is read by it.
 */
const CODE = hashCode(['../transform/', '../runtime-shim/'].map((dir) => fileURLToPath(new URL(dir, import.meta.url))))

function hashCode(dirs: string[]): string {
  const hash = createHash('sha256').update((require('binaryen/package.json') as { version: string }).version)
  for (const dir of dirs) {
    for (const name of readdirSync(dir).sort()) {
      if (name.endsWith('.map')) continue
      hash.update(name).update(readFileSync(join(dir, name)))
    }
  }
  return hash.digest('hex')
}

/**
 * The file name only labels messages, so it stays out of the key: the same
 * module at another path, or built from another root, is a hit.
 */
export function cacheKey(bytes: Uint8Array, options: TransformOptions): string {
  const { filename: _label, ...shaping } = options
  return createHash('sha256').update(CODE).update(JSON.stringify(shaping)).update(bytes).digest('hex').slice(0, 32)
}

/**
 * Transformed modules on disk: `<key>.wasm` holds the bytes, `<key>.json` the
 * metadata and report. The JSON is written last, so an entry without it (an
 * interrupted write) is a miss.
 */
export class TransformCache {
  constructor(private readonly dir: string) {}

  async get(key: string): Promise<TransformResult | null> {
    try {
      const json = JSON.parse(await readFile(join(this.dir, `${key}.json`), 'utf8')) as Omit<TransformResult, 'wasm'>
      const wasm = new Uint8Array(await readFile(join(this.dir, `${key}.wasm`)))
      return { ...json, wasm }
    } catch {
      return null
    }
  }

  async set(key: string, result: TransformResult): Promise<void> {
    await mkdir(this.dir, { recursive: true })
    const { wasm, ...json } = result
    await atomicWrite(join(this.dir, `${key}.wasm`), wasm)
    await atomicWrite(join(this.dir, `${key}.json`), JSON.stringify(json))
  }
}

// Two builds sharing a cache may write the same entry at once; a rename is atomic.
async function atomicWrite(path: string, data: Uint8Array | string): Promise<void> {
  const temporary = `${path}.${process.pid}.${Math.random().toString(36).slice(2)}.tmp`
  await writeFile(temporary, data)
  await rename(temporary, path)
}
