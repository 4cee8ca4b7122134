import { asyncifyWasm, type TransformResult } from 'unplugin-asyncify/transform'
import { asyncifyStats, instantiate } from 'unplugin-asyncify/runtime'
import { deliver } from './answers.js'
import type { FuzzCase } from './fuzz-case.js'
import { observe, type Observation } from './harness.js'
import type { ModuleSignatures } from './signatures.js'

/** Transforms the module as a user of the Node API would, with the case's async imports and optimize level. */
export function transform(wasm: Uint8Array, fuzzCase: FuzzCase): Promise<TransformResult> {
  const { imports, optimize, stackSize } = fuzzCase.transform
  return asyncifyWasm(wasm, { imports, optimize, stackSize, filename: `${fuzzCase.id}.wasm` })
}

/**
 * Runs the transformed module with the runtime's `instantiate`: async imports
 * answer the way the case's answer stream says (values, Promises, thenables,
 * rejections), and suspending exports are awaited.
 */
export function runAsyncified(transformed: Uint8Array, fuzzCase: FuzzCase, signatures: ModuleSignatures): Promise<Observation> {
  return observe(fuzzCase, signatures, {
    async instantiate(imports) {
      const { instance } = await instantiate(transformed, imports, { name: `${fuzzCase.id}.wasm` })
      return { exports: instance.exports, stats: () => asyncifyStats(instance) }
    },
    deliver,
  })
}
