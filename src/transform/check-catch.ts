/*
 * Asyncify cannot unwind from inside a legacy `catch` body: the exception's
 * state cannot be saved, so it traps with `unreachable` there. A direct call
 * in a catch body to something that can suspend is known at build time and
 * refused here, naming the function. Indirect calls in catch bodies (a C++
 * `catch` that calls a virtual method) may or may not suspend: they are left
 * to the runtime, which reports such a trap as ASYNCIFY_UNSUPPORTED_SUSPENSION.
 */
import { AsyncifyError } from '../runtime-shim/errors.js'
import type { BinaryenModule } from './binaryen.js'

/**
 * `canSuspend`: defined functions and imports that can start an unwind, by
 * Binaryen's internal names, as Asyncify decided.
 */
export function refuseSuspensionInCatch(
  module: BinaryenModule,
  suspending: Set<string>,
  canSuspend: Set<string>,
  filename: string,
): void {
  // The print pass cannot run on one function at a time, so the whole text
  // is read once; only modules that use exceptions get here.
  for (const { fn, callee } of directCallsInCatchBodies(module.emitText())) {
    if (!suspending.has(fn) || !canSuspend.has(callee)) continue
    throw suspensionInCatch(filename, fn, callee)
  }
}

/** The refusal of function `fn`'s direct call of `callee`, which can suspend, in a catch block: either engine's. */
export function suspensionInCatch(filename: string, fn: string, callee: string): AsyncifyError {
  return new AsyncifyError(
    'ASYNCIFY_UNSUPPORTED_FEATURE',
    `${filename}: function "${fn}" calls "${callee}", which can suspend, inside a catch block; ` +
      `Asyncify cannot unwind from a catch block (the exception being handled cannot be saved). ` +
      `Move the call after the try/catch (keep what the catch needs in a variable)`,
  )
}

/** `(call $name ...)` forms inside `(catch ...)` / `(catch_all ...)` forms of Binaryen's text, with their function. */
function directCallsInCatchBodies(text: string): { fn: string; callee: string }[] {
  const found: { fn: string; callee: string }[] = []
  let fn = ''
  // Depth at which each open catch form started; inside one while non-empty.
  const catchDepths: number[] = []
  let depth = 0
  const form = /\(\s*(func|catch_all|catch|call)\b\s*(\$(?:"(?:[^"\\]|\\.)*"|[^\s()]+))?|\(|\)|;;[^\n]*|"(?:[^"\\]|\\.)*"/g
  for (let match = form.exec(text); match; match = form.exec(text)) {
    const token = match[0]
    if (token.startsWith(';;') || token.startsWith('"')) continue
    if (token === ')') {
      depth--
      if (catchDepths.length > 0 && catchDepths[catchDepths.length - 1] === depth) catchDepths.pop()
      continue
    }
    const [, keyword, name] = match
    if (keyword === 'func' && name) fn = unquote(name.slice(1))
    else if (keyword === 'catch' || keyword === 'catch_all') catchDepths.push(depth)
    else if (keyword === 'call' && catchDepths.length > 0 && name) found.push({ fn, callee: unquote(name.slice(1)) })
    depth++
  }
  return found
}

function unquote(name: string): string {
  return name.startsWith('"') ? (JSON.parse(name) as string) : name
}
