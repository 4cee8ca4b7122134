/*
 * Source-level debugging through the transform: a clang program built with
 * -g, transformed with `debug`, traps in code that runs after a resume; the
 * stack trace's wasm offsets, looked up in the source map the JSPI build
 * embeds, name the C lines. The asyncified build carries no map (binaryen.js
 * cannot move DWARF through Asyncify), and never a wrong one. `npm test` runs
 * this file under Node 20 and Node 26 (JSPI).
 */
import { readFileSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import { originalPositionFor, TraceMap } from '@jridgewell/trace-mapping'
import { asyncifyWasm } from 'unplugin-asyncify/transform'
import { describe, expect, it } from 'vitest'
import { compileC } from '../helpers/compile-c.js'
import { asyncified, engine, later } from '../helpers/engine.js'

const SOURCE = new URL('../fixtures/c/trap.c', import.meta.url)
const traps = compileC('trap.c', ['-g'])

/** The 1-based line of trap.c that carries `// line: <marker>`. */
function lineOf(marker: string): number {
  const lines = readFileSync(SOURCE, 'utf8').split('\n')
  const index = lines.findIndex((line) => line.includes(`// line: ${marker}`))
  expect(index).toBeGreaterThanOrEqual(0)
  return index + 1
}

/** The source map a build embeds in its sourceMappingURL section, decoded. */
function embeddedMap(wasm: Uint8Array): TraceMap {
  const [section] = WebAssembly.Module.customSections(new WebAssembly.Module(wasm as Uint8Array<ArrayBuffer>), 'sourceMappingURL')
  expect(section).toBeDefined()
  const bytes = new Uint8Array(section!)
  // A name: its LEB128 length (one or more bytes), then the URL.
  let offset = 0
  while (bytes[offset++]! & 0x80);
  const url = new TextDecoder().decode(bytes.subarray(offset))
  expect(url).toMatch(/^data:application\/json;base64,/)
  return new TraceMap(JSON.parse(Buffer.from(url.slice(url.indexOf(',') + 1), 'base64').toString('utf8')))
}

/** Each wasm frame of a stack trace: its function name and where its byte offset maps to. */
function mappedFrames(stack: string, map: TraceMap) {
  return [...stack.matchAll(/at (\S+) \(wasm:\/\/wasm\/[^:]+:wasm-function\[\d+\]:0x([0-9a-f]+)\)/g)].map(([, name, offset]) => {
    const position = originalPositionFor(map, { line: 1, column: parseInt(offset!, 16) })
    return { name, source: position.source?.split('/').pop(), line: position.line }
  })
}

describe('debug info through the transform', () => {
  it.runIf(engine === 'jspi')('a trap after a resume has a stack trace whose frames map to the C functions and lines', async () => {
    const { exports, wasm } = await asyncified(traps, { imports: ['env.fetch_value'], debug: true }, {
      env: { fetch_value: (key: number) => later(key - 7) },
    })
    await expect(exports.run(12)).resolves.toBe((200 + 12) * 2)
    const error = (await exports.run(7).catch((e: unknown) => e)) as Error
    expect(error).toBeInstanceOf(WebAssembly.RuntimeError)
    const frames = mappedFrames(error.stack!, embeddedMap(wasm))
    expect(frames.slice(0, 3)).toEqual([
      { name: 'divide', source: 'trap.c', line: lineOf('divide') },
      { name: 'compute', source: 'trap.c', line: lineOf('compute') },
      { name: 'run', source: 'trap.c', line: lineOf('run') },
    ])
  })

  it('the JSPI build\'s map carries the C source and replaces its DWARF; the asyncified build has neither', async () => {
    const { wasm, jspi } = await asyncifyWasm(traps, { imports: ['env.fetch_value'], debug: true })
    const jspiModule = new WebAssembly.Module(jspi!.wasm as Uint8Array<ArrayBuffer>)
    expect(WebAssembly.Module.customSections(jspiModule, '.debug_line')).toEqual([])
    const map = embeddedMap(jspi!.wasm)
    // clang ran in the repository, which DW_AT_comp_dir records: the path comes out absolute.
    const index = map.sources.indexOf(fileURLToPath(SOURCE))
    expect(index).toBeGreaterThanOrEqual(0)
    expect(map.sourcesContent?.[index]).toBe(readFileSync(SOURCE, 'utf8'))
    const asyncifiedModule = new WebAssembly.Module(wasm as Uint8Array<ArrayBuffer>)
    expect(WebAssembly.Module.customSections(asyncifiedModule, '.debug_line')).toEqual([])
    expect(WebAssembly.Module.customSections(asyncifiedModule, 'sourceMappingURL')).toEqual([])
  })

  it('without debug, the asyncified build has neither DWARF nor a source map', async () => {
    const { wasm } = await asyncifyWasm(traps, { imports: ['env.fetch_value'] })
    const module = new WebAssembly.Module(wasm as Uint8Array<ArrayBuffer>)
    expect(WebAssembly.Module.customSections(module, '.debug_line')).toEqual([])
    expect(WebAssembly.Module.customSections(module, 'sourceMappingURL')).toEqual([])
  })
})
