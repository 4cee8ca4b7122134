import { originalPositionFor, TraceMap } from '@jridgewell/trace-mapping'
import { expect } from 'vitest'

/** The source map a build embeds in its sourceMappingURL section, as JSON. */
export function embeddedMapJson(wasm: Uint8Array): { version: 3; sources: string[]; sourcesContent?: (string | null)[]; names: string[]; mappings: string } {
  const url = embeddedMapUrl(wasm)
  return JSON.parse(Buffer.from(url.slice(url.indexOf(',') + 1), 'base64').toString('utf8'))
}

/** The data URL in a build's sourceMappingURL section. */
export function embeddedMapUrl(wasm: Uint8Array): string {
  const [section] = WebAssembly.Module.customSections(new WebAssembly.Module(wasm as Uint8Array<ArrayBuffer>), 'sourceMappingURL')
  expect(section).toBeDefined()
  const bytes = new Uint8Array(section!)
  // A name: its LEB128 length (one or more bytes), then the URL.
  let offset = 0
  while (bytes[offset++]! & 0x80);
  const url = new TextDecoder().decode(bytes.subarray(offset))
  expect(url).toMatch(/^data:application\/json;base64,/)
  return url
}

export function embeddedMap(wasm: Uint8Array): TraceMap {
  return new TraceMap(embeddedMapJson(wasm))
}

/** Each wasm frame of a stack trace: its function name and where its byte offset maps to. */
export function mappedFrames(stack: string, map: TraceMap) {
  return [...stack.matchAll(/at (\S+) \(wasm:\/\/wasm\/[^:]+:wasm-function\[\d+\]:0x([0-9a-f]+)\)/g)].map(([, name, offset]) => {
    const position = originalPositionFor(map, { line: 1, column: parseInt(offset!, 16) })
    return { name, source: position.source?.split('/').pop(), line: position.line }
  })
}
