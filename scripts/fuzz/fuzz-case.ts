import type { Temperament } from './answers.js'

export type OptimizeLevel = 0 | 1 | 2 | 3 | 's' | 'z'
export const OPTIMIZE_LEVELS: readonly OptimizeLevel[] = [0, 1, 2, 3, 's', 'z']

/** One export call: the export's name and its arguments, encoded (values.ts). */
export interface CallSpec {
  export: string
  args: string[]
}

/**
 * Everything that decides one module's test besides its bytes: saved as JSON
 * beside the module in a reproducer, and enough to replay it exactly.
 */
export interface FuzzCase {
  /** `<campaign seed>/<module index>`, for messages and file names. */
  id: string
  generator: 'ttf' | 'c' | 'wat'
  /** The module's own seed: its bytes (or C source), calls and answers all derive from it. */
  seed: number
  /**
   * `sequential`: each call settles before the next starts, and an import may
   * call an export re-entrantly. `overlap`: every call starts before any is
   * awaited; only for programs whose exports share no mutable state.
   */
  mode: 'sequential' | 'overlap'
  transform: { imports: string[]; optimize: OptimizeLevel; stackSize: number }
  temperament: Temperament
  /** Exports called once right after instantiation (`_initialize` of a C reactor). */
  init: string[]
  /** Export called before every top-level call (`hangLimitInitializer` of a ttf module). */
  reset: string | null
  calls: CallSpec[]
  /** The program's globals: an exported data symbol (a global holding its address) and its size. */
  state: { export: string; bytes: number } | null
}
