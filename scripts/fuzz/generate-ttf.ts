import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { exposeState } from './expose-state.js'
import { runNative } from './native.js'
import type { Random } from './random.js'

/**
 * Features a translate-to-fuzz module may use: what Asyncify instruments and
 * Node 20 runs. Exception handling, reference types, GC, tail calls,
 * multi-memory, memory64, threads and extended-const stay off (wasm-opt 108
 * enables nothing it is not asked for).
 */
const OPTIONAL_FEATURES = ['sign-ext', 'nontrapping-float-to-int', 'bulk-memory', 'multivalue', 'simd'] as const

/**
 * A random module from Binaryen's translate-to-fuzz (Debian's wasm-opt 108),
 * whose choices are steered by random bytes. ttf modules import
 * `fuzzing-support.log-*` (and sometimes `call-export`, `call-export-catch`,
 * `sleep`), and bound every loop and call chain with a hang-limit global
 * that their `hangLimitInitializer` export resets.
 */
export async function generateTtf(random: Random): Promise<Uint8Array> {
  const size = Math.round(2 ** (8 + random.int(1000) / 200))
  const input = random.bytes(size)
  const features = ['mutable-globals', ...OPTIONAL_FEATURES.filter(() => random.chance(0.6))]
  const dir = await mkdtemp(join(tmpdir(), 'fuzz-ttf-'))
  try {
    await writeFile(join(dir, 'input.dat'), input)
    const flags = features.map((feature) => `--enable-${feature}`)
    await runNative('wasm-opt', [join(dir, 'input.dat'), '-ttf', ...flags, '-g', '-o', join(dir, 'module.wasm')])
    return exposeState(new Uint8Array(await readFile(join(dir, 'module.wasm'))))
  } finally {
    await rm(dir, { recursive: true, force: true })
  }
}
