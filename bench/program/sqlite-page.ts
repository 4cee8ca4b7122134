/**
 * Page side of the Chromium runs of SQLite's workload (sqlite-workload.ts):
 * `globalThis.runSqlite(glueUrl, wasmUrl, runs)` loads the glue and the
 * build from the page's origin and resolves to the milliseconds of each run
 * after the first.
 */
import { timeWorkload, type SqliteInit } from './sqlite-workload.js'

Object.assign(globalThis, {
  async runSqlite(glueUrl: string, wasmUrl: string, runs: number) {
    const { default: init } = (await import(glueUrl)) as { default: SqliteInit }
    const wasmBinary = new Uint8Array(await (await fetch(wasmUrl)).arrayBuffer())
    return timeWorkload(init, wasmBinary, runs, wasmUrl)
  },
})
