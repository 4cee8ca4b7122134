/*
 * The code that every `import init from './x.wasm?asyncify'` module calls at
 * run time. It ships to browsers, workers and Node, so it depends on nothing
 * but the runtime shim and touches Node only through `process.getBuiltinModule`,
 * which no bundler tries to resolve or polyfill.
 *
 * A module built in mode 'auto' has two builds, the asyncified one and the one
 * for engines with JSPI. Each is passed as a function, and the runtime calls
 * only the one it picks, so a page fetches (or decodes) one build, never both.
 */
import { instantiate, type AsyncifiedInstance, type AsyncImports, type InstantiateOptions } from '../runtime-shim/index.js'
import type { WasmSource } from '../runtime-shim/instantiate.js'

/** A build inlined as base64 (option `inline`). */
export { fromBase64 } from '../runtime-shim/wasm-writer.js'

export type Instance = AsyncifiedInstance['instance']

/** The builds a module has, each made on demand. */
export interface Builds {
  asyncify?: () => WasmSource
  jspi?: () => WasmSource
}

/** Instantiates the build this engine runs. */
export async function loadBuilds(
  builds: Builds,
  name: string,
  imports?: AsyncImports,
  options?: InstantiateOptions,
): Promise<Instance> {
  // A single build goes in as it is: the runtime runs it or says why it cannot
  // (no JSPI, a `mode` it was not built for), rather than ask for the other.
  const only = builds.asyncify === undefined ? builds.jspi : builds.jspi === undefined ? builds.asyncify : undefined
  const { instance } = await instantiate(only ? only() : builds, imports, { name, ...options })
  return instance
}

/**
 * An emitted build: streamed over HTTP, or read from disk when the URL is
 * `file:` (Node, SSR). A relative `url` is relative to `base`, the importing module.
 */
export function fromUrl(url: string | URL, base: string | undefined): WasmSource {
  const location = new URL(url, base)
  if (location.protocol !== 'file:') return fetch(location)
  // fetch() cannot read file: URLs, and Node builds address their assets that way.
  return globalThis.process
    .getBuiltinModule('fs')
    .promises.readFile(location)
    .then((bytes) => new Response(bytes, { headers: { 'Content-Type': 'application/wasm' } }))
}
