import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'

/**
 * A temporary directory of this process alone, for files a bundler must read
 * from disk when there is no cache directory to keep them in. `mkdtemp` gives a
 * fresh name (no other process or user shares it, so none can plant or delete
 * files in it) and mode 0700. Made on first use, removed by `remove()`.
 */
export class ScratchDir {
  #path: Promise<string> | null = null

  constructor(private readonly prefix: string) {}

  path(): Promise<string> {
    this.#path ??= mkdtemp(join(tmpdir(), `${this.prefix}-`))
    return this.#path
  }

  /** Removes the directory and its files; the next `path()` makes a new one. */
  async remove(): Promise<void> {
    const path = this.#path
    this.#path = null
    if (path !== null) await rm(await path, { recursive: true, force: true })
  }
}
