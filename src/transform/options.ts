import { AsyncifyError, unknownOption } from '../runtime-shim/errors.js'
import { FEATURE_NAMES, isFeatureName, type FeatureName } from './features.js'
import { DEFAULT_STACK_SIZE } from '../runtime-shim/metadata.js'

export type OptimizeLevel = 0 | 1 | 2 | 3 | 's' | 'z'

/** Options of `asyncifyWasm`, the CLI and the bundler plugin. */
export interface TransformOptions {
  /**
   * Function imports that may return a Promise, as `"module.name"` patterns where `*`
   * matches any run of characters (`["env.sleep", "env.read_*"]`). Default: every
   * function import, which instruments more code than needed (the report warns).
   */
  imports?: readonly string[]
  /**
   * Function-name patterns (name section) of runtime code that drives the Asyncify API
   * itself: never instrumented, never inlined, never inlined into. Functions that call
   * `asyncify.start_unwind/stop_unwind/start_rewind/stop_rewind` directly are added
   * automatically.
   */
  runtime?: readonly string[]
  /**
   * What builds the asyncified module. `direct` (default): instrumented straight from
   * the bytes, without Binaryen, where nothing needs cleaning up afterwards; what it does
   * not handle (`preoptimize`, `features` for a module without a `target_features`
   * section, several memories, reference-typed locals across a suspension, a stack
   * pointer known by neither name nor shape, ...) goes to Binaryen's pipeline, and
   * `report.engine` says which one built. `binaryen`: always Binaryen's Asyncify pass and its optimizer, at `optimize`.
   * The JSPI build is the same either way; `direct` reads it from the bytes where it can
   * (mode `jspi` included), `binaryen` always through Binaryen's pipeline.
   */
  engine?: AsyncifyEngine
  /**
   * Optimization level. Where Binaryen builds (see `engine`): above 0, Asyncify cleans up
   * the code it instruments (at a level of its own: 1, 2, 3, `s` and `z` give the same
   * build); 0 skips that (a faster build about twice as large); with `preoptimize`, also
   * the level of the whole-module optimizer, where `s` and `z` optimize for size. The
   * direct engine has nothing to clean up, but with `s` and `z` it trades speed for size:
   * functions whose saved locals have the same types share two helper functions that
   * write and read them, instead of that code in each (SQLite about 7% smaller), for a
   * call per frame at each unwind and rewind, which engines that do not inline wasm calls
   * pay (Node 20). With 3 it trades size for speed: each instrumented function whose code
   * going forward then checks the state less often (a check only a rewind needs in a loop,
   * or several in a function without loops) goes out twice, once without the checks that
   * let a rewind skip to the call it left, which every call runs, and which hands a rewind
   * to the other copy (SQLite's output 2.5x its input instead of 1.54x; its workload that
   * never suspends much nearer the untouched module's speed where JSPI is missing; measure
   * your own code). A frame that was rewound runs the other copy until it returns; it has
   * the function's name, lines and branch hints, and below it in a stack trace, unless the
   * engine inlined the call, the frame that handed the rewind over (same name, no line).
   * `report.why` counts both copies' bytes. Default 2.
   */
  optimize?: OptimizeLevel
  /**
   * Also run Binaryen's whole-module optimizer at `optimize` before Asyncify, for input a
   * compiler did not optimize (`-O0`). Default false: compilers optimize their output,
   * and doing it again costs most of the build time on large modules.
   */
  preoptimize?: boolean
  /**
   * Bytes of Asyncify stack that hold one suspended call stack (the live locals of every
   * frame). Default 65536: about a thousand frames of a small function, or a few hundred
   * frames of optimized C. The runtime can override it.
   */
  stackSize?: number
  /**
   * The C shadow-stack pointer global (clang's and Rust's `__stack_pointer`), which the
   * runtime moves for overlapping calls: its name (name section, export or import name)
   * or its index, or `false` to leave the C stack alone. Default: found by name, else by
   * the shape of function prologues, else not managed (the report says so).
   */
  stackPointer?: string | number | false
  /**
   * The wasm features the output may use, by their `target_features` / clang `-m` names
   * (`["sign-ext", "bulk-memory"]`), for a module without a `target_features` section
   * (which wins when present). Default: the smallest set the module validates with, so
   * the optimizer never adds opcodes the input did not use.
   */
  features?: readonly FeatureName[]
  /**
   * Which ways of suspending to build for. `auto` (default): the asyncified module and
   * the input for JSPI, the runtime picks by what the engine has (and a module only JSPI
   * can run gets only the JSPI path); `asyncify`: only the asyncified module, refusing
   * what Asyncify cannot transform; `jspi`: only the input for JSPI, no Binaryen passes.
   */
  mode?: TransformMode
  /**
   * Source-level debugging through the transform: the input's line information (its
   * DWARF line tables from clang and Rust `-g`, else the source map its `sourceMappingURL`
   * section names) comes out as a source map describing each build as emitted, embedded
   * in its `sourceMappingURL` section, and the DWARF itself is dropped. Default false
   * (the plugin's own default turns it on in dev servers).
   */
  debug?: boolean
  /** File name for messages; the CLI and the plugin pass the real path. */
  filename?: string
}

export type TransformMode = 'auto' | 'asyncify' | 'jspi'
const MODES: readonly TransformMode[] = ['auto', 'asyncify', 'jspi']

export type AsyncifyEngine = 'direct' | 'binaryen'
const ENGINES: readonly AsyncifyEngine[] = ['direct', 'binaryen']

export type StackPointerOption = 'auto' | string | number | false

export interface ResolvedTransformOptions {
  imports: string[] | null
  runtime: string[]
  engine: AsyncifyEngine
  optimize: OptimizeLevel
  preoptimize: boolean
  stackSize: number
  stackPointer: StackPointerOption
  features: FeatureName[] | null
  mode: TransformMode
  debug: boolean
  filename: string
}

export { DEFAULT_STACK_SIZE }
export const OPTIMIZE_LEVELS: readonly OptimizeLevel[] = [0, 1, 2, 3, 's', 'z']

/** Every option, so that none is left out of TRANSFORM_OPTION_NAMES. */
const OPTIONS: Record<keyof TransformOptions, true> = {
  imports: true,
  runtime: true,
  engine: true,
  optimize: true,
  preoptimize: true,
  stackSize: true,
  stackPointer: true,
  features: true,
  mode: true,
  debug: true,
  filename: true,
}

/** The names of the options, in the order messages list them. */
export const TRANSFORM_OPTION_NAMES = Object.keys(OPTIONS) as (keyof TransformOptions)[]

/** Every default lives here; the rest of the transform sees resolved options only. */
export function resolveTransformOptions(options: TransformOptions = {}): ResolvedTransformOptions {
  const filename = options.filename ?? 'input.wasm'
  const bad = (message: string): never => {
    throw new AsyncifyError('ASYNCIFY_BAD_OPTIONS', `${filename}: ${message}`)
  }
  const unknown = unknownOption(options, TRANSFORM_OPTION_NAMES)
  if (unknown !== null) bad(unknown)
  const engine = options.engine ?? 'direct'
  if (!ENGINES.includes(engine)) bad(`engine must be "direct" or "binaryen"; got ${JSON.stringify(engine)}`)
  const optimize = options.optimize ?? 2
  if (!OPTIMIZE_LEVELS.includes(optimize)) {
    bad(`optimize must be one of 0, 1, 2, 3, "s", "z"; got ${JSON.stringify(optimize)}`)
  }
  const preoptimize = options.preoptimize ?? false
  if (typeof preoptimize !== 'boolean') bad(`preoptimize must be true or false; got ${JSON.stringify(preoptimize)}`)
  const stackSize = options.stackSize ?? DEFAULT_STACK_SIZE
  if (!Number.isInteger(stackSize) || stackSize < 64 || stackSize % 4 !== 0 || stackSize > 0x7fff0000) {
    bad(`stackSize must be a whole number of bytes, a multiple of 4, at least 64; got ${stackSize}`)
  }
  const stackPointer = options.stackPointer ?? 'auto'
  if (
    !(stackPointer === false || stackPointer === 'auto' || (typeof stackPointer === 'string' && stackPointer !== '') ||
      (Number.isInteger(stackPointer) && (stackPointer as number) >= 0))
  ) {
    bad(`stackPointer must be a global's name, its index or false; got ${JSON.stringify(stackPointer)}`)
  }
  const patterns = (name: string, value: readonly string[] | undefined): string[] | undefined => {
    if (value === undefined) return undefined
    if (!Array.isArray(value) || value.some((entry) => typeof entry !== 'string' || entry === '')) {
      bad(`${name} must be an array of non-empty strings; got ${JSON.stringify(value)}`)
    }
    return [...value]
  }
  const imports = patterns('imports', options.imports)
  for (const pattern of imports ?? []) {
    if (!pattern.includes('.')) bad(`import pattern "${pattern}" must have the form "module.name", e.g. "env.${pattern}"`)
  }
  const features = patterns('features', options.features)
  for (const name of features ?? []) {
    if (!isFeatureName(name)) bad(`features: unknown feature "${name}"; known: ${Object.keys(FEATURE_NAMES).join(', ')}`)
  }
  const mode = options.mode ?? 'auto'
  if (!MODES.includes(mode)) bad(`mode must be one of "auto", "asyncify", "jspi"; got ${JSON.stringify(mode)}`)
  const debug = options.debug ?? false
  if (typeof debug !== 'boolean') bad(`debug must be true or false; got ${JSON.stringify(debug)}`)
  return {
    imports: imports ?? null,
    runtime: patterns('runtime', options.runtime) ?? [],
    engine,
    optimize,
    preoptimize,
    stackSize,
    stackPointer,
    features: (features as FeatureName[] | undefined) ?? null,
    mode,
    debug,
    filename,
  }
}
