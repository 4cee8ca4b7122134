import { settleNow } from './answers.js'
import type { FuzzCase } from './fuzz-case.js'
import { observe, type Observation } from './harness.js'
import type { ModuleSignatures } from './signatures.js'

/**
 * Runs the untouched module with synchronous imports: the behaviour the
 * asyncified module must reproduce, give or take what the runtime documents
 * doing differently, which the reference does too:
 *   - `reservedPages` are the pages the runtime grew for itself while
 *     instantiating the asyncified module; the reference grows as many right
 *     after instantiation, so the program sees the same `memory.size`;
 *   - when one of the `suspendingExports` (which the runtime wraps) returns
 *     or throws, the C stack pointer goes back to its value at entry.
 */
export function runReference(
  wasm: Uint8Array,
  fuzzCase: FuzzCase,
  signatures: ModuleSignatures,
  reservedPages: number,
  suspendingExports: string[],
): Promise<Observation> {
  return observe(fuzzCase, signatures, {
    resetStackOnExit: new Set(suspendingExports),
    async instantiate(imports) {
      const instance = await WebAssembly.instantiate(await WebAssembly.compile(wasm as BufferSource), imports)
      const memory = signatures.memoryExport ? (instance.exports[signatures.memoryExport] as WebAssembly.Memory) : null
      if (memory && reservedPages > 0) memory.grow(reservedPages)
      return { exports: instance.exports as Record<string, unknown>, stats: () => null }
    },
    deliver: settleNow,
  })
}
