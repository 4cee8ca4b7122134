/**
 * SQLite's own JavaScript glue (`@sqlite.org/sqlite-wasm`) running one build
 * of its module on a workload that never reaches an async import: inserts,
 * a grouped query and an index, in memory. A real program's cost of
 * Asyncify's checks where nothing suspends, as its users meet it. Prints the
 * milliseconds of each run after the first (which compiles and tiers up).
 * argv: glue (sqlite3.mjs) wasm runs
 */
import { readFileSync } from 'node:fs'
import { pathToFileURL } from 'node:url'

const [glue, wasm, runs] = process.argv.slice(2) as [string, string, string]
// The glue is written for browsers and workers; what it reads of one is its location.
Object.assign(globalThis, { self: globalThis, location: pathToFileURL(glue) })
const { default: init } = (await import(pathToFileURL(glue).href)) as { default: (options: object) => Promise<any> }
const sqlite3 = await init({ wasmBinary: readFileSync(wasm), print: () => {}, printErr: () => {} })
const db = new sqlite3.oo1.DB(':memory:')

function workload(): number {
  db.exec('drop table if exists t; create table t(a integer primary key, b text, c real)')
  db.exec('begin')
  const insert = db.prepare('insert into t(b, c) values (?, ?)')
  for (let i = 0; i < 20000; i++) insert.bind([`row ${(i * 7919) % 10007}`, i * 0.5]).stepReset()
  insert.finalize()
  db.exec('commit')
  let sum = 0
  db.exec({ sql: "select count(*), sum(c), max(length(b)) from t where b like '%7%' group by a % 10 order by 2", callback: (row: number[]) => (sum += row[1]!) })
  db.exec('create index i on t(b)')
  return sum
}

const expected = workload()
const ms: number[] = []
for (let run = 0; run < Number(runs); run++) {
  const started = performance.now()
  if (workload() !== expected) throw new Error(`${wasm}: the workload's result changed between runs`)
  ms.push(performance.now() - started)
}
process.stdout.write(JSON.stringify({ ms, result: expected }))
