/**
 * SQLite's workload (sqlite-workload.ts) on one build of its module in this
 * Node process. Prints the milliseconds of each run after the first.
 * argv: glue (sqlite3.mjs) wasm runs
 */
import { readFileSync } from 'node:fs'
import { pathToFileURL } from 'node:url'
import { timeWorkload, type SqliteInit } from './sqlite-workload.js'

const [glue, wasm, runs] = process.argv.slice(2) as [string, string, string]
// The glue is written for browsers and workers; what it reads of one is its location.
Object.assign(globalThis, { self: globalThis, location: pathToFileURL(glue) })
const { default: init } = (await import(pathToFileURL(glue).href)) as { default: SqliteInit }
process.stdout.write(JSON.stringify(await timeWorkload(init, readFileSync(wasm), Number(runs), wasm)))
