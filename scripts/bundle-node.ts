/*
 * Bundles the Node side of dist (the plugin, the transform, the CLI) after tsc
 * has written it, module per module. Node 20 loads ES modules one by one, a
 * level of the import graph at a time: the 45 modules a first transform loaded
 * took about 25 ms of a 37 ms transform of loop.c, longer than native
 * wasm-opt's whole run. Bundled, a transform loads three of our files.
 *
 * Every module of the transform goes into one of three chunks in dist/chunks/,
 * by what first needs it: `transform` (the transform's front, what the
 * plugin's transform and `unplugin-asyncify/transform` load), `engine` (the
 * direct engine, loaded when a module is first built) and `binaryen`
 * (Binaryen's pipeline, loaded in the worker only). The bundler glue goes
 * into plugin/index.js, which each bundler's entry imports. Modules whose own
 * file matters stay in their entry: the worker (its top level runs the
 * worker), the CLI (it is a bin) and the engine's entry (the front imports it
 * lazily, and a test replaces it). Each other entry is a facade over its
 * chunk; code that finds a file beside its own names the file's folder
 * (`../plugin/…`), which holds from dist/chunks/ as from where tsc put it.
 * tsc's JavaScript for what was bundled is removed; its declarations stay, as
 * the types of the entries.
 *
 * What ships to browsers (dist/runtime-shim, plugin/load-wasm.js) is left as
 * tsc wrote it, module per module, for the user's bundler: the Node side
 * imports it as external modules, so its classes (AsyncifyError) are one.
 *
 * The transform's two small dependencies are bundled into its chunks too:
 * resolving and loading each package on its own took a first transform about
 * 4 ms. Their licenses go to dist/THIRD-PARTY-LICENSES.md.
 */
import { readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs'
import { dirname, join, relative, resolve, sep } from 'node:path'
import { fileURLToPath } from 'node:url'
import { rollup, type GetModuleInfo } from 'rollup'

const dist = resolve(import.meta.dirname, '../dist')

/** Public entries, the worker, and the internal modules that tests and the bench import by path. */
const ENTRIES = [
  'cli',
  'plugin/index',
  'plugin/vite',
  'plugin/rollup',
  'plugin/rolldown',
  'plugin/webpack',
  'plugin/rspack',
  'plugin/esbuild',
  'plugin/webpack-loader',
  'plugin/transform',
  'plugin/cache',
  'transform/index',
  'transform/worker',
  'transform/without-binaryen',
  'transform/options',
  'transform/worker-pool',
  'transform/pipeline',
  'transform/binaryen',
  'transform/binaryen-load',
  'transform/binaryen-output',
]

/** Entries whose code stays in their own file (see above). */
const OWN_FILE = new Set(['cli', 'transform/worker', 'transform/without-binaryen'].map(file))

function file(entry: string): string {
  return join(dist, `${entry}.js`)
}

/** Dependencies bundled into the chunks that use them; each is a devDependency, resolved as Node resolves it. */
const INLINED = ['matcher', '@jridgewell/sourcemap-codec']
const inlinedEntry = new Map(INLINED.map((name) => [name, fileURLToPath(import.meta.resolve(name))]))
const inlinedRoot = (name: string) => resolve(import.meta.dirname, '../node_modules', name)
const inPackage = (name: string, id: string) => id.startsWith(inlinedRoot(name) + sep)
const isInlined = (id: string) => INLINED.some((name) => inPackage(name, id))

const browserSide = (id: string) => id.startsWith(join(dist, 'runtime-shim') + sep) || id === file('plugin/load-wasm')

function nodeSideFiles(): string[] {
  const walk = (dir: string): string[] =>
    readdirSync(dir).flatMap((name) => {
      const path = join(dir, name)
      return statSync(path).isDirectory() ? walk(path) : path.endsWith('.js') && !browserSide(path) ? [path] : []
    })
  return [file('cli'), ...walk(join(dist, 'plugin')), ...walk(join(dist, 'transform'))]
}

/** Modules reachable from `roots` through static imports, within dist. */
function reachable(roots: string[], info: GetModuleInfo): Set<string> {
  const seen = new Set<string>()
  const stack = [...roots]
  while (stack.length > 0) {
    const id = stack.pop()!
    if (seen.has(id)) continue
    seen.add(id)
    for (const next of info(id)?.importedIds ?? []) if ((next.startsWith(dist) && !browserSide(next)) || isInlined(next)) stack.push(next)
  }
  return seen
}

let chunks: ((id: string) => string | undefined) | null = null

function chunkOf(id: string, info: GetModuleInfo): string | undefined {
  chunks ??= (() => {
    const front = reachable([file('plugin/transform'), file('transform/index')], info)
    const engine = reachable([file('transform/without-binaryen')], info)
    const worker = reachable([file('transform/worker')], info)
    return (module: string) => {
      if (OWN_FILE.has(module)) return undefined
      if (front.has(module)) return 'transform'
      if (engine.has(module)) return 'engine'
      if (worker.has(module)) return 'binaryen'
      // The bundler glue: rollup's own chunking puts it in plugin/index.js, which every bundler's entry imports.
      return undefined
    }
  })()
  return chunks(id)
}

const before = nodeSideFiles()
const bundle = await rollup({
  input: Object.fromEntries(ENTRIES.map((entry) => [entry, file(entry)])),
  plugins: [{ name: 'inline-dependencies', resolveId: (id) => inlinedEntry.get(id) ?? null }],
  external: (id, importer) => {
    // Other bare specifiers: Node's builtins and the package's dependencies.
    if (!id.startsWith('.') && !id.startsWith('/')) return !inlinedEntry.has(id)
    const path = importer && id.startsWith('.') ? resolve(dirname(importer), id) : id
    return browserSide(path)
  },
  preserveEntrySignatures: 'strict',
  onwarn(warning) {
    throw new Error(`bundling dist: ${warning.message}`)
  },
})
const { output } = await bundle.write({
  dir: dist,
  format: 'es',
  entryFileNames: '[name].js',
  chunkFileNames: 'chunks/[name].js',
  manualChunks: (id, { getModuleInfo }) => chunkOf(id, getModuleInfo),
})
await bundle.close()
const written = new Set(output.map((item) => join(dist, item.fileName)))
const bundledPackages = INLINED.filter((name) => output.some((item) => item.type === 'chunk' && Object.keys(item.modules).some((id) => inPackage(name, id))))
writeFileSync(join(dist, 'THIRD-PARTY-LICENSES.md'), licenses(bundledPackages))
for (const path of before) if (!written.has(path)) rmSync(path)
console.log(`bundled the Node side of dist into ${written.size} files: ${[...written].filter((path) => path.includes(`${sep}chunks${sep}`)).map((path) => relative(dist, path)).join(', ')}`)

/** Each bundled package's name, version and license text, as its MIT license asks copies to carry. */
function licenses(names: string[]): string {
  const sections = names.map((name) => {
    const root = inlinedRoot(name)
    const { version } = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as { version: string }
    const text = readdirSync(root).find((entry) => /^licen[sc]e(\.|$)/i.test(entry))
    if (text === undefined) throw new Error(`bundling dist: ${name} has no license file to ship`)
    return `## ${name} ${version}\n\n\`\`\`\n${readFileSync(join(root, text), 'utf8').trim()}\n\`\`\`\n`
  })
  return `# Third-party licenses\n\nCode of these packages is bundled into dist/chunks/.\n\n${sections.join('\n')}`
}
