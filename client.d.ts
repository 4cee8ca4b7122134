/*
 * Ambient types for `import init from './x.wasm?asyncify'`. Reference them with
 * `"types": ["unplugin-asyncify/client"]` in tsconfig.json or
 * `/// <reference types="unplugin-asyncify/client" />`. With the `dts` option the
 * plugin also writes `x.wasm.d.ts` beside each module with its exact exports,
 * which a plain `import init from './x.wasm'` (option `include`) picks up.
 */

declare module '*.wasm?asyncify' {
  import type { AsyncImports, InstantiateOptions, UntypedExports } from 'unplugin-asyncify/runtime'
  import type { ModuleReport } from 'unplugin-asyncify/transform'

  /** An instance whose exports can return Promises (those that reach an async import). */
  export interface Instance<Exports extends object = UntypedExports> {
    readonly exports: Exports
  }

  /**
   * Instantiates the transformed module; `imports` may hold Promise-returning functions.
   * `Exports` types `instance.exports` (unchecked: suspending exports must return
   * Promises there); without it any export may be used. `dts: true` gives exact types.
   *
   * @example
   * ```ts
   * const instance = await init<{ run(x: number): Promise<number> }>({ env: { sleep } })
   * ```
   */
  const init: <Exports extends object = UntypedExports>(imports?: AsyncImports, options?: InstantiateOptions) => Promise<Instance<Exports>>
  export default init

  /** What the transform did to this module: functions instrumented, sizes, async imports, warnings. */
  export const report: ModuleReport
}
