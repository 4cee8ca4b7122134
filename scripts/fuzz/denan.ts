import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { runNative } from './native.js'

/**
 * The module with every float result that is a NaN replaced by 0 (Binaryen's
 * `--denan`, which Binaryen's own fuzzer uses to compare across engines). A
 * NaN's sign and payload are nondeterministic in wasm and can escape into
 * ordinary values (`copysign` with a NaN, a reinterpretation, a branch on its
 * bits), where they no longer look like NaNs; a difference that disappears
 * without NaNs came from their bit patterns.
 */
export async function withoutNaNs(wasm: Uint8Array): Promise<Uint8Array> {
  const dir = await mkdtemp(join(tmpdir(), 'fuzz-denan-'))
  try {
    await writeFile(join(dir, 'in.wasm'), wasm)
    await runNative('wasm-opt', [join(dir, 'in.wasm'), '-all', '--denan', '-g', '-o', join(dir, 'out.wasm')])
    return new Uint8Array(await readFile(join(dir, 'out.wasm')))
  } finally {
    await rm(dir, { recursive: true, force: true })
  }
}
