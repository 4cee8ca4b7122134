import { AsyncifyDriver, type AsyncifyExports, type AsyncifyStats } from './asyncify-driver.js'
import { AsyncifyError, AsyncifyUnlistedImportError } from './errors.js'
import { isThenable } from './import-depth.js'
import { hasJspi, jspi, JspiDriver } from './jspi-driver.js'
import { GUEST_API_MODULE, readMetadata, STACK_POINTER_IMPORT, type AsyncImportMetadata, type AsyncifyMetadata, type Signature, type TypeSection, type WasmValueType } from './metadata.js'
import {
  resolveInstantiateOptions,
  type InstantiateMode,
  type InstantiateOptions,
  type ResolvedInstantiateOptions,
} from './options.js'
import type { WasmFunction } from './invoke.js'
import type { Malloc } from './owned-memory.js'
import { canTrampoline, exportTrampolines, importTrampolines } from './trampolines.js'
import type { AsyncImports, UntypedExports } from './types.js'

export type { InstantiateOptions }

export type WasmSource =
  | BufferSource
  | WebAssembly.Module
  | Response
  | PromiseLike<Response>

/**
 * Both builds of a module (mode 'auto'): each a source, or a function that returns
 * one, so that only the build this engine uses is fetched.
 */
export interface WasmPaths {
  jspi?: WasmSource | (() => WasmSource)
  asyncify?: WasmSource | (() => WasmSource)
}


interface Built {
  exports: Record<string, unknown>
  driver: { stats(): AsyncifyStats }
}

/**
 * What `instantiate` resolves to: `instance.exports` has the module's own export
 * names, typed as `Exports` (by default, anything goes: see `UntypedExports`).
 */
export interface AsyncifiedInstance<Exports extends object = UntypedExports> {
  instance: { readonly exports: Exports }
  module: WebAssembly.Module
}

const drivers = new WeakMap<object, Built['driver']>()

/**
 * Compiles (streaming where possible) and instantiates a module produced by the
 * transform. Exports that can reach an async import return Promises; the others
 * are the raw exports. `Exports` is the type of `instance.exports`, which the
 * runtime cannot check: give the module's own (suspending exports returning
 * Promises), or leave it out to use any export unchecked.
 *
 * @example
 * ```ts
 * const { instance } = await instantiate<{ run(x: number): Promise<number> }>(fetch('/prog.wasm'), {
 *   env: { sleep: (ms: number) => new Promise((resolve) => setTimeout(resolve, ms)) },
 * })
 * const result: number = await instance.exports.run(5)
 * ```
 */
export async function instantiate<Exports extends object = UntypedExports>(
  source: WasmSource | WasmPaths,
  imports: AsyncImports = {},
  options: InstantiateOptions = {},
): Promise<AsyncifiedInstance<Exports>> {
  const resolved = resolveInstantiateOptions(options)
  const { label, mode } = resolved
  const picked = pickSource(source, mode, label)
  let module: WebAssembly.Module
  try {
    module = await compile(picked.source, label)
  } catch (error) {
    // A module only JSPI can run may use proposals this engine cannot even compile.
    if (picked.jspi && !hasJspi() && error instanceof WebAssembly.CompileError) throw noJspi(label, null, error)
    throw error
  }
  const metadata = readMetadata(module, label)
  if (mode !== 'auto' && metadata.engine !== mode) {
    throw new AsyncifyError(
      'ASYNCIFY_BAD_OPTIONS',
      `${label}: mode is "${mode}", but this module was built for ${metadata.engine === 'jspi' ? 'JSPI' : 'Asyncify'}; ` +
        `pass the ${mode === 'jspi' ? 'JSPI' : 'asyncified'} build, or both builds as { jspi, asyncify }`,
    )
  }
  const built =
    metadata.engine === 'jspi'
      ? await instantiateJspi(module, metadata, imports, resolved)
      : await instantiateAsyncify(module, metadata, imports, resolved)
  drivers.set(built.exports, built.driver)
  return { instance: { exports: built.exports as Exports }, module }
}

/** Engines with JSPI take the `jspi` build; `mode` can force either. `jspi`: the JSPI build was picked from a pair. */
function pickSource(source: WasmSource | WasmPaths, mode: InstantiateMode, label: string): { source: WasmSource; jspi: boolean } {
  if (!isPaths(source)) return { source, jspi: false }
  const useJspi = mode === 'jspi' || (mode === 'auto' && source.jspi !== undefined && (hasJspi() || source.asyncify === undefined))
  const chosen = useJspi ? source.jspi : source.asyncify
  if (chosen === undefined) {
    throw new AsyncifyError(
      'ASYNCIFY_BAD_OPTIONS',
      `${label}: mode is "${mode}" but no ${useJspi ? 'jspi' : 'asyncify'} build was given; pass it in { jspi, asyncify }`,
    )
  }
  return { source: typeof chosen === 'function' ? chosen() : chosen, jspi: useJspi }
}

/** A typed reference (`(ref $t)`) cannot be named in a generated trampoline without the module's type section. */
function untrampolined(label: string, what: string): AsyncifyError {
  return new AsyncifyError(
    'ASYNCIFY_UNSUPPORTED_FEATURE',
    `${label}: ${what} has a typed reference in its signature, and the build does not carry the module's types ` +
      `the JSPI path needs to wrap it; rebuild the module with this version of unplugin-asyncify`,
  )
}

function noJspi(label: string, asyncifyUnsupported: string | null, cause?: unknown): AsyncifyError {
  const missing = 'JSPI (WebAssembly.Suspending and WebAssembly.promising), which this engine does not have'
  return new AsyncifyError(
    'ASYNCIFY_NO_JSPI',
    asyncifyUnsupported !== null
      ? `${label}: this module can only run with ${missing}, because Asyncify cannot transform it: ${asyncifyUnsupported}`
      : cause !== undefined
        ? `${label}: only a JSPI build of this module was given, and it needs ${missing} ` +
          `(it does not even compile here: ${(cause as Error).message}); the build report says why it has no Asyncify build`
        : `${label}: this build of the module needs ${missing}; ` +
          `build with mode "auto" (the default) so engines without JSPI get the asyncified build`,
    cause === undefined ? undefined : { cause },
  )
}

function isPaths(source: WasmSource | WasmPaths): source is WasmPaths {
  return (
    typeof source === 'object' &&
    source !== null &&
    !ArrayBuffer.isView(source) &&
    !(source instanceof ArrayBuffer) &&
    !(source instanceof WebAssembly.Module) &&
    !isThenable(source) &&
    ('jspi' in source || 'asyncify' in source)
  )
}

async function instantiateAsyncify(
  module: WebAssembly.Module,
  metadata: AsyncifyMetadata,
  imports: AsyncImports,
  resolved: ResolvedInstantiateOptions,
): Promise<Built> {
  const { label } = resolved
  const driver = new AsyncifyDriver({ ...resolved, stackSize: resolved.stackSize ?? metadata.stackSize })
  const usesGuestApi = WebAssembly.Module.imports(module).some((entry) => entry.module === GUEST_API_MODULE)
  const withGuestApi = usesGuestApi ? { ...imports, [GUEST_API_MODULE]: driver.guestApi() } : imports
  const raw = await WebAssembly.instantiate(
    module,
    wrapImports(module, withGuestApi, metadata, label, {
      async: (fn, entry, key) => driver.asyncImport(fn, entry.params.length, placeholderFor(entry.results), key),
      sync: (fn, arity, key, unlisted) => driver.syncImport(fn, arity, key, unlisted),
    }),
  )
  const rawExports = raw.exports as Record<string, unknown>
  const { memory, stackPointer, malloc } = internals(metadata, rawExports, imports)
  driver.attach(rawExports as unknown as AsyncifyExports, memory, stackPointer, malloc)
  const exports = wrapExports(rawExports, metadata, (_, fn) => driver.suspendingExport(fn, fn.length))
  return { exports, driver }
}

async function instantiateJspi(
  module: WebAssembly.Module,
  metadata: AsyncifyMetadata,
  imports: AsyncImports,
  resolved: ResolvedInstantiateOptions,
): Promise<Built> {
  const { label } = resolved
  if (!hasJspi()) throw noJspi(label, metadata.asyncifyUnsupported)
  const driver = new JspiDriver(label, resolved.shadowStackSize, metadata.asyncImports.length)
  const trampolined: { plain: WasmFunction; suspending: WasmFunction; booked: WasmFunction; entry: AsyncImportMetadata }[] = []
  const wrapped = wrapImports(module, imports, metadata, label, {
    async: (fn, entry, key) => {
      if (!canTrampoline(entry, metadata.types)) throw untrampolined(label, `import "${key}"`)
      const index = trampolined.length
      const arity = entry.params.length
      const plain = driver.asyncImport(fn, arity, placeholderFor(entry.results), key, index)
      // Replaced by its trampoline below, once all are known.
      trampolined.push({ plain, ...driver.suspendingImports(fn, arity, key, index), entry })
      return plain
    },
    sync: (fn, arity, key, unlisted) => driver.syncImport(fn, arity, key, unlisted),
  })
  const sharedPointer = metadata.stackPointerImport && new WebAssembly.Global({ value: 'i32', mutable: true }, metadata.stackPointerImport.initial)
  if (sharedPointer) wrapped[STACK_POINTER_IMPORT.module] = { [STACK_POINTER_IMPORT.name]: sharedPointer }
  let pointerTable: WebAssembly.Table | null = null
  if (trampolined.length > 0) {
    const t: WebAssembly.ModuleImports = { m: driver.block.memory }
    if (sharedPointer) t.g = sharedPointer
    const wait = driver.wait()
    t.f = driver.resumeAt()
    trampolined.forEach(({ plain, suspending, booked }, i) => {
      t[`p${i}`] = plain
      t[`s${i}`] = new jspi.Suspending(suspending)
      t[`w${i}`] = new jspi.Suspending(wait)
      t[`b${i}`] = new jspi.Suspending(booked)
    })
    const kind = sharedPointer ? 'import, shared pointer' : 'import'
    const trampolines = await instantiateTrampolines(kind, trampolined.map(({ entry }) => entry), driver.block.base, { t }, metadata.types)
    pointerTable = sharedPointer ? null : (trampolines.sp as WebAssembly.Table)
    trampolined.forEach(({ entry }, i) => {
      wrapped[entry.module]![entry.name] = trampolines[`f${i}`] as WasmFunction
    })
  }
  const raw = await WebAssembly.instantiate(module, wrapped)
  const rawExports = raw.exports as Record<string, unknown>
  const { memory, stackPointer, malloc } = internals(metadata, rawExports, imports)
  driver.attach(memory, stackPointer, malloc, pointerTable)

  const exits = metadata.suspendingExports.filter((name) => typeof rawExports[name] === 'function')
  for (const name of exits) if (!canTrampoline(metadata.exportSignatures[name]!, metadata.types)) throw untrampolined(label, `export "${name}"`)
  const exitTrampolines =
    exits.length === 0
      ? {}
      : await instantiateTrampolines(
          'export',
          exits.map((name) => metadata.exportSignatures[name]!),
          0,
          { t: Object.fromEntries([['x', driver.exit()], ...exits.map((name, i) => [`r${i}`, rawExports[name]])]) },
          metadata.types,
        )
  const exports = wrapExports(rawExports, metadata, (name, fn) =>
    driver.suspendingExport(jspi.promising(exitTrampolines[`g${exits.indexOf(name)}`]), fn.length),
  )
  return { exports, driver }
}

/** The driver's state for an instance from `instantiate`: useful to check that nothing leaked. */
export function asyncifyStats(instance: { readonly exports: object }): AsyncifyStats {
  const driver = drivers.get(instance?.exports)
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
  const values = results.map((type) => (type === 'i64' ? 0n : type === 'f32' || type === 'f64' || type === 'i32' ? 0 : null))
  return values.length === 0 ? undefined : values.length === 1 ? values[0] : values
}

interface ImportWrappers {
  async(fn: WasmFunction, entry: AsyncImportMetadata, key: string): WasmFunction
  sync(fn: WasmFunction, arity: number | null, key: string, unlisted: (key: string) => never): WasmFunction
}

function wrapImports(
  module: WebAssembly.Module,
  imports: AsyncImports,
  metadata: AsyncifyMetadata,
  label: string,
  wrappers: ImportWrappers,
): Record<string, WebAssembly.ModuleImports> {
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
    target[descriptor.name] = entry
      ? wrappers.async(fn as WasmFunction, entry, key)
      : wrappers.sync(fn as WasmFunction, metadata.importArities?.[key] ?? null, key, unlisted)
  }
  return { ...imports, ...wrapped } as Record<string, WebAssembly.ModuleImports>
}

/** What the runtime reaches in the instance: the memory, the C stack pointer, `malloc`. */
function internals(metadata: AsyncifyMetadata, exports: Record<string, unknown>, imports: AsyncImports) {
  const location = metadata.memory
  const memory =
    location === null ? null : 'export' in location ? exports[location.export] : imports[location.import[0]]?.[location.import[1]]
  return {
    memory: memory instanceof WebAssembly.Memory ? memory : null,
    stackPointer: metadata.stackPointer === null ? null : (exports[metadata.stackPointer] as WebAssembly.Global),
    malloc: metadata.malloc === null ? null : (exports[metadata.malloc] as Malloc),
  }
}

function wrapExports(
  rawExports: Record<string, unknown>,
  metadata: AsyncifyMetadata,
  wrap: (name: string, fn: WasmFunction) => (...args: unknown[]) => Promise<unknown>,
): Record<string, unknown> {
  const hidden = new Set(metadata.internalExports)
  const suspending = new Set(metadata.suspendingExports)
  const exports: Record<string, unknown> = Object.create(null)
  for (const [name, value] of Object.entries(rawExports)) {
    if (hidden.has(name)) continue
    if (suspending.has(name) && typeof value === 'function') {
      const wrapper = wrap(name, value as WasmFunction)
      Object.defineProperty(wrapper, 'name', { value: name })
      exports[name] = wrapper
    } else {
      exports[name] = value
    }
  }
  return Object.freeze(exports)
}

const TRAMPOLINES = {
  import: (signatures: Signature[], base: number, types?: TypeSection) => importTrampolines(signatures, false, base, types),
  'import, shared pointer': (signatures: Signature[], base: number, types?: TypeSection) => importTrampolines(signatures, true, base, types),
  export: (signatures: Signature[], _base: number, types?: TypeSection) => exportTrampolines(signatures, types),
}

/**
 * Trampoline modules depend only on their kind, signatures (and the module's
 * types they name) and, for imports, where their cells start: each distinct
 * set is encoded and compiled once per page. Cell blocks start at one of
 * 1,024 offsets of a page (shared-cells.ts), so the set stays small.
 */
const compiled = new Map<string, Promise<WebAssembly.Module>>()

async function instantiateTrampolines(
  kind: keyof typeof TRAMPOLINES,
  signatures: Signature[],
  base: number,
  imports: WebAssembly.Imports,
  types: TypeSection | undefined,
): Promise<WebAssembly.Exports> {
  const typed = signatures.some((signature) => signature.typed)
  const key = `${kind} ${base} ${JSON.stringify(signatures.map(({ params, results, typed }) => [params, results, typed]))}${typed ? ` ${types?.section}` : ''}`
  let module = compiled.get(key)
  if (!module) compiled.set(key, (module = WebAssembly.compile(TRAMPOLINES[kind](signatures, base, typed ? types : undefined) as Uint8Array<ArrayBuffer>)))
  return (await WebAssembly.instantiate(await module, imports)).exports
}
