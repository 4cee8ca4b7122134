/*
 * Async imports a module declares itself: `ASYNCIFY_IMPORT(module, name)` in
 * include/asyncify.h (or the same bytes from any toolchain, such as Rust's
 * `#[link_section]`) records each in a custom section, which wasm-ld merges
 * across objects. The payload is a run of pairs, each the import's module
 * and name, both ended by a NUL byte.
 */
import { AsyncifyError } from '../runtime-shim/errors.js'
import { customSectionPayloads } from './wasm-sections.js'

export const DECLARED_IMPORTS_SECTION = 'asyncify.imports'

/** The declared imports, each as `declaredKey(module, name)`; null when the module declares none. */
export function declaredAsyncImports(bytes: Uint8Array, filename: string): Set<string> | null {
  const payloads = customSectionPayloads(bytes, DECLARED_IMPORTS_SECTION)
  if (payloads.length === 0) return null
  const decoder = new TextDecoder('utf-8', { fatal: true })
  const declared = new Set<string>()
  for (const payload of payloads) {
    const strings: string[] = []
    let start = 0
    for (let i = 0; i < payload.length; i++) {
      if (payload[i] !== 0) continue
      strings.push(decode(decoder, payload.subarray(start, i), filename))
      start = i + 1
    }
    if (start !== payload.length || strings.length % 2 !== 0 || strings.some((text) => text === '')) {
      throw new AsyncifyError(
        'ASYNCIFY_INVALID_WASM',
        `${filename}: its "${DECLARED_IMPORTS_SECTION}" custom section is not a list of import module and name pairs, ` +
          `each ended by a NUL byte; declare async imports with ASYNCIFY_IMPORT from unplugin-asyncify's include/asyncify.h, ` +
          `or write the section as the README's "Async imports declared in the module" shows`,
      )
    }
    for (let i = 0; i < strings.length; i += 2) declared.add(declaredKey(strings[i]!, strings[i + 1]!))
  }
  return declared
}

/** Exact, where `module.name` is not: either part may hold a dot. */
export function declaredKey(module: string, name: string): string {
  return `${module}\0${name}`
}

function decode(decoder: TextDecoder, bytes: Uint8Array, filename: string): string {
  try {
    return decoder.decode(bytes)
  } catch {
    throw new AsyncifyError(
      'ASYNCIFY_INVALID_WASM',
      `${filename}: its "${DECLARED_IMPORTS_SECTION}" custom section holds a name that is not UTF-8; ` +
        `declare async imports with ASYNCIFY_IMPORT from unplugin-asyncify's include/asyncify.h`,
    )
  }
}
