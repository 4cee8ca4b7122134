import type { ModuleFacts } from './analyse.js'
import type { Binaryen, BinaryenModule } from './binaryen.js'

/*
 * Binaryen issue "Inlining breaks asyncify": Asyncify tells runtime code (which
 * drives the asyncify.* API) from instrumentable code by looking at direct
 * calls. If the optimizer inlines across that line before Asyncify runs,
 * instrumented code lands inside the runtime or the runtime's API calls land
 * in ordinary code, and the program resumes in the wrong place
 * (`wasm-opt -O2 --asyncify` prints 1 3 2 1 3 for 1 2 3). So no runtime
 * function may be inlined anywhere, and nothing may be inlined into one:
 * the functions a runtime function calls directly are marked no-inline too.
 */
export function markRuntimeNoInline(
  binaryen: Binaryen,
  module: BinaryenModule,
  facts: ModuleFacts,
  runtime: Set<string>,
): void {
  const marked = new Set(runtime)
  for (const fn of runtime) for (const callee of facts.calls.get(fn) ?? []) marked.add(callee)
  const defined = new Set(facts.functions)
  for (const name of marked) {
    if (!defined.has(name)) continue
    // The pass reads one pattern in which `*` and `?` are wildcards; a name
    // holding them marks a few more functions, which only costs speed.
    binaryen.setPassArgument('no-inline', name)
    module.runPasses(['no-inline'])
  }
  binaryen.setPassArgument('no-inline', null)
}
