/**
 * The build report of each program: what the plugin's transform did to it.
 * It comes from the `?asyncify` import itself, so it is the report of the very
 * bytes the page runs.
 */
import * as fetchModule from '../wasm/fetch.wasm?asyncify'
import * as goroutinesModule from '../wasm/goroutines.wasm?asyncify'
import * as inputModule from '../wasm/input.wasm?asyncify'
import * as sleepModule from '../wasm/sleep.wasm?asyncify'
import * as sortModule from '../wasm/sort.wasm?asyncify'
import type { DemoName } from './host'

export interface BuildReport {
  functions: { instrumented: number; total: number }
  size: { before: number; after: number }
  asyncImports: string[]
  warnings: string[]
}

function reportOf(module: object): BuildReport | null {
  return (module as { report?: BuildReport }).report ?? null
}

export const reports: Record<DemoName, BuildReport | null> = {
  sleep: reportOf(sleepModule),
  input: reportOf(inputModule),
  fetch: reportOf(fetchModule),
  sort: reportOf(sortModule),
  goroutines: reportOf(goroutinesModule),
}
