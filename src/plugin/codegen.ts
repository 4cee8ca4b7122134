import { fileURLToPath } from 'node:url'
import type { SuspendEngine } from '../runtime-shim/metadata.js'
import type { ModuleReport, TransformReport } from '../transform/index.js'

/** What a `?asyncify` module tells the page about its own transform. */
export function moduleReport(report: TransformReport): ModuleReport {
  const { paths, engine, asyncifyUnsupported, jspiUnsupported, functions, size, asyncImports, suspendingExports, warnings } = report
  return { paths, engine, asyncifyUnsupported, jspiUnsupported, functions, size, asyncImports, suspendingExports, warnings }
}

/**
 * Id the generated modules import the loader by; `resolveId` maps it to the
 * installed file. Not a bare specifier, so Vite's dependency optimizer never
 * tries to pre-bundle it (it is not a package export).
 */
export const LOADER_ID = '/@asyncify/load-wasm'
/**
 * What Vite's generated modules import the loader by: the package's own
 * specifier, so that the dependency optimizer (in the browser) and SSR
 * externalization (in Node) treat it and `unplugin-asyncify/runtime` alike,
 * and a page or a server process holds one runtime.
 */
export const LOADER_SPECIFIER = 'unplugin-asyncify/load-wasm'
// By the folder's name, which holds wherever the bundle puts this code (scripts/bundle-node.ts).
export const LOADER_FILE = fileURLToPath(new URL('../plugin/load-wasm.js', import.meta.url))

/** How the generated module reaches the bytes. */
export type WasmSource =
  /**
   * A JS expression evaluating to the module's URL; `relative` when it may be
   * relative to the generated module (resolved against `import.meta.url`).
   */
  | { kind: 'url'; expression: string; relative: boolean }
  | { kind: 'inline'; bytes: Uint8Array }
  /** The default export of `specifier` is the URL, relative to the generated module (esbuild's `file` loader). */
  | { kind: 'import'; specifier: string }

/** How the generated module reaches each build it has: the asyncified one, the one for JSPI, or both. */
export type WasmSources = Partial<Record<SuspendEngine, WasmSource>>

/**
 * The JavaScript module that replaces `x.wasm?asyncify`: the default export
 * `init(imports?, options?) => Promise<instance>`, the build `report`, and
 * nothing that runs at import time. Each build is behind a function, so the
 * runtime fetches or decodes only the one it picks.
 */
export function moduleCode(name: string, sources: WasmSources, report: ModuleReport, loader = LOADER_ID): string {
  const entries = Object.entries(sources) as [SuspendEngine, WasmSource][]
  const helpers = [...new Set(entries.map(([, source]) => (source.kind === 'inline' ? 'fromBase64' : 'fromUrl')))]
  const imports = entries.flatMap(([engine, source]) =>
    source.kind === 'import' ? [`import ${engine}Url from ${JSON.stringify(source.specifier)}`] : [],
  )
  return [
    `import { loadBuilds, ${helpers.join(', ')} } from ${JSON.stringify(loader)}`,
    ...imports,
    `export default function init(imports, options) {`,
    `  return loadBuilds({`,
    ...entries.map(([engine, source]) => `    ${engine}: () => ${sourceExpression(engine, source)},`),
    `  }, ${JSON.stringify(name)}, imports, options)`,
    `}`,
    `export const report = ${JSON.stringify(report)}`,
    ``,
  ].join('\n')
}

function sourceExpression(engine: SuspendEngine, source: WasmSource): string {
  if (source.kind === 'inline') return `fromBase64(${JSON.stringify(Buffer.from(source.bytes).toString('base64'))})`
  if (source.kind === 'import') return `fromUrl(${engine}Url, import.meta.url)`
  // Not `new URL(literal, import.meta.url)`: Vite and webpack would rewrite that as a file reference.
  // webpack would otherwise bake the source file's path into a non-ESM bundle as `import.meta.url`.
  return `fromUrl(${source.expression}, ${source.relative ? 'import.meta.url' : 'undefined'})`
}
