/**
 * Builds the tiny app in `appDir` with Vite and our plugin twice in one fresh
 * process: the first with an empty transform cache, the second warm (what a
 * user's rebuild costs). Prints both times and how many Binaryen runs the warm
 * build started (0 when the cache worked).
 * argv: appDir cacheDir imports-json
 */
import { join } from 'node:path'
import { build } from 'vite'
import asyncify from '../../dist/plugin/vite.js'
import { binaryenRuns } from '../../dist/plugin/transform.js'

const [appDir, cacheDir, importsJson] = process.argv.slice(2) as [string, string, string]
const imports = JSON.parse(importsJson) as string[]

async function timedBuild(): Promise<number> {
  const started = performance.now()
  await build({
    root: appDir,
    configFile: false,
    logLevel: 'silent',
    plugins: [asyncify({ imports, cacheDir })],
    build: { outDir: join(appDir, 'dist'), emptyOutDir: true },
  })
  return performance.now() - started
}

const coldMs = await timedBuild()
const runsBefore = binaryenRuns.count
const warmMs = await timedBuild()
process.stdout.write(JSON.stringify({ coldMs, warmMs, warmBinaryenRuns: binaryenRuns.count - runsBefore }))
