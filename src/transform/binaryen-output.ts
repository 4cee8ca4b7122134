/*
 * binaryen.js prints validation errors, parse errors, pass reports (call
 * graph, metrics, Asyncify's verbose decisions) through Emscripten's `out`/
 * `err`, which bind console.log/console.error when binaryen.js loads.
 * Installing these sinks before that import lets the transform read what
 * Binaryen says instead of leaking it to the user's terminal.
 *
 * Emscripten's terminal hands a line to console only when its newline comes:
 * text printed without one (readBinary prints "[parse exception: ...]" and
 * then throws) waits in its buffer and used to come out inside the next
 * file's messages. So every capture ends by pushing both streams out
 * (`flushOutput`): Binaryen prints a known line to each, and whatever comes
 * out in front of that line belongs to the capture that is ending.
 */
import type { Binaryen } from './binaryen.js'

let lines: string[] | null = null
let flushOutput: () => string[] = () => []

export function installOutputCapture(): void {
  for (const method of ['log', 'error', 'warn'] as const) {
    const original = console[method].bind(console)
    console[method] = (...args: unknown[]) => {
      if (lines) lines.push(args.map(String).join(' '))
      else original(...args)
    }
  }
}

/** Lets captures flush Binaryen's buffered partial lines; call once binaryen.js has loaded. */
export function flushOutputWith(binaryen: Binaryen): void {
  const api = binaryen as unknown as { _BinaryenExpressionPrint(expression: number): void }
  const sentinels = new binaryen.Module()
  const constant = sentinels.i32.const(0)
  // A function returning i64 where i32 is declared: the validator reports it on stderr, always alike.
  const invalid = binaryen.parseText('(module (func (result i32) (i64.const 0)))')
  const streams = [() => api._BinaryenExpressionPrint(constant), () => void invalid.validate()]
  const print = (fn: () => void): string => {
    const printed: string[] = []
    const outer = lines
    lines = printed
    try {
      fn()
    } finally {
      lines = outer
    }
    return printed.join('\n')
  }
  const expected = streams.map((stream) => {
    print(stream) // empties the buffer, so the second run shows the exact text to strip
    return print(stream)
  })
  flushOutput = () =>
    streams.flatMap((stream, i) => {
      const text = print(stream)
      const partial = text.endsWith(expected[i]!) ? text.slice(0, text.length - expected[i]!.length) : text
      return partial ? [partial] : []
    })
}

/**
 * Runs `fn` and returns what Binaryen printed meanwhile, partial lines
 * included; the output is kept on the error when it throws.
 */
export function withOutput<T>(fn: () => T): { result: T; output: string[] } {
  const outer = lines
  const output: string[] = []
  lines = output
  try {
    return { result: fn(), output }
  } catch (error) {
    throw Object.assign(new BinaryenFailure(error), { output })
  } finally {
    try {
      output.push(...flushOutput())
    } catch {
      // binaryen.js after an abort: the original error matters, and the worker is replaced anyway.
    }
    lines = outer
  }
}

/** Printed lines as one clause for a message: the first `max` non-empty lines, joined with " | ". */
export function printedText(output: readonly string[], max = 6): string {
  const all = output.join('\n').split('\n').map((line) => line.trim()).filter(Boolean)
  const shown = all.slice(0, max).join(' | ')
  return all.length > max ? `${shown} | (${all.length - max} more lines)` : shown
}

/** A Binaryen fatal error or abort, with the text it printed before failing. */
export class BinaryenFailure extends Error {
  output: string[] = []
  constructor(readonly original: unknown) {
    super(String(original))
  }
}
