import type { DriverOptions, StackRegion } from './asyncify-driver.js'
import { AsyncifyError, unknownOption } from './errors.js'

export interface InstantiateOptions {
  /** Name used in error messages (the plugin passes the file name). */
  name?: string
  /** Bytes of Asyncify stack for one suspension; overrides the value chosen at build time. */
  stackSize?: number
  /**
   * Where the Asyncify data lives. By default it comes from the program's own `malloc`,
   * or, in a module without one, from pages reserved at instantiation. Pass a region the
   * program never touches (8 + size bytes) to choose the place yourself.
   */
  stackRegion?: StackRegion
  /**
   * Bytes of C stack (clang's `__stack_pointer` stack) for a call that starts while
   * another suspended call holds the program's own stack. Default 65536, clang's
   * default stack size; raise it if the program is linked with a larger `-z stack-size`.
   */
  shadowStackSize?: number
  /**
   * Which build to run when given both (`{ jspi, asyncify }`): `auto` (default) takes
   * JSPI where the engine has it; `jspi` or `asyncify` insist on one, and a single
   * module built for the other is refused.
   */
  mode?: InstantiateMode
}

export type InstantiateMode = 'auto' | 'asyncify' | 'jspi'
const MODES: readonly InstantiateMode[] = ['auto', 'asyncify', 'jspi']

export type ResolvedInstantiateOptions = Omit<DriverOptions, 'stackSize'> & { stackSize?: number; mode: InstantiateMode }

const DEFAULT_SHADOW_STACK_SIZE = 65536
const OPTION_NAMES: readonly (keyof InstantiateOptions)[] = ['name', 'stackSize', 'stackRegion', 'shadowStackSize', 'mode']
const MAX_ADDRESS = 2 ** 32

/**
 * Every runtime default lives here; a bad value is refused before anything is
 * compiled. `stackSize` stays undefined when not given: the module's metadata
 * holds the build-time default.
 */
export function resolveInstantiateOptions(options: InstantiateOptions): ResolvedInstantiateOptions {
  if (options === null || typeof options !== 'object') {
    throw new AsyncifyError('ASYNCIFY_BAD_OPTIONS', `instantiate(): options must be an object; got ${String(options)}`)
  }
  if (options.name !== undefined && typeof options.name !== 'string') {
    throw new AsyncifyError('ASYNCIFY_BAD_OPTIONS', `instantiate(): name must be a string; got ${JSON.stringify(options.name)}`)
  }
  const label = options.name ?? 'wasm module'
  const bad = (message: string): never => {
    throw new AsyncifyError('ASYNCIFY_BAD_OPTIONS', `${label}: ${message}`)
  }
  const unknown = unknownOption(options, OPTION_NAMES)
  if (unknown !== null) bad(unknown)
  const size = (name: string, value: unknown, multiple: number, minimum: number): number => {
    if (typeof value !== 'number' || !Number.isInteger(value) || value < minimum || value % multiple !== 0 || value >= MAX_ADDRESS) {
      bad(`${name} must be a whole number of bytes, a multiple of ${multiple}, at least ${minimum}; got ${JSON.stringify(value)}`)
    }
    return value as number
  }
  const stackSize = options.stackSize === undefined ? undefined : size('stackSize', options.stackSize, 4, 64)
  const shadowStackSize = size('shadowStackSize', options.shadowStackSize ?? DEFAULT_SHADOW_STACK_SIZE, 16, 1024)
  let stackRegion: StackRegion | undefined
  if (options.stackRegion !== undefined) {
    const region = options.stackRegion
    if (region === null || typeof region !== 'object') bad(`stackRegion must be { start, size }; got ${JSON.stringify(region)}`)
    const start = size('stackRegion.start', region.start, 4, 0)
    const regionSize = size('stackRegion.size', region.size, 4, 64)
    if (start + 8 + regionSize > MAX_ADDRESS) bad(`stackRegion ends past 4 GiB (start ${start}, size ${regionSize})`)
    stackRegion = { start, size: regionSize }
  }
  const mode = options.mode ?? 'auto'
  if (!MODES.includes(mode)) bad(`mode must be one of "auto", "asyncify", "jspi"; got ${JSON.stringify(mode)}`)
  return { label, stackSize, stackRegion, shadowStackSize, mode }
}
