import { fileURLToPath } from 'node:url'

// The loader's entry by the folder's name, which holds wherever the bundle puts this code (scripts/bundle-node.ts).
export const LOADER_PATH = fileURLToPath(new URL('../plugin/webpack-loader.js', import.meta.url))

/** What loading a module needs from the bundler, whichever bundler it is. */
export interface ModuleHost {
  addWatchFile(file: string): void
  warn(message: string): void
  /** Keeps the module out of the bundler's persistent cache: it names a file that will not last. Only webpack and Rspack have one to keep it out of. */
  uncacheable?(): void
}

interface LoaderContext {
  resourcePath: string
  query: { load(file: string, host: ModuleHost): Promise<string>; cacheable: boolean }
  cacheable(flag: boolean): void
  async(): (error: Error | null, code?: string) => void
  addDependency(file: string): void
  emitWarning(warning: Error): void
}

/** The bytes are read by the plugin from `resourcePath`; webpack's copy is not needed. */
export const raw = true

/**
 * The webpack and Rspack loader of claimed `.wasm` modules. The plugin passes its
 * `load` function in the rule's options (an object, never serialized), so the
 * loader shares the plugin's state: its options, cache and log.
 */
export default function asyncifyLoader(this: LoaderContext): void {
  const callback = this.async()
  // Without a cache directory the assets live in a temporary directory removed when the
  // compiler closes; a module restored from webpack's persistent cache would name them.
  if (!this.query.cacheable) this.cacheable(false)
  const host: ModuleHost = {
    addWatchFile: (file) => this.addDependency(file),
    warn: (message) => this.emitWarning(new Error(message)),
    uncacheable: () => this.cacheable(false),
  }
  this.query.load(this.resourcePath, host).then(
    (code) => callback(null, code),
    (error: Error) => callback(error),
  )
}
