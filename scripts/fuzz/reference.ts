import { settleNow } from './answers.js'
import type { FuzzCase } from './fuzz-case.js'
import { observe, type Observation } from './harness.js'
import type { ModuleSignatures } from './signatures.js'

const PAGE = 65536

/**
 * Runs the untouched module with synchronous imports: the behaviour the
 * asyncified module must reproduce, give or take what the runtime documents
 * doing differently, which the reference does too:
 *   - `reservedPages` are the pages the runtime grew for itself while
 *     instantiating the asyncified module; the reference grows as many right
 *     after instantiation, so the program sees the same `memory.size`;
 *   - when one of the `suspendingExports` (which the runtime wraps) returns
 *     or throws, the C stack pointer goes back to its value at entry.
 * `reservedFill` fills those pages with a byte other than 0, to learn
 * whether the program reads them (the runtime keeps its own data there).
 */
export function runReference(
  wasm: Uint8Array,
  fuzzCase: FuzzCase,
  signatures: ModuleSignatures,
  reservedPages: number,
  suspendingExports: string[],
  reservedFill = 0,
): Promise<Observation> {
  return observe(fuzzCase, signatures, {
    resetStackOnExit: new Set(suspendingExports),
    async instantiate(imports) {
      const instance = await WebAssembly.instantiate(await WebAssembly.compile(wasm as BufferSource), imports)
      const memory = signatures.memoryExport ? (instance.exports[signatures.memoryExport] as WebAssembly.Memory) : null
      if (memory && reservedPages > 0) {
        const declared = memory.grow(reservedPages) * PAGE
        if (reservedFill !== 0) new Uint8Array(memory.buffer, declared).fill(reservedFill)
      }
      return { exports: instance.exports as Record<string, unknown>, stats: () => null }
    },
    deliver: settleNow,
  })
}
