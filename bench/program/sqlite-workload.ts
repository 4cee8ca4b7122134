/**
 * SQLite's workload in memory, run through its own JavaScript glue
 * (`@sqlite.org/sqlite-wasm`) on one build of its module, as its users meet
 * it: inserts, a grouped query and an index, none of which reaches an async
 * import. Shared by the Node child (sqlite-child.ts) and the Chromium page
 * (sqlite-page.ts).
 */

/** The glue's default export (sqlite3.mjs): instantiates the module and returns SQLite's JavaScript API. */
export type SqliteInit = (options: { wasmBinary: Uint8Array; print: () => void; printErr: () => void }) => Promise<any>

/** Runs the workload once (which compiles and tiers up), then `runs` times timed: the milliseconds of each. */
export async function timeWorkload(init: SqliteInit, wasmBinary: Uint8Array, runs: number, label: string): Promise<{ ms: number[]; result: number }> {
  const sqlite3 = await init({ wasmBinary, print: () => {}, printErr: () => {} })
  const db = new sqlite3.oo1.DB(':memory:')
  const workload = (): number => {
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
  const result = workload()
  const ms: number[] = []
  for (let run = 0; run < runs; run++) {
    const started = performance.now()
    if (workload() !== result) throw new Error(`${label}: the workload's result changed between runs`)
    ms.push(performance.now() - started)
  }
  return { ms, result }
}
