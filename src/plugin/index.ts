/*
 * The bundler plugin: one unplugin factory for every bundler.
 *
 * It claims `x.wasm?asyncify` imports (and plain `x.wasm` imports matching
 * `include`), runs the engine's transform through a disk cache, and replaces
 * the module with a few lines of JavaScript whose default export
 * `init(imports?, options?)` instantiates the transformed bytes with the runtime.
 * Everything else about `.wasm` stays with the bundler, so Vite's `?init` and
 * webpack's `asyncWebAssembly` keep working for the modules we do not claim.
 *
 * In mode 'auto' (the default) a module has two builds, `prog.wasm` (asyncified)
 * and `prog.jspi.wasm` (for engines with JSPI). Each is delivered as an asset
 * of its own, behind a function in the generated code, so that the runtime
 * fetches only the one it picks. How the bytes reach the page differs per
 * bundler, because each has its own way to name an emitted file at run time:
 *   Rollup, Rolldown, Vite build  `emitFile` + `import.meta.ROLLUP_FILE_URL_<ref>`
 *                                 (hashed by the bundler, `base` applied by Vite).
 *                                 Vite SSR builds get a URL next to the server chunk.
 *   Vite dev                      served from memory by a middleware (`emitFile`
 *                                 does nothing in dev); SSR dev inlines the bytes.
 *   webpack, Rspack               the bytes are written beside the cache (without
 *                                 one, in a private temporary directory removed when
 *                                 the compiler closes) and
 *                                 referenced with `new URL(path, import.meta.url)`,
 *                                 which both turn into a hashed asset with
 *                                 `publicPath`, in web, worker and Node targets.
 *   esbuild                       imported through esbuild's `file` loader, which
 *                                 names, places and addresses it as any asset
 *                                 (`assetNames`, `publicPath`, `write: false`,
 *                                 the metafile).
 * In Node, a `file:` URL is read from disk instead of fetched (see load-wasm.ts).
 */
import { createHash } from 'node:crypto'
import { readdir, readFile, writeFile } from 'node:fs/promises'
import { basename, dirname, isAbsolute, join, resolve, sep } from 'node:path'
import type { BuildOptions, OutputFile } from 'esbuild'
import { createUnplugin, type UnpluginFactory, type UnpluginOptions } from 'unplugin'
import type { Plugin as VitePlugin, ResolvedConfig } from 'vite'
import type { RuleSetRule } from 'webpack'
import type { RuleSetRule as RspackRule } from '@rspack/core'
import type { TransformOptions, TransformResult } from '../transform/index.js'
import { prepareJspiWithoutBinaryen } from '../transform/jspi-fast.js'
import { hashedName, writeAsset } from './assets.js'
import { LOADER_FILE, LOADER_ID, LOADER_SPECIFIER, moduleCode, moduleReport, type WasmSource, type WasmSources } from './codegen.js'
import { DevAssets } from './dev-assets.js'
import { LOADER_PATH, type ModuleHost } from './webpack-loader.js'
import { DtsWriter, renderDts } from './dts.js'
import { relativePath, resolveOptions, type AsyncifyPluginOptions } from './options.js'
import { ScratchDir } from './scratch-dir.js'
import { SourceMapAssets } from './source-map-assets.js'
import { cacheKey, cacheWriteWarning } from './cache.js'
import { transformCached, type Log } from './transform.js'

export type { AsyncifyPluginOptions, ModuleOptions } from './options.js'

const NAME = 'unplugin-asyncify'
/** The specifier prefix, and the esbuild namespace, of a module's builds as esbuild assets. */
const ESBUILD_ASSET = 'unplugin-asyncify-asset:'
const ESBUILD_ASSET_NAMESPACE = 'unplugin-asyncify-asset'
const QUERY = '?asyncify'
const WASM_ID = /\.wasm(?:\?asyncify)?$/

/** What each bundler's own hooks tell us before the first module loads. */
interface BuildState {
  root: string
  log: Log
  vite: { config: ResolvedConfig; serve: boolean } | null
  esbuild: BuildOptions | null
  /** Whether the bundle a module is loaded into (`context`: the plugin context of its load) runs only on a server. */
  server: (context: unknown) => boolean
}

/** The Rollup-family plugin context, as much of it as we use. */
interface RollupLikeContext {
  emitFile(file: { type: 'asset'; name: string; source: Uint8Array }): string
  environment?: { config: { consumer: 'client' | 'server' } }
}

/** Vite: whether the environment a module loads in is a server's (SSR), from its plugin context. */
function viteServer(context: unknown): boolean {
  return (context as RollupLikeContext | null)?.environment?.config.consumer === 'server'
}

/** A webpack or Rspack target's platform, known once the compiler applied its defaults (after the plugins). */
interface TargetPlatform {
  web?: boolean | null
  browser?: boolean | null
  webworker?: boolean | null
  node?: boolean | null
}

/** A target that only runs in Node (`node`, `async-node`, Electron's main process), not one that runs in a browser too. */
function nodeOnly(platform: TargetPlatform | undefined): boolean {
  return platform?.node === true && !platform.web && !platform.browser && !platform.webworker
}

/** What placing source maps needs of a webpack or Rspack compiler, which both have under these names. */
interface WebpackLikeCompiler {
  webpack: {
    Compilation: { PROCESS_ASSETS_STAGE_OPTIMIZE_HASH: number }
    sources: { RawSource: new (buffer: Buffer) => unknown }
  }
  hooks: {
    thisCompilation: {
      tap(
        name: string,
        callback: (compilation: {
          hooks: { processAssets: { tap(options: { name: string; stage: number }, callback: () => void): void } }
          getAssets(): readonly { name: string; source: { buffer(): Buffer } }[]
          updateAsset(name: string, source: unknown): void
          emitAsset(name: string, source: unknown): void
        }) => void,
      ): void
    }
  }
}

/** The factory behind `unplugin`, for packages that compose it into a plugin of their own with `createUnplugin`. */
export const unpluginFactory: UnpluginFactory<AsyncifyPluginOptions | undefined, false> = (rawOptions, meta) => {
  const options = resolveOptions(rawOptions)
  const state: BuildState = {
    root: process.cwd(),
    log: (message) => console.log(`[${NAME}] ${message}`),
    vite: null,
    esbuild: null,
    // Rollup cannot tell: its bundle may run anywhere.
    server: () => false,
  }
  const webpackLike = meta.framework === 'webpack' || meta.framework === 'rspack'
  const devAssets = new DevAssets()
  /** webpack and Rspack without `cacheDir`: where their assets wait to be read, until the compiler closes. */
  const scratch = new ScratchDir(NAME)
  const dts = new DtsWriter()
  /** Vite SSR builds: references resolved next to the server chunk, and their assets. */
  const serverAssets = new Map<string, Uint8Array>()
  /** esbuild: each build's bytes, by the path its file-loader module is named by. */
  const esbuildAssets = new Map<string, Uint8Array>()
  /** Source maps of `debug` builds, emitted beside their .wasm once the bundler has named it. */
  const sourceMaps = new SourceMapAssets()

  /** Rollup, Rolldown, Vite: the bundle's .wasm assets point at their maps, emitted beside them. */
  function placeSourceMaps(context: { emitFile(file: { type: 'asset'; fileName: string; source: Uint8Array }): string }, bundle: Record<string, unknown>) {
    for (const [fileName, output] of Object.entries(bundle)) {
      const asset = output as { type: string; source: string | Uint8Array }
      if (asset.type !== 'asset' || typeof asset.source === 'string') continue
      const placed = sourceMaps.place(fileName, asset.source)
      if (!placed) continue
      asset.source = placed.wasm
      context.emitFile({ type: 'asset', fileName: placed.mapFileName, source: placed.map })
    }
  }

  /** webpack, Rspack: the same, on the compilation's assets once they have their names. */
  function placeSourceMapsWebpack(compiler: WebpackLikeCompiler) {
    const { Compilation, sources } = compiler.webpack
    compiler.hooks.thisCompilation.tap(NAME, (compilation) => {
      // After the stage that renames assets to the hash of their content: the
      // .wasm keeps the name of its content before the map's URL went in, which
      // is as unique, and the map is named after it.
      compilation.hooks.processAssets.tap({ name: NAME, stage: Compilation.PROCESS_ASSETS_STAGE_OPTIMIZE_HASH + 1 }, () => {
        for (const asset of compilation.getAssets()) {
          const placed = sourceMaps.place(asset.name, new Uint8Array(asset.source.buffer()))
          if (!placed) continue
          compilation.updateAsset(asset.name, new sources.RawSource(Buffer.from(placed.wasm)))
          compilation.emitAsset(placed.mapFileName, new sources.RawSource(Buffer.from(placed.map)))
        }
      })
    })
  }

  const cacheDir = (): string | null => options.cacheDir(state.root)
  const claims = (id: string): string | null => {
    if (id.endsWith(QUERY)) return id.slice(0, -QUERY.length)
    if (id.includes('?') || !options.claims(id, state.root)) return null
    // The cache holds `.wasm` files of its own, which an `include` of `**/*.wasm` would match.
    const dir = cacheDir()
    return dir !== null && id.startsWith(dir + sep) ? null : id
  }

  const loaderId = () => (meta.framework === 'vite' ? LOADER_SPECIFIER : LOADER_ID)

  /** Every build the transform produced, each delivered on its own (see the top of this file). */
  async function deliver(context: unknown, host: ModuleHost, file: string, result: TransformResult): Promise<WasmSources> {
    const sources: WasmSources = {}
    if (result.wasm !== null) sources.asyncify = await deliverBuild(context, host, file, basename(file), result.wasm)
    if (result.jspi !== null) sources.jspi = await deliverBuild(context, host, file, jspiName(file), result.jspi.wasm)
    return sources
  }

  /**
   * Where webpack and Rspack read a build from: the cache directory, which
   * lasts, else (none, or one that cannot be written) the scratch directory,
   * which the compiler's close removes, so the module stays out of their
   * persistent cache.
   */
  async function writeWebpackAsset(host: ModuleHost, file: string, name: string, wasm: Uint8Array): Promise<string> {
    const cache = cacheDir()
    if (cache !== null) {
      try {
        return await writeAsset(join(cache, 'assets'), name, wasm)
      } catch (error) {
        const warning = cacheWriteWarning(cache, error)
        if (warning !== null) host.warn(`${relativePath(file, state.root)}: ${warning}`)
        host.uncacheable?.()
      }
    }
    return writeAsset(await scratch.path(), name, wasm)
  }

  /** A build served by the Vite dev server (or inlined when small). */
  function inlineOrDev(file: string, name: string, wasm: Uint8Array): WasmSource {
    if (wasm.length <= options.inlineLimit) return { kind: 'inline', bytes: wasm }
    const path = devAssets.add(file, hashedName(name, wasm).slice(0, -5), name, wasm)
    return { kind: 'url', expression: JSON.stringify(devBase(state.vite!.config) + path.slice(1)), relative: true }
  }

  /** One build of `file`, as the asset `name` (`prog.wasm`, or `prog.jspi.wasm` for the JSPI build). */
  async function deliverBuild(context: unknown, host: ModuleHost, file: string, name: string, wasm: Uint8Array): Promise<WasmSource> {
    if (wasm.length <= options.inlineLimit) return { kind: 'inline', bytes: wasm }
    const rollup = context as RollupLikeContext | null
    const server = viteServer(context)
    if (state.vite?.serve) {
      // SSR in dev runs in this very process: inlining avoids serving or writing anything.
      if (server) return { kind: 'inline', bytes: wasm }
      return inlineOrDev(file, name, wasm)
    }
    // An emitted build ships its map as a file beside it (source-map-assets.ts); a server
    // build and an inlined one keep it embedded: Node has no DevTools, and inline bytes no URL.
    switch (meta.framework) {
      case 'vite':
      case 'rollup':
      case 'rolldown': {
        if (!server) wasm = sourceMaps.detach(wasm)
        const ref = rollup!.emitFile({ type: 'asset', name, source: wasm })
        if (server) serverAssets.set(ref, wasm)
        return { kind: 'url', expression: `import.meta.ROLLUP_FILE_URL_${ref}`, relative: true }
      }
      case 'webpack':
      case 'rspack': {
        // webpack and Rspack turn this into a hashed asset themselves, with publicPath and worker support.
        wasm = sourceMaps.detach(wasm)
        const path = await writeWebpackAsset(host, file, hashedName(name, wasm), wasm)
        return { kind: 'url', expression: `new URL(${JSON.stringify(path)}, import.meta.url)`, relative: false }
      }
      case 'esbuild': {
        const build = state.esbuild ?? {}
        // Without an output directory esbuild has nowhere to put an asset.
        if (!build.outdir && !build.outfile) return { kind: 'inline', bytes: wasm }
        // Its `[name]` in `assetNames` comes from this path.
        const path = join(dirname(file), name)
        esbuildAssets.set(path, sourceMaps.detach(wasm))
        return { kind: 'import', specifier: `${ESBUILD_ASSET}${path}` }
      }
      default:
        return { kind: 'inline', bytes: wasm }
    }
  }

  /**
   * Vite dev, for the browser, in mode 'auto': the JSPI build read without
   * Binaryen, served at once, and the asyncified build made only when a client
   * without JSPI asks for it. Null when only the full pipeline can decide.
   */
  async function devModule(file: string, bytes: Uint8Array, transform: TransformOptions, host: ModuleHost, context: unknown): Promise<string | null> {
    if (!state.vite?.serve || viteServer(context) || (transform.mode ?? 'auto') !== 'auto') return null
    const result = prepareJspiWithoutBinaryen(bytes, transform)
    if (result === null) return null
    const { filename, suspendingExports, warnings } = result.report
    const jspi = result.jspi!
    for (const warning of warnings) host.warn(`${filename}: ${warning}`)
    if (options.dts) await dts.write(file, state.root, host, () => renderDts(file, jspi.wasm, jspi.metadata))
    const asyncifyPath = devAssets.addLazy(file, cacheKey(bytes, transform).slice(0, 8), basename(file), async () => {
      const built = await transformCached(bytes, { ...transform, mode: 'asyncify' }, cacheDir(), state.log)
      if (built.report.suspendingExports.join() !== suspendingExports.join()) {
        state.log(
          `${filename}: the asyncified build suspends in exports ${built.report.suspendingExports.join(', ') || 'none'}, ` +
            `the JSPI build in ${suspendingExports.join(', ') || 'none'} (the optimizer removed a path); ` +
            `in dev, exports follow the JSPI build's call graph`,
        )
      }
      return built.wasm!
    })
    const sources: WasmSources = {
      asyncify: { kind: 'url', expression: JSON.stringify(devBase(state.vite.config) + asyncifyPath.slice(1)), relative: true },
      jspi: inlineOrDev(file, jspiName(file), jspi.wasm),
    }
    return moduleCode(basename(file), sources, moduleReport({ ...result.report, paths: ['jspi', 'asyncify'] }), loaderId())
  }

  /** The JavaScript that replaces a claimed module; `context` is the bundler's plugin context. */
  async function loadModule(file: string, host: ModuleHost, context: unknown): Promise<string> {
    host.addWatchFile(file)
    const bytes = new Uint8Array(await readFile(file))
    const transform = options.transformFor(file, state.root, { serve: state.vite?.serve ?? false, server: state.server(context) })
    const dev = await devModule(file, bytes, transform, host, context)
    if (dev !== null) return dev
    const result = await transformCached(bytes, transform, cacheDir(), state.log)
    const { filename, warnings, asyncifyUnsupported } = result.report
    for (const warning of warnings) host.warn(`${filename}: ${warning}`)
    if (asyncifyUnsupported !== null) {
      const reason = asyncifyUnsupported.startsWith(`${filename}: `) ? asyncifyUnsupported.slice(filename.length + 2) : asyncifyUnsupported
      host.warn(
        `${filename}: built for JSPI only, so engines without JSPI (WebAssembly.Suspending) cannot run it; ` +
          `Asyncify cannot transform it: ${reason}`,
      )
    }
    // Both builds have the same exports, and the same suspending ones by construction.
    if (options.dts) {
      await dts.write(file, state.root, host, () => renderDts(file, result.wasm ?? result.jspi!.wasm, result.metadata ?? result.jspi!.metadata))
    }
    return moduleCode(basename(file), await deliver(context, host, file, result), moduleReport(result.report), loaderId())
  }

  /** Rules that send claimed modules through our loader, as JavaScript whatever `experiments` say. */
  function webpackRules(): RuleSetRule[] {
    const use = [{ loader: LOADER_PATH, options: { load: (file: string, host: ModuleHost) => loadModule(file, host, null), cacheable: cacheDir() !== null } }]
    return [
      { test: /\.wasm$/, resourceQuery: /^\?asyncify$/, type: 'javascript/auto', use },
      { test: (resource: string) => claims(resource) !== null, resourceQuery: /^$/, type: 'javascript/auto', use },
    ]
  }

  const plugin: UnpluginOptions = {
    name: NAME,
    enforce: 'pre',

    resolveId: {
      filter: { id: /^\/@asyncify\/load-wasm$|^unplugin-asyncify\/load-wasm$|\?asyncify$/ },
      async handler(id, importer) {
        if (id === LOADER_ID) return LOADER_FILE
        if (id === LOADER_SPECIFIER) {
          // Resolved as the package it is when installed; from its own repository, its file.
          const native = this as unknown as { resolve(id: string, importer?: string, options?: { skipSelf: boolean }): Promise<{ id: string } | null> }
          return (await native.resolve(id, importer, { skipSelf: true })) ?? LOADER_FILE
        }
        // Vite, webpack and Rspack resolve `?query` imports themselves, aliases included.
        if (meta.framework === 'vite' || webpackLike) return null
        const path = id.slice(0, -QUERY.length)
        if (isAbsolute(path)) return id
        if (path.startsWith('.') && importer) return resolve(dirname(importer.split('?')[0]!), path) + QUERY
        const native = this as unknown as { resolve?: (id: string, importer?: string) => Promise<{ id: string } | null> }
        const resolved = await native.resolve?.(path, importer)
        return resolved ? resolved.id + QUERY : null
      },
    },

    // webpack and Rspack load through their own rule (see `webpackRules`): unplugin's
    // `load` forces `javascript/auto` on everything its filter matches, and webpack rule
    // conditions cannot see the `?asyncify` query, so it would take every `.wasm`.
    ...(webpackLike
      ? {}
      : {
          load: {
            filter: { id: WASM_ID },
            async handler(id) {
              const file = claims(id)
              if (file === null) return null
              const code = await loadModule(file, this, this)
              // Rolldown would otherwise pick a module type from the `.wasm` extension.
              return { code, moduleType: 'js' } as { code: string }
            },
          },
        }),

    vite: {
      // Vite bundles Web Workers with a plugin list of their own; adding ours
      // there means a worker can import `?asyncify` with no extra config.
      config(config) {
        const userPlugins = config.worker?.plugins
        return {
          // Optimized together, the two share one runtime module in the browser.
          optimizeDeps: { include: ['unplugin-asyncify/runtime', LOADER_SPECIFIER] },
          worker: {
            plugins: () => {
              const plugins = userPlugins?.() ?? []
              const ours = plugins.some((entry) => entry && typeof entry === 'object' && 'name' in entry && entry.name === NAME)
              return ours ? plugins : [...plugins, unplugin.vite(rawOptions)]
            },
          },
        }
      },
      configResolved(config) {
        state.root = config.root
        state.log = (message) => config.logger.info(`[${NAME}] ${message}`)
        state.vite = { config, serve: config.command === 'serve' }
        state.server = viteServer
      },
      // One plugin instance serves every build of a process (SSR then client, watch
      // mode): what one build emitted means nothing to the next.
      buildStart() {
        serverAssets.clear()
      },
      configureServer(server) {
        server.middlewares.use(devAssets.middleware(devBase(server.config), (message) => server.config.logger.error(`[${NAME}] ${message}`)))
      },
      // Vite points assets of SSR builds at `base`, a URL for the browser; the
      // server reads its copy from disk beside its own chunk.
      resolveFileUrl({ referenceId, relativePath, format }) {
        if (!serverAssets.has(referenceId)) return null
        return format === 'cjs'
          ? `require('node:url').pathToFileURL(__dirname + '/' + ${JSON.stringify(relativePath)}).href`
          : `new URL(${JSON.stringify(relativePath)}, import.meta.url).href`
      },
      generateBundle: {
        order: 'post',
        // Vite drops every asset of an SSR build unless `ssrEmitAssets` is set;
        // the server needs its wasm, so ours are put back.
        handler(_output, bundle) {
          for (const [ref, source] of serverAssets) {
            const fileName = this.getFileName(ref)
            if (!(fileName in bundle)) this.emitFile({ type: 'asset', fileName, source })
          }
          placeSourceMaps(this, bundle)
        },
      },
    } satisfies Partial<VitePlugin>,

    rollup: {
      buildStart() {
        state.log = (message) => this.info(message)
      },
      generateBundle(_output, bundle) {
        placeSourceMaps(this, bundle)
      },
    },

    rolldown: {
      buildStart(inputOptions) {
        state.log = (message) => this.info(message)
        state.server = () => inputOptions.platform === 'node'
      },
      generateBundle(_output, bundle) {
        placeSourceMaps(this, bundle)
      },
    },

    webpack(compiler) {
      state.root = compiler.context
      const logger = compiler.getInfrastructureLogger(NAME)
      state.log = (message) => logger.info(message)
      state.server = () => nodeOnly(compiler.platform)
      compiler.options.module.rules.push(...webpackRules())
      placeSourceMapsWebpack(compiler as unknown as WebpackLikeCompiler)
      compiler.hooks.shutdown.tapPromise(NAME, () => scratch.remove())
    },

    rspack(compiler) {
      state.root = compiler.context
      const logger = compiler.getInfrastructureLogger(NAME)
      state.log = (message) => logger.info(message)
      state.server = () => nodeOnly(compiler.platform)
      compiler.options.module.rules.push(...(webpackRules() as RspackRule[]))
      placeSourceMapsWebpack(compiler as unknown as WebpackLikeCompiler)
      compiler.hooks.shutdown.tapPromise(NAME, () => scratch.remove())
    },

    esbuild: {
      // unplugin puts whatever `resolveId` returns in a namespace of its own,
      // which only our `load` serves; the loader is a plain file for esbuild to read.
      onResolveFilter: /\?asyncify$/,
      setup(build) {
        state.esbuild = build.initialOptions
        state.server = () => build.initialOptions.platform === 'node'
        state.root = build.initialOptions.absWorkingDir ?? process.cwd()
        build.onResolve({ filter: /^\/@asyncify\/load-wasm$/ }, () => ({ path: LOADER_FILE }))
        build.onResolve({ filter: new RegExp(`^${ESBUILD_ASSET}`) }, (args) => ({
          path: args.path.slice(ESBUILD_ASSET.length),
          namespace: ESBUILD_ASSET_NAMESPACE,
        }))
        build.onLoad({ filter: /.*/, namespace: ESBUILD_ASSET_NAMESPACE }, (args) => ({
          contents: esbuildAssets.get(args.path),
          loader: 'file',
        }))
        // esbuild has written its files (or handed them over, with `write: false`) before this runs.
        build.onEnd(async (result) => {
          if (!sourceMaps.any) return
          const { outputFiles } = result
          if (outputFiles) {
            for (const [i, file] of [...outputFiles.entries()]) {
              const placed = sourceMaps.place(file.path, file.contents)
              if (!placed) continue
              outputFiles[i] = outputFile(file.path, placed.wasm)
              outputFiles.push(outputFile(placed.mapFileName, placed.map))
            }
            return
          }
          const options = build.initialOptions
          const base = options.absWorkingDir ?? process.cwd()
          const outdir = options.outdir ? resolve(base, options.outdir) : options.outfile ? dirname(resolve(base, options.outfile)) : null
          if (outdir === null) return
          for (const name of await readdir(outdir, { recursive: true })) {
            const path = join(outdir, name)
            if (!name.endsWith('.wasm')) continue
            const placed = sourceMaps.place(path, new Uint8Array(await readFile(path)))
            if (!placed) continue
            await writeFile(path, placed.wasm)
            await writeFile(placed.mapFileName, placed.map)
          }
        })
      },
      loader: 'js',
    },
  }
  return plugin
}

/** An esbuild output file, as `write: false` hands them over. */
function outputFile(path: string, contents: Uint8Array): OutputFile {
  return {
    path,
    contents,
    hash: createHash('sha256').update(contents).digest('base64url').slice(0, 12),
    get text() {
      return new TextDecoder().decode(contents)
    },
  }
}

/** The asset name of a module's JSPI build: `prog.jspi.wasm` beside `prog.wasm`, as the CLI writes it. */
function jspiName(file: string): string {
  return `${basename(file, '.wasm')}.jspi.wasm`
}

/** The base the dev server answers under (a relative or full-URL `base` serves from `/`). */
function devBase(config: ResolvedConfig): string {
  return config.base.startsWith('/') ? config.base : '/'
}

/**
 * The plugin for every bundler, the root export of the package: `unplugin.vite(options)`,
 * `.rollup`, `.rolldown`, `.webpack`, `.rspack`, `.esbuild` give the same plugins as the
 * bundler entries (`unplugin-asyncify/vite`, ...).
 *
 * @example
 * ```ts
 * import { unplugin } from 'unplugin-asyncify'
 * export default defineConfig({ plugins: [unplugin.vite({ imports: ['env.sleep'] })] })
 * ```
 */
export const unplugin = /* #__PURE__ */ createUnplugin(unpluginFactory)

export default unplugin
