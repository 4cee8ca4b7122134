import { isMatch } from 'matcher'
import type { FunctionImport, ModuleFacts } from './analyse.js'
import { declaredKey } from './declared-imports.js'
import type { ResolvedTransformOptions } from './options.js'
import { FIBER_IMPORTS, GUEST_API_MODULE } from '../runtime-shim/metadata.js'
import { ASYNCIFY_API, ASYNCIFY_API_MODULE } from './asyncify-api.js'

const RUNTIME_API: ReadonlySet<string> = new Set(ASYNCIFY_API)

export interface Selection {
  asyncImports: FunctionImport[]
  /** Functions that are runtime code: never instrumented, never inlined or inlined into. */
  runtime: Set<string>
  /** Runtime functions the user named (Binaryen detects the direct API callers by itself). */
  userRuntime: string[]
  warnings: string[]
}

const matches = (name: string, pattern: string): boolean => isMatch(name, pattern, { caseSensitive: true })

/**
 * Turns the option patterns into the concrete imports and functions of this
 * module. Without an `imports` option, the imports the module declares async
 * itself (`declared`, see declared-imports.ts) are the list; without either,
 * every import is.
 */
export function selectFunctions(facts: ModuleFacts, options: ResolvedTransformOptions, declared: Set<string> | null): Selection {
  const warnings: string[] = []
  // The runtime supplies GUEST_API_MODULE's imports: of those only the fiber switch suspends, and always.
  const candidates = facts.imports.filter((entry) => entry.module !== ASYNCIFY_API_MODULE && entry.module !== GUEST_API_MODULE)
  const switches = facts.imports.filter((entry) => entry.module === GUEST_API_MODULE && entry.base === FIBER_IMPORTS.switch)
  const key = (entry: FunctionImport) => `${entry.module}.${entry.base}`
  let asyncImports: FunctionImport[]
  if (options.imports === null && declared !== null) {
    asyncImports = candidates.filter((entry) => declared.has(declaredKey(entry.module, entry.base)))
  } else if (options.imports === null) {
    asyncImports = candidates
    if (candidates.length > 0) {
      const listed = candidates.map(key)
      warnings.push(
        `all ${candidates.length} function imports are treated as possibly async because no imports list was given, ` +
          `which instruments more code than needed; list only those that return Promises in imports ` +
          `(this module imports ${listed.slice(0, 8).join(', ')}${listed.length > 8 ? ', ...' : ''})`,
      )
    }
  } else {
    asyncImports = candidates.filter((entry) => options.imports!.some((pattern) => matches(key(entry), pattern)))
    for (const pattern of options.imports) {
      if (!candidates.some((entry) => matches(key(entry), pattern))) {
        const known = candidates.map(key).slice(0, 20).join(', ') || 'none'
        warnings.push(`import pattern "${pattern}" matches no function import (the module imports: ${known})`)
      }
    }
  }

  asyncImports = [...asyncImports, ...switches]

  const apiCallers = new Set<string>()
  const apiImports = new Set(
    facts.imports.filter((entry) => entry.module === ASYNCIFY_API_MODULE && RUNTIME_API.has(entry.base)).map((e) => e.name),
  )
  for (const [caller, callees] of facts.calls) {
    for (const callee of callees) if (apiImports.has(callee)) apiCallers.add(caller)
  }
  const userRuntime = facts.functions.filter((name) => options.runtime.some((pattern) => matches(name, pattern)))
  for (const pattern of options.runtime) {
    if (!facts.functions.some((name) => matches(name, pattern))) {
      warnings.push(`runtime pattern "${pattern}" matches no function (names come from the name section)`)
    }
  }
  return {
    asyncImports,
    runtime: new Set([...apiCallers, ...userRuntime]),
    userRuntime,
    warnings,
  }
}
