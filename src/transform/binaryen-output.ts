/*
 * binaryen.js prints validation errors, pass reports (call graph, metrics,
 * Asyncify's verbose decisions) through Emscripten's `out`/`err`, which bind
 * console.log/console.error when binaryen.js loads. Installing these sinks
 * before that import lets the transform read what Binaryen says instead of
 * leaking it to the user's terminal.
 */
let lines: string[] | null = null

export function installOutputCapture(): void {
  for (const method of ['log', 'error', 'warn'] as const) {
    const original = console[method].bind(console)
    console[method] = (...args: unknown[]) => {
      if (lines) lines.push(args.map(String).join(' '))
      else original(...args)
    }
  }
}

/** Runs `fn` and returns what Binaryen printed meanwhile; output is kept on the error when it throws. */
export function withOutput<T>(fn: () => T): { result: T; output: string[] } {
  const outer = lines
  const output: string[] = []
  lines = output
  try {
    return { result: fn(), output }
  } catch (error) {
    throw Object.assign(new BinaryenFailure(error), { output })
  } finally {
    lines = outer
  }
}

/** A Binaryen fatal error or abort, with the text it printed before failing. */
export class BinaryenFailure extends Error {
  output: string[] = []
  constructor(readonly original: unknown) {
    super(String(original))
  }
}
