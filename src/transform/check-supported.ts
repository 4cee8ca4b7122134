import { AsyncifyError } from '../runtime-shim/errors.js'
import type { ModuleFacts } from './analyse.js'
import type { BinaryenModule } from './binaryen.js'

/*
 * Constructs Asyncify cannot transform correctly. `call_ref` is never
 * instrumented, so a suspension beneath one resumes with wrong state and no
 * error; `try_table` aborts binaryen.js inside Flatten. Both are refused up
 * front with the function that holds them. (Tail calls and reference-typed
 * locals are reported by Asyncify itself as fatal errors.)
 */
const UNSUPPORTED: Record<string, string> = {
  CallRef: '`call_ref` (typed function references)',
  TryTable: '`try_table` (the new exception-handling proposal)',
}

export function checkSupported(
  module: BinaryenModule,
  facts: ModuleFacts,
  runtime: Set<string>,
  filename: string,
): void {
  for (const [fn, kinds] of facts.expressionKinds) {
    if (runtime.has(fn)) continue
    for (const kind of kinds) {
      const what = UNSUPPORTED[kind]
      if (what) {
        throw new AsyncifyError(
          'ASYNCIFY_UNSUPPORTED_FEATURE',
          `${filename}: function "${fn}" uses ${what}, which Asyncify cannot instrument; ` +
            `compile without that feature (for C++ exceptions use -fwasm-exceptions with legacy EH or ` +
            `-fno-exceptions), or list "${fn}" in asyncify({ runtime }) if it can never be on the stack during a suspension`,
        )
      }
    }
  }
  if (module.hasMemory()) {
    const memory = module.getMemoryInfo()
    if (memory.is64) {
      throw new AsyncifyError(
        'ASYNCIFY_UNSUPPORTED_FEATURE',
        `${filename}: the module uses a 64-bit memory (memory64), which the runtime does not drive yet; build for wasm32`,
      )
    }
    if (memory.shared) {
      throw new AsyncifyError(
        'ASYNCIFY_UNSUPPORTED_FEATURE',
        `${filename}: the module uses a shared memory (threads); Asyncify keeps one global state per instance ` +
          `and cannot suspend threads; build without -pthread / atomics`,
      )
    }
  }
}
