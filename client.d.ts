/*
 * Ambient types for `import init from './x.wasm?asyncify'`. Reference them with
 * `"types": ["unplugin-asyncify/client"]` in tsconfig.json or
 * `/// <reference types="unplugin-asyncify/client" />`. With the `dts` option the
 * plugin also writes `x.wasm.d.ts` beside each module with its exact exports,
 * which a plain `import init from './x.wasm'` (option `include`) picks up.
 */

declare module '*.wasm?asyncify' {
  import type { InstantiateOptions } from 'unplugin-asyncify/runtime'
  import type { ModuleReport } from 'unplugin-asyncify/transform'

  /** An instance whose exports can return Promises (those that reach an async import). */
  export interface Instance {
    readonly exports: Record<string, unknown>
  }

  /** Instantiates the transformed module; `imports` may hold Promise-returning functions. */
  const init: (imports?: WebAssembly.Imports, options?: InstantiateOptions) => Promise<Instance>
  export default init

  /** What the transform did to this module: functions instrumented, sizes, async imports, warnings. */
  export const report: ModuleReport
}
