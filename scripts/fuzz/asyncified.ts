import { asyncifyWasm, type AsyncifyEngine, type BuiltModule } from 'unplugin-asyncify/transform'
import { asyncifyStats, instantiate } from 'unplugin-asyncify/runtime'
import { deliver } from './answers.js'
import type { FuzzCase } from './fuzz-case.js'
import { observe, type Observation } from './harness.js'
import type { ModuleSignatures } from './signatures.js'

/**
 * The path under test: `--engine jspi` (main.ts) sets ASYNCIFY_FUZZ_ENGINE for
 * the sandbox workers, which must then run on an engine with JSPI (Node 26).
 */
export const fuzzEngine: 'asyncify' | 'jspi' = process.env.ASYNCIFY_FUZZ_ENGINE === 'jspi' ? 'jspi' : 'asyncify'

/** What builds the asyncified module (`--asyncify-engine`, main.ts); the transform's default unless set. */
const asyncifyEngine = process.env.ASYNCIFY_FUZZ_ASYNCIFY_ENGINE as AsyncifyEngine | undefined

/**
 * Transforms the module as a user of the Node API would, with the case's async
 * imports and optimize level, and returns the build for the path under test
 * and, for an asyncified one, the engine that built it.
 */
export async function transform(wasm: Uint8Array, fuzzCase: FuzzCase): Promise<BuiltModule & { builtBy: AsyncifyEngine | null }> {
  const { imports, optimize, stackSize } = fuzzCase.transform
  const filename = `${fuzzCase.id}.wasm`
  if (fuzzEngine === 'jspi') return { ...(await asyncifyWasm(wasm, { imports, optimize, stackSize, filename })).jspi!, builtBy: null }
  const result = await asyncifyWasm(wasm, { imports, optimize, stackSize, mode: 'asyncify', filename, engine: asyncifyEngine })
  return { wasm: result.wasm!, metadata: result.metadata!, builtBy: result.report.engine }
}

/**
 * Runs the transformed module with the runtime's `instantiate`: async imports
 * answer the way the case's answer stream says (values, Promises, thenables,
 * rejections), and suspending exports are awaited.
 */
export function runAsyncified(transformed: Uint8Array, fuzzCase: FuzzCase, signatures: ModuleSignatures): Promise<Observation> {
  return observe(fuzzCase, signatures, {
    async instantiate(imports) {
      const { instance } = await instantiate(transformed, imports, { name: `${fuzzCase.id}.wasm`, mode: fuzzEngine })
      return { exports: instance.exports, stats: () => asyncifyStats(instance) }
    },
    deliver,
  })
}
