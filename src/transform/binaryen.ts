import type binaryenType from 'binaryen'

export type Binaryen = typeof binaryenType
export type BinaryenModule = InstanceType<Binaryen['Module']>

/** The text of a Binaryen fatal error (binaryen.js throws C++ exceptions as opaque pointers). */
export function binaryenMessage(binaryen: Binaryen, error: unknown): string {
  const api = binaryen as unknown as { getExceptionMessage?: (e: unknown) => unknown }
  if (typeof error === 'object' && error !== null && typeof api.getExceptionMessage === 'function') {
    try {
      const message = api.getExceptionMessage(error)
      const text = Array.isArray(message) ? message[message.length - 1] : message
      if (typeof text === 'string' && text) return text.replace(/^Fatal: /, '')
    } catch {
      // Not a C++ exception: fall through to the JavaScript message.
    }
  }
  return error instanceof Error ? error.message : String(error)
}
