import { spawn } from 'node:child_process'
import { existsSync } from 'node:fs'
import { launchChromium } from '../../scripts/playground/browser.js'
import { bundleBrowser, bundleNode } from '../bundle.js'
import { nodeBinary } from '../paths.js'
import type { HarnessOutput } from './measure.js'
import type { WireInput } from './wire.js'

export type EngineName = 'Node 20' | 'Node 22' | 'Node 24' | 'Node 26' | 'Chromium'
/** Node 20 is the machine's; 22 to 26 come from tools/nodes (22 has no JSPI, 24 and 26 have it). */
export const ENGINES: readonly EngineName[] = ['Node 20', 'Node 22', 'Node 24', 'Node 26', 'Chromium']
const OTHER_NODES = [22, 24, 26] as const

function runNode(node: string, script: string, wire: WireInput, timeoutMs: number): Promise<HarnessOutput> {
  return new Promise((resolveRun, reject) => {
    const child = spawn(node, [script], { stdio: ['pipe', 'pipe', 'pipe'], timeout: timeoutMs, killSignal: 'SIGKILL' })
    let stdout = ''
    let stderr = ''
    child.stdout.on('data', (chunk) => (stdout += chunk))
    child.stderr.on('data', (chunk) => (stderr += chunk))
    child.on('error', reject)
    child.on('close', (code, signal) => {
      if (code === 0) return resolveRun(JSON.parse(stdout) as HarnessOutput)
      reject(new Error(`${node} ${script}: ${signal === 'SIGKILL' ? `killed after ${timeoutMs / 1000} s` : `exit ${code}`}\n${stderr.slice(-4000)}`))
    })
    child.stdin.end(JSON.stringify(wire))
  })
}

/**
 * Runs the harness in each engine, one after the other (never side by side:
 * they would share the cores). The Node runs are fresh processes; Chromium is
 * Debian's, launched as the e2e tests launch it, on a blank page.
 */
export async function runInEngines(wire: WireInput, timeoutMs: number): Promise<Map<EngineName, HarnessOutput>> {
  const results = new Map<EngineName, HarnessOutput>()
  const script = await bundleNode('harness/node-entry.ts')
  results.set('Node 20', await runNode(process.execPath, script, wire, timeoutMs))
  for (const major of OTHER_NODES) {
    const node = nodeBinary(major)
    if (!existsSync(node)) throw new Error(`${node} not found: run "bash scripts/setup.sh" to install Node ${major}`)
    results.set(`Node ${major}`, await runNode(node, script, wire, timeoutMs))
  }
  const page = await bundleBrowser('harness/browser-entry.ts')
  const browser = await launchChromium()
  try {
    const tab = await browser.context.newPage()
    tab.setDefaultTimeout(timeoutMs)
    await tab.addScriptTag({ content: page })
    results.set('Chromium', await tab.evaluate((input) => (globalThis as any).runBench(input) as Promise<HarnessOutput>, wire))
  } finally {
    await browser.close()
  }
  return results
}
