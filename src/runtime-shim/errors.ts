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
