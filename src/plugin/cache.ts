import { createHash } from 'node:crypto'
import { existsSync, readFileSync, readdirSync } from 'node:fs'
import { mkdir, readFile, rename, writeFile } from 'node:fs/promises'
import { createRequire } from 'node:module'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import type { AsyncifyMetadata, TransformOptions, TransformReport, TransformResult } from '../transform/index.js'

const require = createRequire(import.meta.url)

/*
 * A transform depends on the input bytes, the options, Binaryen and our own
 * code; any of them changing must miss. Our code is hashed, not versioned: a
 * git dependency, `npm link` or a patch changes it under the same version.
 * Only the folders a transform's code comes from are read: the bundled
 * chunks (dist/chunks/, where the transform runs from), the transform's own
 * entries (its worker, its engine's entry) and the runtime, whose metadata
 * format a transform writes. The bundler glue and the CLI shape a transform
 * only through the options, which the key holds; leaving them (and the
 * declarations of the older TypeScript) out halves what a first transform
 * reads.
 */
const CODE_FOLDERS = ['chunks', 'transform', 'runtime-shim']

let code: string | null = null

/** Hashed at the first key, not at import: a build without a module to transform never reads our files. */
function codeHash(): string {
  code ??= hashCode(fileURLToPath(new URL('../', import.meta.url)))
  return code
}

function hashCode(root: string): string {
  const hash = createHash('sha256').update((require('binaryen/package.json') as { version: string }).version)
  const walk = (dir: string, prefix: string) => {
    for (const entry of readdirSync(dir, { withFileTypes: true }).sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0))) {
      if (entry.isDirectory()) walk(join(dir, entry.name), `${prefix}${entry.name}/`)
      // Source maps and declarations change nothing a transform does.
      else if (!entry.name.endsWith('.map') && !entry.name.endsWith('.d.ts')) hash.update(prefix + entry.name).update(readFileSync(join(dir, entry.name)))
    }
  }
  // Run from source (the tests), there is no chunks folder.
  for (const folder of CODE_FOLDERS) if (existsSync(join(root, folder))) walk(join(root, folder), `${folder}/`)
  return hash.digest('hex')
}

/**
 * The file name only labels messages, so it stays out of the key: the same
 * module at another path, or built from another root, is a hit.
 */
export function cacheKey(bytes: Uint8Array, options: TransformOptions): string {
  const { filename: _label, ...shaping } = options
  return createHash('sha256').update(codeHash()).update(JSON.stringify(shaping)).update(bytes).digest('hex').slice(0, 32)
}

/** Cache directories a write already failed in, in this process: each is reported once. */
const unwritable = new Set<string>()

/**
 * What to tell the user when a write into the cache directory `dir` failed:
 * a warning the first time in this process, null after. A cache only saves
 * time, so the build goes on without it.
 */
export function cacheWriteWarning(dir: string, error: unknown): string | null {
  if (unwritable.has(dir)) return null
  unwritable.add(dir)
  return (
    `cannot write the transform cache in ${dir} (${error instanceof Error ? error.message : String(error)}); this build was not cached. ` +
    `Set the plugin's cacheDir option to a writable directory, or to false to build without a cache`
  )
}

/**
 * Transformed modules on disk: `<key>.wasm` holds the asyncified bytes,
 * `<key>.jspi.wasm` the JSPI build's, `<key>.json` both metadata and the
 * report; a build the transform did not produce has no file and null in the
 * JSON. The JSON is written last, so an entry without it (an interrupted
 * write) is a miss.
 */
export class TransformCache {
  constructor(private readonly dir: string) {}

  async get(key: string): Promise<TransformResult | null> {
    try {
      const json = JSON.parse(await readFile(join(this.dir, `${key}.json`), 'utf8')) as CacheEntry
      const wasm = json.metadata === null ? null : await this.read(`${key}.wasm`)
      const jspi = json.jspiMetadata === null ? null : { wasm: await this.read(`${key}.jspi.wasm`), metadata: json.jspiMetadata }
      return { wasm, metadata: json.metadata, jspi, report: json.report }
    } catch {
      return null
    }
  }

  async set(key: string, result: TransformResult): Promise<void> {
    await mkdir(this.dir, { recursive: true })
    await Promise.all([
      result.wasm === null ? null : atomicWrite(join(this.dir, `${key}.wasm`), result.wasm),
      result.jspi === null ? null : atomicWrite(join(this.dir, `${key}.jspi.wasm`), result.jspi.wasm),
    ])
    const entry: CacheEntry = {
      metadata: result.wasm === null ? null : result.metadata,
      jspiMetadata: result.jspi?.metadata ?? null,
      report: result.report,
    }
    await atomicWrite(join(this.dir, `${key}.json`), JSON.stringify(entry))
  }

  private async read(name: string): Promise<Uint8Array> {
    return new Uint8Array(await readFile(join(this.dir, name)))
  }
}

/** `<key>.json`: null metadata means that build was not produced (and has no `.wasm`). */
interface CacheEntry {
  metadata: AsyncifyMetadata | null
  jspiMetadata: AsyncifyMetadata | null
  report: TransformReport
}

// Two builds sharing a cache may write the same entry at once; a rename is atomic.
async function atomicWrite(path: string, data: Uint8Array | string): Promise<void> {
  const temporary = `${path}.${process.pid}.${Math.random().toString(36).slice(2)}.tmp`
  await writeFile(temporary, data)
  await rename(temporary, path)
}
