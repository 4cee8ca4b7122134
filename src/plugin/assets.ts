import { createHash } from 'node:crypto'
import { mkdir, writeFile } from 'node:fs/promises'
import { basename, dirname, join } from 'node:path'

/** `prog-1a2b3c4d.wasm`: the content hash makes the file cacheable forever. */
export function hashedName(file: string, bytes: Uint8Array): string {
  const hash = createHash('sha256').update(bytes).digest('hex').slice(0, 8)
  return `${basename(file, '.wasm')}-${hash}.wasm`
}

/** Writes the bytes to `dir/name` (both bundler-chosen) and returns the path. */
export async function writeAsset(dir: string, name: string, bytes: Uint8Array): Promise<string> {
  const path = join(dir, name)
  await mkdir(dirname(path), { recursive: true })
  await writeFile(path, bytes)
  return path
}
