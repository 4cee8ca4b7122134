import type { IncomingMessage, ServerResponse } from 'node:http'

/** URL prefix under which the Vite dev server answers transformed modules. */
export const DEV_PREFIX = '/@asyncify/'

/**
 * Transformed modules held for the Vite dev server, where `emitFile` writes
 * nothing. Each build of a source file (its asyncified and its JSPI build)
 * keeps only its latest version, so editing a module a hundred times does not
 * keep a hundred copies. Paths are content-addressed, so two source files
 * with the same name and bytes share one; it is dropped when neither uses it.
 */
export class DevAssets {
  /** Bytes, or the work that makes them on the first request (see `addLazy`). */
  private readonly byPath = new Map<string, Uint8Array | (() => Promise<Uint8Array>)>()
  private readonly pathByBuild = new Map<string, string>()
  /** The builds (`file\0name`) each path serves. */
  private readonly buildsByPath = new Map<string, Set<string>>()

  /**
   * Stores the bytes of `file`'s build `name` (`prog.wasm`, `prog.jspi.wasm`)
   * and returns the path (below the base) that serves them.
   */
  add(file: string, hash: string, name: string, bytes: Uint8Array | (() => Promise<Uint8Array>)): string {
    const path = `${DEV_PREFIX}${hash}/${encodeURIComponent(name)}`
    const build = `${file}\0${name}`
    const previous = this.pathByBuild.get(build)
    if (previous !== undefined && previous !== path) this.release(previous, build)
    // The same path means the same input and options: what it serves (or has made) stays.
    if (!this.byPath.has(path)) this.byPath.set(path, bytes)
    this.pathByBuild.set(build, path)
    let builds = this.buildsByPath.get(path)
    if (!builds) this.buildsByPath.set(path, (builds = new Set()))
    builds.add(build)
    return path
  }

  private release(path: string, build: string): void {
    const builds = this.buildsByPath.get(path)
    builds?.delete(build)
    if (builds && builds.size > 0) return
    this.buildsByPath.delete(path)
    this.byPath.delete(path)
  }

  /**
   * A build made only when a client asks for it: the Vite dev server builds the
   * asyncified module for engines without JSPI on their first request, so an
   * edit reloads without waiting for Binaryen. `hash` must name the input and
   * the options (the output does not exist yet). The work runs once.
   */
  addLazy(file: string, hash: string, name: string, make: () => Promise<Uint8Array>): string {
    let made: Promise<Uint8Array> | null = null
    return this.add(file, hash, name, () => (made ??= make()))
  }

  /**
   * Connect middleware for a server whose `base` is `base` (it runs before
   * Vite strips the base). The path is content-addressed, so it can be cached
   * forever. A lazy build that fails answers 500 with the reason, which the
   * runtime reports as ASYNCIFY_FETCH_FAILED; `onError` also logs it.
   */
  middleware(base: string, onError: (message: string) => void) {
    const prefix = base.replace(/\/$/, '')
    return (req: IncomingMessage, res: ServerResponse, next: () => void): void => {
      const url = req.url?.split('?')[0]
      const path = url?.startsWith(`${prefix}/`) ? url.slice(prefix.length) : url
      const entry = path === undefined ? undefined : this.byPath.get(path)
      if (!entry) return next()
      const send = (bytes: Uint8Array) => {
        res.setHeader('Content-Type', 'application/wasm')
        res.setHeader('Content-Length', bytes.length)
        res.setHeader('Cache-Control', 'max-age=31536000, immutable')
        res.end(bytes)
      }
      if (entry instanceof Uint8Array) return send(entry)
      entry().then(send, (error: unknown) => {
        const message = error instanceof Error ? error.message : String(error)
        onError(message)
        res.statusCode = 500
        res.setHeader('Content-Type', 'text/plain; charset=utf-8')
        res.end(message)
      })
    }
  }
}
