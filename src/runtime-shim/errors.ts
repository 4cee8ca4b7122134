/** Stable codes carried by every error this package throws, for matching in code and tests. */
export type AsyncifyErrorCode =
  | 'ASYNCIFY_NOT_WASM'
  | 'ASYNCIFY_INVALID_WASM'
  | 'ASYNCIFY_UNSUPPORTED_FEATURE'
  | 'ASYNCIFY_ALREADY_TRANSFORMED'
  | 'ASYNCIFY_BAD_OPTIONS'
  | 'ASYNCIFY_BINARYEN_FAILED'
  | 'ASYNCIFY_NOT_TRANSFORMED'
  | 'ASYNCIFY_FETCH_FAILED'
  | 'ASYNCIFY_STACK_OVERFLOW'
  | 'ASYNCIFY_UNLISTED_ASYNC_IMPORT'
  | 'ASYNCIFY_SUSPEND_OUTSIDE_CALL'
  | 'ASYNCIFY_MEMORY_EXHAUSTED'
  | 'ASYNCIFY_INSTANCE_POISONED'
  | 'ASYNCIFY_NO_MEMORY'
  | 'ASYNCIFY_NAME_COLLISION'
  | 'ASYNCIFY_UNSUPPORTED_SUSPENSION'
  | 'ASYNCIFY_REWIND_MISMATCH'
  | 'ASYNCIFY_NO_JSPI'
  | 'ASYNCIFY_FIBERS_NO_TABLE'
  | 'ASYNCIFY_FIBERS_NEED_ASYNCIFY'
  | 'ASYNCIFY_API_NEEDS_ASYNCIFY'
  | 'ASYNCIFY_FIBER_FINISHED'
  | 'ASYNCIFY_FIBER_BUSY'
  | 'ASYNCIFY_FIBER_INVALID'

/**
 * What to say of the first name in `given` that is not one of `known`
 * options, or null when all are: a misspelled option would otherwise leave
 * its default in force without a word.
 */
export function unknownOption(given: object, known: readonly string[]): string | null {
  const name = Object.keys(given).find((key) => !known.includes(key))
  return name === undefined ? null : `unknown option "${name}"; the options are ${known.join(', ')}`
}

/** Base class of every error thrown by the transform and the runtime. */
export class AsyncifyError extends Error {
  override name = 'AsyncifyError'
  constructor(
    readonly code: AsyncifyErrorCode,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options)
  }
}

/** The Asyncify stack of one suspension did not fit in `stackSize`. */
export class AsyncifyStackOverflowError extends AsyncifyError {
  override name = 'AsyncifyStackOverflowError'
  constructor(message: string, options?: { cause?: unknown }) {
    super('ASYNCIFY_STACK_OVERFLOW', message, options)
  }
}

/** An import that is not listed as async returned a Promise. */
export class AsyncifyUnlistedImportError extends AsyncifyError {
  override name = 'AsyncifyUnlistedImportError'
  constructor(message: string) {
    super('ASYNCIFY_UNLISTED_ASYNC_IMPORT', message)
  }
}

/** A Promise from an async import under wasm that was not entered through `instance.exports`. */
export function suspendOutsideCall(label: string, importName: string, cause?: unknown): AsyncifyError {
  return new AsyncifyError(
    'ASYNCIFY_SUSPEND_OUTSIDE_CALL',
    `${label}: import "${importName}" returned a Promise, but the wasm that called it was not entered ` +
      `through an export of instance.exports (during instantiation, or a table function called from JS); ` +
      `it can only suspend under a call of instance.exports: export the function and call it from there`,
    cause === undefined ? undefined : { cause },
  )
}

/** The engine's own stack overflow (V8 and JSC: RangeError; SpiderMonkey: InternalError "too much recursion"). */
export function isEngineStackOverflow(error: unknown): error is Error {
  return error instanceof Error && /maximum call stack|too much recursion/i.test(error.message) && (error instanceof RangeError || error.name === 'InternalError')
}

/** The engine's stack overflow under a suspending export, in the same class on both paths. */
export function engineStackOverflow(label: string, error: Error): AsyncifyStackOverflowError {
  return new AsyncifyStackOverflowError(
    `${label}: the engine's call stack overflowed (${error.message}); the wasm recursed deeper than the engine allows ` +
      `(under JSPI each suspendable call runs on a stack of the engine's own size): recurse less deeply`,
    { cause: error },
  )
}
