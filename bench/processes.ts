import { spawn } from 'node:child_process'
import { existsSync } from 'node:fs'

const GNU_TIME = '/usr/bin/time'

export type Measured =
  | { status: 'ok'; wallMs: number; peakRssMb: number; stdout: string }
  | { status: 'timeout'; wallMs: number }

/**
 * Runs a command in a fresh process under GNU time and returns its wall time
 * and peak resident memory (the process and its threads: our transform's
 * Binaryen worker included). A run past `timeoutMs` is killed with its whole
 * process group (time's child would outlive time itself) and reported as a
 * timeout. A failing command throws with its stderr.
 */
export function runMeasured(command: string, args: readonly string[], timeoutMs: number): Promise<Measured> {
  if (!existsSync(GNU_TIME)) throw new Error(`${GNU_TIME} not found: install Debian's "time" package to measure peak memory`)
  return new Promise((resolveRun, reject) => {
    const started = performance.now()
    const child = spawn(GNU_TIME, ['-f', '\n@@peak-rss-kb %M', command, ...args], { detached: true, stdio: ['ignore', 'pipe', 'pipe'] })
    let stdout = ''
    let stderr = ''
    let timedOut = false
    child.stdout.on('data', (chunk) => (stdout += chunk))
    child.stderr.on('data', (chunk) => (stderr += chunk))
    const timer = setTimeout(() => {
      timedOut = true
      process.kill(-child.pid!, 'SIGKILL')
    }, timeoutMs)
    child.on('error', reject)
    child.on('close', (code) => {
      clearTimeout(timer)
      const wallMs = performance.now() - started
      if (timedOut) return resolveRun({ status: 'timeout', wallMs })
      const peak = /@@peak-rss-kb (\d+)\s*$/.exec(stderr)
      if (code !== 0 || !peak) return reject(new Error(`${command} ${args.join(' ')} failed (exit ${code}):\n${stderr.slice(-4000)}`))
      resolveRun({ status: 'ok', wallMs, peakRssMb: Number(peak[1]) / 1024, stdout })
    })
  })
}
