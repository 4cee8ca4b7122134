import { AsyncifyDriver, type AsyncifyExports, type AsyncifyStats } from './driver.js'
import { AsyncifyError, AsyncifyUnlistedImportError } from './errors.js'
import { readMetadata, type AsyncifyMetadata, type WasmValueType } from './metadata.js'
import { resolveInstantiateOptions, type InstantiateOptions } from './options.js'

export type { InstantiateOptions }

export type WasmSource =
  | BufferSource
  | WebAssembly.Module
  | Response
  | PromiseLike<Response>

/** What `instantiate` resolves to: `instance.exports` has the module's own export names. */
export interface AsyncifiedInstance {
  instance: { readonly exports: Record<string, unknown> }
  module: WebAssembly.Module
}

const drivers = new WeakMap<object, AsyncifyDriver>()

/**
 * Compiles (streaming where possible) and instantiates a module produced by the
 * transform. Exports that can reach an async import return Promises; the others
 * are the raw exports.
 */
export async function instantiate(
  source: WasmSource,
  imports: WebAssembly.Imports = {},
  options: InstantiateOptions = {},
): Promise<AsyncifiedInstance> {
  const resolved = resolveInstantiateOptions(options)
  const { label } = resolved
  const module = await compile(source, label)
  const metadata = readMetadata(module, label)
  const driver = new AsyncifyDriver({ ...resolved, stackSize: resolved.stackSize ?? metadata.stackSize })
  const raw = await WebAssembly.instantiate(module, wrapImports(module, imports, metadata, label, driver))
  const rawExports = raw.exports as Record<string, unknown>
  driver.attach(
    rawExports as unknown as AsyncifyExports,
    findMemory(metadata, rawExports, imports),
    metadata.stackPointer === null ? null : (rawExports[metadata.stackPointer] as WebAssembly.Global),
    metadata.malloc === null ? null : (rawExports[metadata.malloc] as (bytes: number) => number),
  )
  const instance = { exports: wrapExports(rawExports, metadata, driver) }
  drivers.set(instance, driver)
  return { instance, module }
}

/** The driver's state for an instance from `instantiate`: useful to check that nothing leaked. */
export function asyncifyStats(instance: AsyncifiedInstance['instance']): AsyncifyStats {
  const driver = drivers.get(instance)
  if (!driver) throw new TypeError('asyncifyStats() takes the instance returned by instantiate()')
  return driver.stats()
}

async function compile(source: WasmSource, label: string): Promise<WebAssembly.Module> {
  if (source instanceof WebAssembly.Module) return source
  if (ArrayBuffer.isView(source) || source instanceof ArrayBuffer) return WebAssembly.compile(source)
  const response = await source
  if (!response.ok) {
    // Otherwise the engine reports an error page's bytes as a bad module, naming neither file nor status.
    throw new AsyncifyError(
      'ASYNCIFY_FETCH_FAILED',
      `${label}: fetching ${response.url || 'the module'} failed with HTTP ${response.status} ${response.statusText}`.trimEnd() +
        `; check that the .wasm file is deployed at that URL (the bundler's base / publicPath)`,
    )
  }
  if (typeof WebAssembly.compileStreaming === 'function') {
    try {
      return await WebAssembly.compileStreaming(response.clone())
    } catch (error) {
      // Servers that send .wasm without `application/wasm` make streaming
      // compilation throw a TypeError; the bytes themselves are still fine.
      if (!(error instanceof TypeError)) throw error
    }
  }
  return WebAssembly.compile(await response.arrayBuffer())
}

function placeholderFor(results: WasmValueType[]): unknown {
  const values = results.map((type) => (type === 'i64' ? 0n : type === 'ref' ? null : 0))
  return values.length === 0 ? undefined : values.length === 1 ? values[0] : values
}

function wrapImports(
  module: WebAssembly.Module,
  imports: WebAssembly.Imports,
  metadata: AsyncifyMetadata,
  label: string,
  driver: AsyncifyDriver,
): WebAssembly.Imports {
  const asyncImports = new Map(metadata.asyncImports.map((entry) => [`${entry.module}.${entry.name}`, entry]))
  const unlisted = (key: string): never => {
    throw new AsyncifyUnlistedImportError(
      `${label}: import "${key}" returned a Promise but is not listed as async; ` +
        `add "${key}" to asyncify({ imports }) (or --imports for the CLI) so the wasm can wait for it`,
    )
  }
  const wrapped: Record<string, WebAssembly.ModuleImports> = {}
  for (const descriptor of WebAssembly.Module.imports(module)) {
    const namespace = imports[descriptor.module]
    if (namespace === undefined) continue
    const target = (wrapped[descriptor.module] ??= { ...namespace })
    const fn = namespace[descriptor.name]
    if (descriptor.kind !== 'function' || typeof fn !== 'function') continue
    const key = `${descriptor.module}.${descriptor.name}`
    const entry = asyncImports.get(key)
    if (entry) {
      target[descriptor.name] = driver.asyncImport(
        fn as (...args: unknown[]) => unknown,
        placeholderFor(entry.results),
        key,
      )
    } else {
      target[descriptor.name] = driver.syncImport(fn as (...args: unknown[]) => unknown, key, unlisted)
    }
  }
  return { ...imports, ...wrapped }
}

function findMemory(
  metadata: AsyncifyMetadata,
  exports: Record<string, unknown>,
  imports: WebAssembly.Imports,
): WebAssembly.Memory | null {
  const location = metadata.memory
  if (location === null) return null
  const memory = 'export' in location ? exports[location.export] : imports[location.import[0]]?.[location.import[1]]
  return memory instanceof WebAssembly.Memory ? memory : null
}

function wrapExports(
  rawExports: Record<string, unknown>,
  metadata: AsyncifyMetadata,
  driver: AsyncifyDriver,
): Record<string, unknown> {
  const hidden = new Set(metadata.internalExports)
  const suspending = new Set(metadata.suspendingExports)
  const exports: Record<string, unknown> = Object.create(null)
  for (const [name, value] of Object.entries(rawExports)) {
    if (hidden.has(name)) continue
    if (suspending.has(name) && typeof value === 'function') {
      const wrapper = driver.suspendingExport(value as (...args: unknown[]) => unknown)
      Object.defineProperty(wrapper, 'name', { value: name })
      exports[name] = wrapper
    } else {
      exports[name] = value
    }
  }
  return Object.freeze(exports)
}
