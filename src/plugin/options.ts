import { isAbsolute, relative, resolve } from 'node:path'
import picomatch from 'picomatch'
import { AsyncifyError, unknownOption } from '../runtime-shim/errors.js'
import { OPTIMIZE_LEVELS, TRANSFORM_OPTION_NAMES, resolveTransformOptions, type OptimizeLevel, type TransformOptions } from '../transform/options.js'

/** Transform options that make sense per module (the file name comes from the import). */
export type ModuleOptions = Omit<TransformOptions, 'filename' | 'debug' | 'optimize'> & {
  /**
   * Source-level debugging through the transform (see TransformOptions.debug): `auto`
   * (default) turns it on in Vite's dev server and off in builds.
   */
  debug?: boolean | 'auto'
  /**
   * The transform's optimization level (see TransformOptions.optimize): `auto` (default)
   * is 3, speed over size, for a bundle that runs only on a server (Vite's server
   * environments, webpack's and Rspack's node targets, esbuild's and Rolldown's node
   * platform), where the size of a module costs little and Node 20 and 22, which have no
   * JSPI, run the Asyncify build; elsewhere the transform's default, 2.
   */
  optimize?: OptimizeLevel | 'auto'
}

/** Where a module's bundle runs, as far as the bundler tells: what the `auto` options decide by. */
export interface BundleTarget {
  /** Served by Vite's dev server. */
  serve: boolean
  /** Runs only on a server (Node), never in a browser. */
  server: boolean
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
  /** Transform options for one module, with its name for messages, for a bundle that runs where `target` says. */
  transformFor(file: string, root: string, target: BundleTarget): TransformOptions
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
  // The values only the plugin takes; the transform checks the rest.
  const checkModule = ({ debug = 'auto', optimize = 'auto' }: ModuleOptions, where: string) => {
    if (debug !== 'auto' && typeof debug !== 'boolean') bad(`${where}debug must be true, false or "auto"; got ${JSON.stringify(debug)}`)
    if (optimize !== 'auto' && !OPTIMIZE_LEVELS.includes(optimize)) bad(`${where}optimize must be "auto", 0, 1, 2, 3, "s" or "z"; got ${JSON.stringify(optimize)}`)
  }
  const forModule = ({ debug = 'auto', optimize = 'auto', ...rest }: ModuleOptions, { serve, server }: BundleTarget): Omit<TransformOptions, 'filename'> => {
    const level = optimize !== 'auto' ? optimize : server ? 3 : undefined
    return { ...rest, debug: debug === 'auto' ? serve : debug, ...(level === undefined ? {} : { optimize: level }) }
  }
  const checked: BundleTarget = { serve: false, server: false }
  // Validated now, so a typo fails when the config loads rather than on the first import.
  checkModule(base, '')
  resolveTransformOptions({ ...forModule(base, checked), filename: 'asyncify() options' })
  const overrides = Object.entries(options.overrides ?? {}).map(([glob, override]) => {
    const merged = { ...base, ...pickTransform(override) }
    checkModule(merged, `overrides: { "${glob}" }: `)
    resolveTransformOptions({ ...forModule(merged, checked), filename: `asyncify({ overrides: { "${glob}" } })` })
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
    transformFor: (file, root, target) => {
      const path = relativePath(file, root)
      const found = overrides.filter((override) => override.matches(path)).at(-1)
      return { ...forModule(found ? found.options : base, target), filename: path }
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
