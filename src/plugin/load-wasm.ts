/*
 * The code that every `import init from './x.wasm?asyncify'` module calls at
 * run time. It ships to browsers, workers and Node, so it depends on nothing
 * but the runtime shim and touches Node only through `process.getBuiltinModule`,
 * which no bundler tries to resolve or polyfill.
 */
import { instantiate, type AsyncifiedInstance, type InstantiateOptions } from '../runtime-shim/index.js'

export type Instance = AsyncifiedInstance['instance']

/**
 * Loads an emitted module: streamed over HTTP, or read from disk when the URL is
 * `file:` (Node, SSR). A relative `url` is relative to `base`, the importing module.
 */
export async function initFromUrl(
  url: string | URL,
  base: string | undefined,
  name: string,
  imports?: WebAssembly.Imports,
  options?: InstantiateOptions,
): Promise<Instance> {
  const location = new URL(url, base)
  // fetch() cannot read file: URLs, and Node builds address their assets that way.
  const source =
    location.protocol === 'file:'
      ? await globalThis.process.getBuiltinModule('fs').promises.readFile(location)
      : fetch(location)
  const { instance } = await instantiate(source, imports, { name, ...options })
  return instance
}

/** Loads a module inlined as base64 (option `inline`). */
export async function initFromBase64(
  base64: string,
  name: string,
  imports?: WebAssembly.Imports,
  options?: InstantiateOptions,
): Promise<Instance> {
  const text = atob(base64)
  const bytes = new Uint8Array(text.length)
  for (let i = 0; i < text.length; i++) bytes[i] = text.charCodeAt(i)
  const { instance } = await instantiate(bytes, imports, { name, ...options })
  return instance
}
