import { isAbsolute, relative, resolve } from 'node:path'
import picomatch from 'picomatch'
import { AsyncifyError, unknownOption } from '../runtime-shim/errors.js'
import { TRANSFORM_OPTION_NAMES, resolveTransformOptions, type TransformOptions } from '../transform/options.js'

/** Transform options that make sense per module (the file name comes from the import). */
export type ModuleOptions = Omit<TransformOptions, 'filename' | 'debug'> & {
  /**
   * Source-level debugging through the transform (see TransformOptions.debug): `auto`
   * (default) turns it on in Vite's dev server and off in builds.
   */
  debug?: boolean | 'auto'
}

/** Options of `asyncify()` in every bundler. */
export interface AsyncifyPluginOptions extends ModuleOptions {
  /**
   * Globs (relative to the project root) of `.wasm` files that a plain
   * `import init from './x.wasm'` transforms, as if it said `?asyncify`.
   * Default: none; only `?asyncify` imports are claimed, so the bundler's own
   * `.wasm` handling keeps every other module.
   */
  include?: string | readonly string[]
  /** Globs that `include` must not claim. */
  exclude?: string | readonly string[]
  /**
   * Per-module transform options: glob -> options merged over the top-level ones,
   * in order (a later match wins), e.g. `{ 'src/net.wasm': { imports: ['env.fetch'] } }`.
   */
  overrides?: Readonly<Record<string, ModuleOptions>>
  /**
   * Embed the transformed module as base64 instead of emitting a file: `true`
   * always, a number to inline modules up to that many bytes. Default `false`.
   */
  inline?: boolean | number
  /** Write `x.wasm.d.ts` beside each module with its export signatures. Default `false`. */
  dts?: boolean
  /**
   * Directory of the transform cache, relative to the project root, or `false`
   * to transform on every build. Default `node_modules/.cache/unplugin-asyncify`.
   */
  cacheDir?: string | false
}

export interface ResolvedPluginOptions {
  /** Whether a plain `.wasm` import (without `?asyncify`) at this absolute path is claimed. */
  claims(file: string, root: string): boolean
  /** Transform options for one module, with its name for messages; `serve`: in a dev server, where `debug: 'auto'` is on. */
  transformFor(file: string, root: string, serve: boolean): TransformOptions
  inlineLimit: number
  dts: boolean
  cacheDir(root: string): string | null
}

const DEFAULT_CACHE_DIR = 'node_modules/.cache/unplugin-asyncify'
/** The transform's options a module can set: its file name comes from the import. */
const TRANSFORM_KEYS = TRANSFORM_OPTION_NAMES.filter((name): name is keyof ModuleOptions & keyof TransformOptions => name !== 'filename')
const PLUGIN_KEYS: Record<Exclude<keyof AsyncifyPluginOptions, keyof ModuleOptions>, true> = {
  include: true,
  exclude: true,
  overrides: true,
  inline: true,
  dts: true,
  cacheDir: true,
}

/** Every default of the plugin lives here; the hooks only see resolved options. */
export function resolveOptions(options: AsyncifyPluginOptions = {}): ResolvedPluginOptions {
  const bad = (message: string): never => {
    throw new AsyncifyError('ASYNCIFY_BAD_OPTIONS', `asyncify(): ${message}`)
  }
  const globs = (name: string, value: string | readonly string[] | undefined): string[] => {
    const list = typeof value === 'string' ? [value] : [...(value ?? [])]
    if (list.some((glob) => typeof glob !== 'string' || glob === '')) {
      bad(`${name} must be a glob or an array of globs; got ${JSON.stringify(value)}`)
    }
    return list
  }
  const known = (where: string, value: object, names: readonly string[]) => {
    const unknown = unknownOption(value, names)
    if (unknown !== null) bad(`${where}${unknown}`)
  }
  known('', options, [...TRANSFORM_KEYS, ...Object.keys(PLUGIN_KEYS)])
  for (const [glob, override] of Object.entries(options.overrides ?? {})) known(`overrides: { "${glob}" }: `, override, TRANSFORM_KEYS)
  const include = matcher(globs('include', options.include))
  const exclude = matcher(globs('exclude', options.exclude))
  const base = pickTransform(options)
  const forModule = ({ debug = 'auto', ...rest }: ModuleOptions, serve: boolean): Omit<TransformOptions, 'filename'> => {
    if (debug !== 'auto' && typeof debug !== 'boolean') bad(`debug must be true, false or "auto"; got ${JSON.stringify(debug)}`)
    return { ...rest, debug: debug === 'auto' ? serve : debug }
  }
  // Validated now, so a typo fails when the config loads rather than on the first import.
  resolveTransformOptions({ ...forModule(base, false), filename: 'asyncify() options' })
  const overrides = Object.entries(options.overrides ?? {}).map(([glob, override]) => {
    const merged = { ...base, ...pickTransform(override) }
    resolveTransformOptions({ ...forModule(merged, false), filename: `asyncify({ overrides: { "${glob}" } })` })
    return { matches: matcher([glob]), options: merged }
  })
  const inline = options.inline ?? false
  if (typeof inline !== 'boolean' && !(Number.isInteger(inline) && inline >= 0)) {
    bad(`inline must be true, false or a size in bytes; got ${JSON.stringify(inline)}`)
  }
  const cacheDir = options.cacheDir ?? DEFAULT_CACHE_DIR
  return {
    claims: (file, root) => {
      const path = relativePath(file, root)
      return file.endsWith('.wasm') && include(path) && !exclude(path)
    },
    transformFor: (file, root, serve) => {
      const path = relativePath(file, root)
      const found = overrides.filter((override) => override.matches(path)).at(-1)
      return { ...forModule(found ? found.options : base, serve), filename: path }
    },
    inlineLimit: inline === true ? Infinity : inline === false ? -1 : inline,
    dts: options.dts ?? false,
    cacheDir: (root) => (cacheDir === false ? null : resolve(root, cacheDir)),
  }
}

function pickTransform(options: ModuleOptions): ModuleOptions {
  const picked: Record<string, unknown> = {}
  for (const key of TRANSFORM_KEYS) if (options[key] !== undefined) picked[key] = options[key]
  return picked as ModuleOptions
}

function matcher(globs: string[]): (path: string) => boolean {
  if (globs.length === 0) return () => false
  return picomatch(globs, { dot: true })
}

/** Root-relative path with forward slashes, the form globs and messages use; files outside the root stay absolute. */
export function relativePath(file: string, root: string): string {
  const path = relative(root, file)
  return (path.startsWith('..') || isAbsolute(path) ? file : path).replaceAll('\\', '/')
}
