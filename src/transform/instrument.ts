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
 * log. `culprits` names the functions that can suspend and hit a limit, for
 * the error (the pass aborts without naming them).
 */
export function instrument(
  binaryen: Binaryen,
  module: BinaryenModule,
  asyncImports: FunctionImport[],
  userRuntime: string[],
  filename: string,
  culprits: (limit: AsyncifyLimit) => string[],
): Instrumentation {
  if (asyncImports.length > 0) {
    binaryen.setPassArgument('asyncify-imports', asyncImports.map((entry) => `${entry.module}.${entry.base}`).join(','))
  } else {
    binaryen.setPassArgument('asyncify-ignore-imports', '1')
  }
  if (userRuntime.length > 0) binaryen.setPassArgument('asyncify-removelist', userRuntime.join(','))
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
    const match = /^\[asyncify\] (.+) can change the state due to /.exec(line)
    if (match) canSuspend.add(match[1] as string)
  }
  return { canSuspend }
}

function quoteList(names: string[]): string {
  const shown = names.slice(0, 3).map((name) => `"${name}"`).join(', ')
  return names.length > 3 ? `${shown} and ${names.length - 3} more` : shown
}
