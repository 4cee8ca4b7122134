import binaryen from 'binaryen'
import type { BuiltCase } from './build-case.js'
import { checkCase } from './check.js'
import type { Runner } from './sandbox.js'

/*
 * Shrinks a mismatching case while it still mismatches, within a time
 * budget: first the test (drop export calls, then async imports, one at a
 * time), then the module (drop the exports the remaining calls do not use and
 * what only they reached, then replace function bodies with `unreachable` one
 * at a time). Each candidate runs through the same sandbox as the campaign,
 * so a reduction step costs one warm transform and two runs.
 */

const FEATURES =
  binaryen.Features.MVP |
  binaryen.Features.SignExt |
  binaryen.Features.MutableGlobals |
  binaryen.Features.NontrappingFPToInt |
  binaryen.Features.SIMD128 |
  binaryen.Features.BulkMemory |
  // Binaryen aborts when bulk memory comes without this subset of it.
  binaryen.Features.BulkMemoryOpt |
  binaryen.Features.Multivalue

export async function reduceCase(sandbox: Runner, built: BuiltCase, budgetMs: number): Promise<BuiltCase> {
  const deadline = Date.now() + budgetMs
  const stillFails = async (candidate: BuiltCase) =>
    Date.now() < deadline && (await checkCase(sandbox, candidate.fuzzCase, candidate.wasm)).verdict.kind === 'mismatch'
  let best = built

  for (let i = best.fuzzCase.calls.length - 1; i >= 0 && best.fuzzCase.calls.length > 1; i--) {
    const candidate = { ...best, fuzzCase: { ...best.fuzzCase, calls: best.fuzzCase.calls.filter((_, j) => j !== i) } }
    if (await stillFails(candidate)) best = candidate
  }
  for (const name of best.fuzzCase.transform.imports) {
    const transform = { ...best.fuzzCase.transform, imports: best.fuzzCase.transform.imports.filter((entry) => entry !== name) }
    const candidate = { ...best, fuzzCase: { ...best.fuzzCase, transform } }
    if (await stillFails(candidate)) best = candidate
  }

  const keep = new Set([...best.fuzzCase.calls.map((call) => call.export), ...best.fuzzCase.init, best.fuzzCase.reset ?? ''])
  const pruned = rewrite(best.wasm, (module) => {
    for (let i = module.getNumExports() - 1; i >= 0; i--) {
      const info = binaryen.getExportInfo(module.getExportByIndex(i))
      if (info.kind === binaryen.ExternalFunction && !keep.has(info.name)) module.removeExport(info.name)
    }
    module.runPasses(['remove-unused-module-elements'])
  })
  if (pruned && (await stillFails({ ...best, wasm: pruned }))) best = { ...best, wasm: pruned }

  for (const name of definedFunctions(best.wasm)) {
    if (Date.now() >= deadline) break
    const stubbed = rewrite(best.wasm, (module) => setBody(module.getFunction(name), module.unreachable()))
    if (stubbed && (await stillFails({ ...best, wasm: stubbed }))) best = { ...best, wasm: stubbed }
  }
  return best
}

/** binaryen.js has `Function.setBody` on the namespace; its typings put it on Module instances. */
const setBody = (binaryen as unknown as { Function: { setBody(func: binaryen.FunctionRef, body: binaryen.ExpressionRef): void } }).Function.setBody

function definedFunctions(wasm: Uint8Array): string[] {
  const names: string[] = []
  rewrite(wasm, (module) => {
    for (let i = 0; i < module.getNumFunctions(); i++) {
      const info = binaryen.getFunctionInfo(module.getFunctionByIndex(i))
      if (!info.module) names.push(info.name)
    }
  })
  return names
}

/** The module after `edit`, with its names kept (the transform needs global names); null if it no longer validates. */
function rewrite(wasm: Uint8Array, edit: (module: binaryen.Module) => void): Uint8Array | null {
  let module: binaryen.Module
  try {
    module = binaryen.readBinary(wasm)
  } catch {
    return null
  }
  try {
    module.setFeatures(FEATURES)
    edit(module)
    if (!module.validate()) return null
    binaryen.setDebugInfo(true)
    return module.emitBinary()
  } catch {
    // Binaryen rejected the edit (or aborted): this candidate is not a reduction.
    return null
  } finally {
    binaryen.setDebugInfo(false)
    module.dispose()
  }
}
