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
const run = (args: string[], nodeArgs: string[] = []) =>
  promisify(execFile)(process.execPath, [...nodeArgs, cli, ...args]).then(
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

  it('an -o path that cannot be written gives one line naming it and the reason, and exit code 1', async () => {
    const input = join(dir, 'loop-for-output.wasm')
    writeFileSync(input, compileC('loop.c'))
    writeFileSync(join(dir, 'a-file'), '')
    for (const [output, reason] of [
      [join(dir, 'no/such/dir/out.wasm'), /\(ENOENT: its directory does not exist: create it first\)$/],
      [join(dir, 'a-file/out.wasm'), /\(ENOTDIR: a parent of it is a file/],
      [dir, /\(EISDIR: it is a directory: give -o a file name\)$/],
      // sysfs refuses new files even to root, for whom a chmod'ed directory would be writable.
      ['/sys/wasm-asyncify-out.wasm', /\(EACCES: choose a location you can write to\)$/],
    ] as const) {
      const result = await run([input, '-o', output, '--imports', 'env.next', '--optimize', '0'])
      expect(result.code).toBe(1)
      const lines = result.stderr.trim().split('\n')
      expect(lines).toHaveLength(1)
      expect(lines[0]).toMatch(new RegExp(`^wasm-asyncify: ${output.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&')}: cannot write the output `))
      expect(lines[0]).toMatch(reason)
    }
  })

  it('an unexpected failure (here: no thread can start) gives one line, not a stack trace', async () => {
    const input = join(dir, 'loop-for-crash.wasm')
    writeFileSync(input, compileC('loop.c'))
    const noThreads = `data:text/javascript,${encodeURIComponent(
      `import threads from 'node:worker_threads'; import { syncBuiltinESMExports } from 'node:module';
       threads.Worker = class { constructor() { throw new Error('ERR_WORKER_INIT_FAILED: out of resources') } };
       syncBuiltinESMExports()`,
    )}`
    const result = await run([input, '-o', join(dir, 'crash.wasm')], ['--import', noThreads])
    expect(result.code).toBe(1)
    expect(result.stderr.trim().split('\n')).toEqual([
      'wasm-asyncify: internal error: ERR_WORKER_INIT_FAILED: out of resources; this is a bug in unplugin-asyncify, please report it',
    ])
  })

  it('--features limits what the output may use; an unknown name is refused in one line', async () => {
    const input = join(dir, 'loop-features.wasm')
    writeFileSync(input, compileC('loop.c'))
    const ok = await run([input, '-o', join(dir, 'loop-features.async.wasm'), '--imports', 'env.next', '--features', 'sign-ext,bulk-memory'])
    expect(ok.code).toBe(0)
    const bad = await run([input, '-o', join(dir, 'never.wasm'), '--features', 'sign-ext,simd'])
    expect(bad.code).toBe(1)
    expect(bad.stderr.trim().split('\n')).toEqual([expect.stringMatching(/^wasm-asyncify: .*loop-features\.wasm: features: unknown feature "simd"; known: /)])
  })

  it('exits non-zero with one line on a bad flag or a missing file', async () => {
    for (const args of [['x.wasm'], ['--optimize', '9', 'x.wasm', '-o', 'y.wasm'], [join(dir, 'missing.wasm'), '-o', 'y.wasm']]) {
      const result = await run(args)
      expect(result.code).not.toBe(0)
      expect(result.stderr.trim().split('\n')).toHaveLength(1)
    }
  })
})
