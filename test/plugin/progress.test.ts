import { mkdtempSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterEach, describe, expect, test, vi } from 'vitest'
import { transformCached } from '../../dist/plugin/transform.js'
import { compileC } from '../helpers/compile-c.js'

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
    expect(lines).toEqual(['slow.wasm: running Binaryen Asyncify...'])
    await running
    expect(lines[1]).toMatch(/^slow\.wasm: instrumented 1\/\d+ functions in \d+\.\d s \(\d+ -> \d+ bytes\); built for asyncify and jspi$/)
    vi.useRealTimers()

    lines.length = 0
    await transformCached(bytes, { imports: ['env.next'], filename: 'slow.wasm' }, cacheDir, log)
    expect(lines).toEqual([])
  })
})
