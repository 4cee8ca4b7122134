import { copyFileSync, mkdirSync, rmSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { runMeasured } from '../processes.js'
import { compare, type Row } from '../rows.js'
import { SUSPEND_IMPORTS } from '../subjects.js'

const MAIN = `import init from './suspend.wasm?asyncify'

const instance = await init({ env: { tick: async (i) => i, value: (i) => i, plain: (i) => i } })
document.body.textContent = String(await instance.exports.round_trip(3, 10))
`

/** A Vite build of a one-module app, cold then warm in the same process, each repeat in a fresh process with an empty cache. */
export async function viteBuilds(wasm: string, repeats: number, timeoutMs: number, script: string, workDir: string): Promise<Row> {
  const app = join(workDir, 'vite-app')
  mkdirSync(app, { recursive: true })
  writeFileSync(join(app, 'index.html'), '<!doctype html><script type="module" src="./main.js"></script>\n')
  writeFileSync(join(app, 'main.js'), MAIN)
  copyFileSync(wasm, join(app, 'suspend.wasm'))
  const cold: number[] = []
  const warm: number[] = []
  let note: string | undefined
  for (let repeat = 0; repeat < repeats; repeat++) {
    const cacheDir = join(app, '.cache')
    rmSync(cacheDir, { recursive: true, force: true })
    const run = await runMeasured(process.execPath, [script, app, cacheDir, JSON.stringify(SUSPEND_IMPORTS)], timeoutMs)
    if (run.status === 'timeout') {
      note = `timeout after ${timeoutMs / 1000} s`
      break
    }
    const result = JSON.parse(run.stdout) as { coldMs: number; warmMs: number; warmBinaryenRuns: number }
    if (result.warmBinaryenRuns !== 0) note = `the warm build ran Binaryen ${result.warmBinaryenRuns} times: the cache missed`
    cold.push(result.coldMs)
    warm.push(result.warmMs)
  }
  return compare(
    { section: 'build', subject: 'Vite app (suspend.c)', measure: 'vite build, second (warm) vs first', unit: 'ms', engine: null },
    { label: 'warm build', samples: warm, ...(note ? { note } : {}) },
    { label: 'cold build', samples: cold },
  )
}
