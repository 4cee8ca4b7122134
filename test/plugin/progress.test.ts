import { mkdtempSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterEach, describe, expect, test, vi } from 'vitest'
import { transformCached } from '../../dist/plugin/transform.js'
import { compileC } from '../helpers/compile-c.js'
import { wat } from '../helpers/wat.js'

afterEach(() => {
  vi.useRealTimers()
})

describe('transform progress in the bundler log', () => {
  test('a transform that outlasts a second is announced, then summarised; a cache hit says nothing', async () => {
    const bytes = compileC('loop.c')
    const cacheDir = mkdtempSync(join(tmpdir(), 'asyncify-progress-'))
    const lines: string[] = []
    const log = (line: string) => void lines.push(line)
    // Fake timers stand in for a slow Binaryen run: the second passes at once,
    // while the real transform is still in its worker.
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout'] })
    let done = false
    const running = transformCached(bytes, { imports: ['env.next'], filename: 'slow.wasm' }, cacheDir, log).finally(
      () => (done = true),
    )
    // The timer starts after the cache lookup (real file I/O), so poll until it exists.
    while (lines.length === 0 && !done) {
      await new Promise((resolve) => setImmediate(resolve))
      vi.advanceTimersByTime(1000)
    }
    expect(lines).toEqual(['slow.wasm: running Asyncify...'])
    await running
    expect(lines[1]).toMatch(/^slow\.wasm: instrumented 1\/\d+ functions in \d+\.\d s \(\d+ -> \d+ bytes\); built for asyncify and jspi$/)
    vi.useRealTimers()

    lines.length = 0
    await transformCached(bytes, { imports: ['env.next'], filename: 'slow.wasm' }, cacheDir, log)
    expect(lines).toEqual([])
  })

  test('an asyncified build much larger than its input is explained: the functions that added most, and why', async () => {
    // Functions that each hold values across a call that may suspend, all reached from run: 300 of them, so that the
    // build grows by more than the 16 KiB below which nothing is explained. The values start from a load, so that a
    // rewind cannot compute them again from the argument: they are saved.
    const count = 300
    const helpers = Array.from({ length: count }, (_, i) => `
      (func $step${i} (param $x i32) (result i32) (local $a i32) (local $b i32) (local $c i32) (local $d i32) (local $e i32)
        (local.set $a (i32.mul (i32.add (i32.load (i32.const 0)) (local.get $x)) (i32.const ${i + 3})))
        (local.set $b (i32.add (local.get $a) (i32.const 7)))
        (local.set $d (i32.xor (local.get $b) (i32.const 11)))
        (local.set $e (i32.shl (local.get $d) (i32.const 2)))
        (local.set $c (call $wait (local.get $b)))
        (i32.add (i32.add (i32.add (local.get $a) (local.get $b)) (i32.add (local.get $d) (local.get $e))) (local.get $c)))`)
    const calls = Array.from({ length: count }, (_, i) => `(local.set $sum (i32.add (local.get $sum) (call $step${i} (local.get $sum))))`)
    const bytes = wat(`(module
      (import "env" "wait" (func $wait (param i32) (result i32)))
      (memory (export "memory") 1)
      ${helpers.join('\n')}
      (func (export "run") (param $sum i32) (result i32) ${calls.join(' ')} (local.get $sum)))`)
    const lines: string[] = []
    const cacheDir = mkdtempSync(join(tmpdir(), 'asyncify-growth-'))
    await transformCached(bytes, { imports: ['env.wait'], filename: 'big.wasm' }, cacheDir, (line: string) => void lines.push(line))
    const explained = lines.find((line) => line.startsWith('big.wasm: the asyncified build is'))
    expect(explained).toBeDefined()
    const shown = explained!.split('\n').slice(1, -1)
    expect(shown).toHaveLength(5)
    // run has no name of its own, so it goes by its index, 300; calling all 300 steps, it added most.
    expect(shown[0]).toMatch(new RegExp(`^\\s*\\+[\\d,]+ bytes {2}${count} -> step\\d+ -> env\\.wait$`))
    for (const line of shown.slice(1)) expect(line).toMatch(/^\s*\+[\d,]+ bytes {2}step\d+ -> env\.wait$/)
    expect(explained).toMatch(new RegExp(`all ${count + 1} in report\\.why`))
    expect(explained).not.toContain('optimize 3')
    // At level 3 (what the plugin gives a server bundle unasked) the message says where the extra size comes from.
    const speedLines: string[] = []
    await transformCached(bytes, { imports: ['env.wait'], optimize: 3, filename: 'big.wasm' }, cacheDir, (line: string) => void speedLines.push(line))
    const speedExplained = speedLines.find((line) => line.startsWith('big.wasm: the asyncified build is'))
    expect(speedExplained?.split('\n').at(-1)).toMatch(/^ {2}\(at optimize 3, speed over size, .* optimize 2 makes the smaller build\)$/)
    // A cache hit explains nothing again.
    lines.length = 0
    await transformCached(bytes, { imports: ['env.wait'], filename: 'big.wasm' }, cacheDir, (line: string) => void lines.push(line))
    expect(lines).toEqual([])
  })
})
