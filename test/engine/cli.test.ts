import { execFile } from 'node:child_process'
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { promisify } from 'node:util'
import { instantiate } from 'unplugin-asyncify/runtime'
import { describe, expect, it } from 'vitest'
import { compileC } from '../helpers/compile-c.js'
import { later } from '../helpers/engine.js'

const cli = join(import.meta.dirname, '../../dist/cli.js')
const run = (args: string[]) =>
  promisify(execFile)(process.execPath, [cli, ...args]).then(
    ({ stdout, stderr }) => ({ code: 0, stdout, stderr }),
    (error: { code: number; stdout: string; stderr: string }) => error,
  )

describe('wasm-asyncify CLI', () => {
  const dir = mkdtempSync(join(tmpdir(), 'wasm-asyncify-'))

  it('transforms a file that then runs with the runtime, and prints the report', async () => {
    const input = join(dir, 'loop.wasm')
    const output = join(dir, 'loop.async.wasm')
    writeFileSync(input, compileC('loop.c'))
    const result = await run([input, '-o', output, '--imports', 'env.next', '--optimize', 's', '--stack-size', '4096', '--report'])
    expect(result.code).toBe(0)
    expect(result.stdout).toMatch(/functions instrumented: 1 \/ \d+/)
    const { instance } = await instantiate(readFileSync(output), { env: { next: (i: number) => later(i) } })
    await expect((instance.exports.sum_steps as (n: number) => Promise<number>)(3)).resolves.toBe(0 * 961 + 31 + 2)
  })

  it('exits non-zero with one line naming the file on bad input', async () => {
    const input = join(dir, 'not.wasm')
    writeFileSync(input, '<html></html>')
    const result = await run([input, '-o', join(dir, 'out.wasm')])
    expect(result.code).not.toBe(0)
    expect(result.stderr.trim().split('\n')).toHaveLength(1)
    expect(result.stderr).toMatch(/not\.wasm: not a WebAssembly module/)
  })

  it('exits non-zero with one line on a bad flag or a missing file', async () => {
    for (const args of [['x.wasm'], ['--optimize', '9', 'x.wasm', '-o', 'y.wasm'], [join(dir, 'missing.wasm'), '-o', 'y.wasm']]) {
      const result = await run(args)
      expect(result.code).not.toBe(0)
      expect(result.stderr.trim().split('\n')).toHaveLength(1)
    }
  })
})
