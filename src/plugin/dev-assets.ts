import type { IncomingMessage, ServerResponse } from 'node:http'

/** URL prefix under which the Vite dev server answers transformed modules. */
export const DEV_PREFIX = '/@asyncify/'

/**
 * Transformed modules held for the Vite dev server, where `emitFile` writes
 * nothing. Each build of a source file (its asyncified and its JSPI build)
 * keeps only its latest version, so editing a module a hundred times does not
 * keep a hundred copies.
 */
export class DevAssets {
  private readonly byPath = new Map<string, Uint8Array>()
  private readonly pathByBuild = new Map<string, string>()

  /**
   * Stores the bytes of `file`'s build `name` (`prog.wasm`, `prog.jspi.wasm`)
   * and returns the path (below the base) that serves them.
   */
  add(file: string, hash: string, name: string, bytes: Uint8Array): string {
    const path = `${DEV_PREFIX}${hash}/${encodeURIComponent(name)}`
    const build = `${file}\0${name}`
    const previous = this.pathByBuild.get(build)
    if (previous !== undefined && previous !== path) this.byPath.delete(previous)
    this.byPath.set(path, bytes)
    this.pathByBuild.set(build, path)
    return path
  }

  /**
   * Connect middleware for a server whose `base` is `base` (it runs before
   * Vite strips the base). The path is content-addressed, so it can be cached forever.
   */
  middleware(base: string) {
    const prefix = base.replace(/\/$/, '')
    return (req: IncomingMessage, res: ServerResponse, next: () => void): void => {
      const url = req.url?.split('?')[0]
      const path = url?.startsWith(`${prefix}/`) ? url.slice(prefix.length) : url
      const bytes = path === undefined ? undefined : this.byPath.get(path)
      if (!bytes) return next()
      res.setHeader('Content-Type', 'application/wasm')
      res.setHeader('Content-Length', bytes.length)
      res.setHeader('Cache-Control', 'max-age=31536000, immutable')
      res.end(bytes)
    }
  }
}
