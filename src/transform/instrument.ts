import { AsyncifyError } from '../runtime-shim/errors.js'
import type { FunctionImport } from './analyse.js'
import { BinaryenFailure, printedText, withOutput } from './binaryen-output.js'
import { binaryenMessage, type Binaryen, type BinaryenModule } from './binaryen.js'

export interface Instrumentation {
  /** Defined functions Asyncify found able to change the state (before removing runtime code). */
  canSuspend: Set<string>
}

/** What Asyncify refuses in a function it instruments; its fatal error does not say which function. */
export type AsyncifyLimit = 'tail call' | 'reference-typed local'

/**
 * Runs Binaryen's Asyncify pass and reads its decisions back from its verbose
 * log. With `onlyList` (our call graph's decision, see call-graph.ts) exactly
 * those functions are instrumented; without it Asyncify decides, minus
 * `userRuntime`. `culprits` names the functions that can suspend and hit a
 * limit, for the error (the pass aborts without naming them). `memory` is the
 * export name of memory 0, where the runtime keeps Asyncify's data; Asyncify
 * must be told it when the module has several memories.
 */
export function instrument(
  binaryen: Binaryen,
  module: BinaryenModule,
  asyncImports: FunctionImport[],
  lists: { onlyList: string[] } | { userRuntime: string[] },
  filename: string,
  culprits: (limit: AsyncifyLimit) => string[],
  memory: string | null = null,
): Instrumentation {
  const onlyList = 'onlyList' in lists ? lists.onlyList : null
  if (onlyList?.length === 0) {
    // An empty only-list means no list to Asyncify: say instead that nothing can suspend.
    binaryen.setPassArgument('asyncify-ignore-imports', '1')
    binaryen.setPassArgument('asyncify-ignore-indirect', '1')
  } else if (asyncImports.length > 0) {
    binaryen.setPassArgument('asyncify-imports', asyncImports.map((entry) => `${entry.module}.${entry.base}`).join(','))
  } else {
    binaryen.setPassArgument('asyncify-ignore-imports', '1')
  }
  if (onlyList !== null && onlyList.length > 0) binaryen.setPassArgument('asyncify-onlylist', onlyList.join(','))
  if ('userRuntime' in lists && lists.userRuntime.length > 0) binaryen.setPassArgument('asyncify-removelist', lists.userRuntime.join(','))
  if (memory !== null) binaryen.setPassArgument('asyncify-memory', memory)
  binaryen.setPassArgument('asyncify-verbose', '1')
  let output: string[]
  try {
    output = withOutput(() => module.runPasses(['asyncify'])).output
  } catch (error) {
    const original = error instanceof BinaryenFailure ? error.original : error
    // The verbose decisions are our own log; anything else printed before the failure explains it.
    const printed = error instanceof BinaryenFailure ? printedText(error.output.filter((line) => !line.startsWith('[asyncify] '))) : ''
    const reason = binaryenMessage(binaryen, original)
    const limit: AsyncifyLimit | null = /tail call/i.test(reason) ? 'tail call' : /non-number types/i.test(reason) ? 'reference-typed local' : null
    const named = limit === null ? [] : culprits(limit)
    const where = named.length === 0 ? '' : ` in function ${quoteList(named)}`
    throw new AsyncifyError(
      'ASYNCIFY_UNSUPPORTED_FEATURE',
      `${filename}: Binaryen's Asyncify pass cannot transform this module${where}: ${reason}` +
        `${printed ? ` (${printed})` : ''}; ` +
        (named.length === 0
          ? `compile without that feature (for example -mno-tail-call, no reference-typed locals), ` +
            `or list the function in asyncify({ runtime }) if it never suspends`
          : `compile without ${limit === 'tail call' ? 'tail calls (-mno-tail-call)' : 'reference-typed locals there'}, ` +
            `or list ${quoteList(named)} in asyncify({ runtime }) if it never suspends; engines with JSPI run it as it is (mode "auto")`),
      { cause: error },
    )
  }
  const canSuspend = new Set<string>()
  for (const line of output) {
    const match =
      onlyList === null ? /^\[asyncify\] (.+) can change the state due to /.exec(line) : /^\[asyncify\] (.+)'s state is set based on the only-list to 1$/.exec(line)
    if (match) canSuspend.add(match[1] as string)
  }
  if (onlyList !== null && (canSuspend.size !== onlyList.length || onlyList.some((name) => !canSuspend.has(name)))) {
    // Asyncify read a name differently from how we wrote it: its instrumentation and our metadata would disagree.
    throw new AsyncifyError(
      'ASYNCIFY_BINARYEN_FAILED',
      `${filename}: Asyncify instrumented ${canSuspend.size} functions where ${onlyList.length} were listed; ` +
        `this is a bug in unplugin-asyncify, please report it with the .wasm file`,
    )
  }
  return { canSuspend }
}

/**
 * Whether Asyncify reads `name` in a list exactly as written: its list syntax
 * has no quoting (a comma separates, `*` is a wildcard) and it escapes
 * characters outside the text format's identifier set.
 */
export function listable(name: string): boolean {
  return /^[0-9A-Za-z!#$%&'+\-./:<=>?@^_`|~]+$/.test(name)
}

function quoteList(names: string[]): string {
  const shown = names.slice(0, 3).map((name) => `"${name}"`).join(', ')
  return names.length > 3 ? `${shown} and ${names.length - 3} more` : shown
}
