import { execFile } from 'node:child_process'
import { copyFileSync, existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { promisify } from 'node:util'
import { asyncifyStats, instantiate } from 'unplugin-asyncify/runtime'
import { describe, expect, it } from 'vitest'
import { compileC } from '../helpers/compile-c.js'
import { later } from '../helpers/engine.js'
import { reencoded, stripNames } from '../helpers/strip-names.js'

const cli = join(import.meta.dirname, '../../dist/cli.js')
const run = (args: string[], nodeArgs: string[] = []) =>
  promisify(execFile)(process.execPath, [...nodeArgs, cli, ...args]).then(
    ({ stdout, stderr }) => ({ code: 0, stdout, stderr }),
    (error: { code: number; stdout: string; stderr: string }) => error,
  )

const escape = (text: string) => text.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&')

/** Which build a `.wasm` file is, from its metadata section. */
function buildOf(bytes: Uint8Array): string {
  const [section] = WebAssembly.Module.customSections(new WebAssembly.Module(bytes as Uint8Array<ArrayBuffer>), 'unplugin-asyncify')
  return (JSON.parse(new TextDecoder().decode(section)) as { engine: string }).engine
}

describe('wasm-asyncify CLI', () => {
  const dir = mkdtempSync(join(tmpdir(), 'wasm-asyncify-'))

  it('transforms a file that then runs with the runtime, and prints the report', async () => {
    const input = join(dir, 'loop.wasm')
    const output = join(dir, 'loop.async.wasm')
    writeFileSync(input, compileC('loop.c'))
    const result = await run([input, '-o', output, '--imports', 'env.next', '--optimize', 's', '--stack-size', '4096', '--report'])
    expect(result.code).toBe(0)
    expect(result.stdout).toMatch(/functions instrumented: 1 \/ \d+/)
    expect(result.stdout).toMatch(/builds: asyncify, jspi/)
    const { instance } = await instantiate(readFileSync(output), { env: { next: (i: number) => later(i) } })
    await expect((instance.exports.sum_steps as (n: number) => Promise<number>)(3)).resolves.toBe(0 * 961 + 31 + 2)
  })

  it('--explain prints each instrumented function with its chain down to the async import and the bytes it added', async () => {
    const input = join(dir, 'sort-explain.wasm')
    writeFileSync(input, compileC('sort.c'))
    const result = await run([input, '-o', join(dir, 'sort-explain.out.wasm'), '--imports', 'env.compare', '--explain'])
    expect(result.code).toBe(0)
    const lines = result.stdout.split('\n')
    const header = lines.findIndex((line) => /sort-explain\.wasm: \d+ functions instrumented, by bytes added$/.test(line))
    expect(header).toBeGreaterThanOrEqual(0)
    const count = Number(/: (\d+) functions/.exec(lines[header]!)![1])
    const entries = lines.slice(header + 1, header + 1 + count)
    for (const line of entries) expect(line).toMatch(/^\s*\+[\d,]+ bytes {2}\S.* -> env\.compare$/)
    // qsort reaches the comparator through a function pointer.
    expect(entries.some((line) => /qsort.* -> call_indirect \(i32 i32 -> i32\) -> /.test(line))).toBe(true)
  })

  it('--explain gives the same bytes added for a module stripped of names, whose functions go by index', async () => {
    const explain = async (name: string, bytes: Uint8Array) => {
      const input = join(dir, name)
      writeFileSync(input, bytes)
      const result = await run([input, '-o', join(dir, `out-${name}`), '--mode', 'asyncify', '--imports', 'env.compare', '--explain'])
      expect(result.code).toBe(0)
      const lines = result.stdout.split('\n').filter((line) => line.endsWith(' -> env.compare'))
      for (const line of lines) expect(line).toMatch(/^\s*\+[\d,]+ bytes {2}\S/)
      return lines.map((line) => line.trim().split(' ')[0]).sort()
    }
    // Both inputs as Binaryen writes them, so that only the name section differs.
    const named = await explain('sort-named.wasm', reencoded(compileC('sort.c'), true))
    expect(named.length).toBeGreaterThan(2)
    expect(await explain('sort-stripped.wasm', stripNames(compileC('sort.c')))).toEqual(named)
  })

  it('in mode auto (the default) writes the asyncified module to -o and the JSPI module beside it, and says so', async () => {
    const input = join(dir, 'loop-auto.wasm')
    writeFileSync(input, compileC('loop.c'))
    const output = join(dir, 'loop-auto.out.wasm')
    const jspiOutput = join(dir, 'loop-auto.out.jspi.wasm')
    const result = await run([input, '-o', output, '--imports', 'env.next'])
    expect(result.code).toBe(0)
    expect(result.stdout).toMatch(new RegExp(`^wrote ${escape(output)} \\(asyncify build, \\d+ bytes\\)\nwrote ${escape(jspiOutput)} \\(jspi build, \\d+ bytes\\)\n$`))
    expect([buildOf(readFileSync(output)), buildOf(readFileSync(jspiOutput))]).toEqual(['asyncify', 'jspi'])
    // This Node has no JSPI, so given both builds the runtime takes the asyncified one.
    const { instance } = await instantiate(
      { jspi: () => readFileSync(jspiOutput), asyncify: () => readFileSync(output) },
      { env: { next: (i: number) => later(i) } },
    )
    expect(asyncifyStats(instance).mode).toBe('asyncify')
    await expect((instance.exports.sum_steps as (n: number) => Promise<number>)(3)).resolves.toBe(0 * 961 + 31 + 2)
  })

  it('--mode asyncify and --mode jspi write their one build to -o itself', async () => {
    const input = join(dir, 'loop-one.wasm')
    writeFileSync(input, compileC('loop.c'))
    for (const mode of ['asyncify', 'jspi'] as const) {
      const output = join(dir, `loop-one-${mode}.wasm`)
      const result = await run([input, '-o', output, '--imports', 'env.next', '--mode', mode])
      expect(result.code).toBe(0)
      expect(result.stdout).toMatch(new RegExp(`^wrote ${escape(output)} \\(${mode} build, \\d+ bytes\\)\n$`))
      expect(buildOf(readFileSync(output))).toBe(mode)
      expect(existsSync(join(dir, `loop-one-${mode}.jspi.wasm`))).toBe(false)
    }
  })

  it('in mode auto, a module Asyncify cannot transform gets only its .jspi.wasm, with a warning that says why', async () => {
    const input = join(dir, 'shared-memory.wasm')
    copyFileSync(join(import.meta.dirname, '../fixtures/plugin/shared-memory.wasm'), input)
    const output = join(dir, 'shared-memory.out.wasm')
    const result = await run([input, '-o', output])
    expect(result.code).toBe(0)
    expect(existsSync(output)).toBe(false)
    expect(buildOf(readFileSync(join(dir, 'shared-memory.out.jspi.wasm')))).toBe('jspi')
    expect(result.stdout).toMatch(/^wrote .*shared-memory\.out\.jspi\.wasm \(jspi build, \d+ bytes\)\n$/)
    expect(result.stderr.trim().split('\n')).toEqual([
      `wasm-asyncify: warning: ${input}: Asyncify cannot transform this module, so ${output} was not written and ` +
        `engines without JSPI cannot run it: the module uses a shared memory (threads); Asyncify keeps one global state ` +
        `per instance and cannot suspend threads; build without -pthread / atomics`,
    ])
    // Asked for Asyncify only, the same module is an error.
    const refused = await run([input, '-o', output, '--mode', 'asyncify'])
    expect(refused.code).toBe(1)
    expect(refused.stderr).toMatch(/shared-memory\.wasm: the module uses a shared memory/)
  })

  it('--debug embeds a source map in each build, and only with it', async () => {
    const input = join(dir, 'trap.wasm')
    writeFileSync(input, compileC('trap.c', ['-g']))
    const mapped = (path: string) => WebAssembly.Module.customSections(new WebAssembly.Module(readFileSync(path)), 'sourceMappingURL').length
    const debug = await run([input, '-o', join(dir, 'trap.debug.wasm'), '--imports', 'env.fetch_value', '--debug'])
    expect(debug.code).toBe(0)
    expect(debug.stderr).toBe('')
    expect([mapped(join(dir, 'trap.debug.wasm')), mapped(join(dir, 'trap.debug.jspi.wasm'))]).toEqual([1, 1])
    const plain = await run([input, '-o', join(dir, 'trap.plain.wasm'), '--imports', 'env.fetch_value'])
    expect(plain.code).toBe(0)
    expect([mapped(join(dir, 'trap.plain.wasm')), mapped(join(dir, 'trap.plain.jspi.wasm'))]).toEqual([0, 0])
  })

  it('--engine chooses what builds the asyncified module; the report says which did, and a build by each runs', async () => {
    const input = join(dir, 'loop-engine.wasm')
    writeFileSync(input, compileC('loop.c'))
    for (const engine of ['direct', 'binaryen']) {
      const output = join(dir, `loop-${engine}.wasm`)
      const result = await run([input, '-o', output, '--imports', 'env.next', '--mode', 'asyncify', '--engine', engine, '--report'])
      expect(result.code).toBe(0)
      expect(result.stdout).toMatch(new RegExp(`^  asyncify engine: ${engine}$`, 'm'))
      const { instance } = await instantiate(readFileSync(output), { env: { next: (i: number) => later(i) } })
      await expect((instance.exports.sum_steps as (n: number) => Promise<number>)(3)).resolves.toBe(31 + 2)
    }
    const bad = await run([input, '-o', join(dir, 'never.wasm'), '--engine', 'wasm-opt'])
    expect(bad.code).toBe(1)
    expect(bad.stderr.trim().split('\n')).toEqual(['wasm-asyncify: --engine takes direct or binaryen; got "wasm-opt"'])
  })

  it('refuses an unknown --mode in one line naming the choices, before reading the input', async () => {
    const result = await run([join(dir, 'missing.wasm'), '-o', join(dir, 'never.wasm'), '--mode', 'both'])
    expect(result.code).toBe(1)
    expect(result.stderr).toBe('wasm-asyncify: --mode takes auto, asyncify or jspi; got "both"\n')
  })

  it('--help describes --mode and the files each mode writes', async () => {
    const result = await run(['--help'])
    expect(result.code).toBe(0)
    expect(result.stdout).toContain('--mode auto|asyncify|jspi')
    expect(result.stdout).toMatch(/--mode auto .*out\.wasm.*\n.*out\.jspi\.wasm/)
  })

  it('--help gives every flag a description, its default and an example', async () => {
    const { stdout } = await run(['--help'])
    const flags = ['-o, --output', '--mode', '--imports', '--runtime', '--optimize', '--preoptimize', '--stack-size', '--features', '--debug', '--report', '--explain', '-h, --help', '--version']
    for (const flag of flags) {
      const name = flag.split(' ').at(-1)!
      expect(stdout).toMatch(new RegExp(`\\n  ${escape(flag)}\\b.*\\n {6}\\S.*\\n {6}default: .+; e\\.g\\. ${escape(name === '--output' ? '-o' : name)}\\b`))
    }
    expect(stdout).toContain("default: 65536 (64k); e.g. --stack-size 128k")
    // Globs are quoted, so zsh and bash pass them through rather than expanding them.
    expect(stdout).toContain("--imports 'env.sleep,env.read_*'")
  })

  it('--version prints the version in package.json', async () => {
    const { version } = JSON.parse(readFileSync(join(import.meta.dirname, '../../package.json'), 'utf8')) as { version: string }
    expect(await run(['--version'])).toMatchObject({ code: 0, stdout: `${version}\n` })
  })

  it('--stack-size takes bytes or KiB with a k suffix, and refuses anything else naming what it got', async () => {
    const input = join(dir, 'loop-stack.wasm')
    writeFileSync(input, compileC('loop.c'))
    const output = join(dir, 'loop-stack.out.wasm')
    for (const [value, bytes] of [['12k', 12288], ['4096', 4096]] as const) {
      expect((await run([input, '-o', output, '--imports', 'env.next', '--mode', 'asyncify', '--stack-size', value])).code).toBe(0)
      const [section] = WebAssembly.Module.customSections(new WebAssembly.Module(readFileSync(output)), 'unplugin-asyncify')
      expect((JSON.parse(new TextDecoder().decode(section)) as { stackSize: number }).stackSize).toBe(bytes)
    }
    for (const value of ['12kb', '1.5k', '0x100', '1e4', '', ' 64']) {
      const result = await run([input, '-o', output, `--stack-size=${value}`])
      expect(result).toMatchObject({ code: 1, stdout: '' })
      expect(result.stderr).toBe(`wasm-asyncify: --stack-size takes a whole number of bytes, or of KiB with a k suffix (65536, 64k); got "${value}"\n`)
    }
  })

  it('an empty --imports is refused, saying how to make every import async', async () => {
    for (const value of ['', ' , ']) {
      const result = await run([join(dir, 'missing.wasm'), '-o', join(dir, 'never.wasm'), `--imports=${value}`])
      expect(result.code).toBe(1)
      expect(result.stderr).toBe(
        `wasm-asyncify: --imports takes at least one "module.name" pattern, e.g. --imports 'env.sleep'; got "${value}" ` +
          `(leave --imports out to make every function import async)\n`,
      )
    }
  })

  it('prints warnings before writing, so they show even when the write fails', async () => {
    const input = join(dir, 'loop-warn.wasm')
    writeFileSync(input, compileC('loop.c'))
    // No --imports: the transform warns that every function import is treated as async.
    const result = await run([input, '-o', join(dir, 'no/such/dir/out.wasm')])
    expect(result.code).toBe(1)
    expect(result.stderr.trim().split('\n')).toEqual([
      expect.stringMatching(/^wasm-asyncify: warning: .*loop-warn\.wasm: all 1 function imports are treated as possibly async/),
      expect.stringMatching(/^wasm-asyncify: .*out\.wasm: cannot write the output \(ENOENT/),
    ])
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
      expect(lines[0]).toMatch(new RegExp(`^wasm-asyncify: ${escape(output)}: cannot write the output `))
      expect(lines[0]).toMatch(reason)
    }
  })

  const noThreads = `data:text/javascript,${encodeURIComponent(
    `import threads from 'node:worker_threads'; import { syncBuiltinESMExports } from 'node:module';
     threads.Worker = class { constructor() { throw new Error('ERR_WORKER_INIT_FAILED: out of resources') } };
     syncBuiltinESMExports()`,
  )}`

  it('an unexpected failure (here: no thread can start) gives one line, not a stack trace', async () => {
    const input = join(dir, 'loop-for-crash.wasm')
    writeFileSync(input, compileC('loop.c'))
    // Binaryen runs in a worker thread; a small module the direct engine builds would need none.
    const result = await run([input, '-o', join(dir, 'crash.wasm'), '--engine', 'binaryen'], ['--import', noThreads])
    expect(result.code).toBe(1)
    expect(result.stderr.trim().split('\n')).toEqual([
      'wasm-asyncify: internal error: ERR_WORKER_INIT_FAILED: out of resources; this is a bug in unplugin-asyncify, please report it',
    ])
  })

  it('a small module the direct engine builds is built in the calling thread, without a worker, in mode asyncify and in mode jspi', async () => {
    const input = join(dir, 'loop-in-thread.wasm')
    writeFileSync(input, compileC('loop.c'))
    const output = join(dir, 'loop-in-thread.async.wasm')
    const result = await run([input, '-o', output, '--imports', 'env.next', '--mode', 'asyncify'], ['--import', noThreads])
    expect(result.stderr).toBe('')
    expect(result.code).toBe(0)
    expect(result.stdout).toMatch(/^wrote .*loop-in-thread\.async\.wasm \(asyncify build, \d+ bytes\)/)
    expect(WebAssembly.validate(readFileSync(output))).toBe(true)
    // The JSPI build alone is read from the bytes too.
    const jspiOutput = join(dir, 'loop-in-thread.jspi.wasm')
    const jspi = await run([input, '-o', jspiOutput, '--imports', 'env.next', '--mode', 'jspi'], ['--import', noThreads])
    expect(jspi.stderr).toBe('')
    expect(jspi.code).toBe(0)
    expect(jspi.stdout).toMatch(/^wrote .*loop-in-thread\.jspi\.wasm \(jspi build, \d+ bytes\)/)
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
