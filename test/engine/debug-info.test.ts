/*
 * Source-level debugging through the transform: a clang program built with
 * -g, transformed with `debug`, traps in code that runs after a resume; the
 * stack trace's wasm offsets, looked up in the source map the JSPI build
 * embeds, name the C lines. The asyncified build carries no map (binaryen.js
 * cannot move DWARF through Asyncify), and never a wrong one. `npm test` runs
 * this file under Node 20 and Node 26 (JSPI).
 */
import { execFileSync } from 'node:child_process'
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { decode } from '@jridgewell/sourcemap-codec'
import { asyncifyWasm } from 'unplugin-asyncify/transform'
import { describe, expect, it } from 'vitest'
import binaryen from 'binaryen'
import { attachLineLocations } from '../../src/transform/debug-locations.js'
import { readLineTable } from '../../src/transform/line-table.js'
import { withDebugInfo } from '../../src/transform/source-map.js'
import { withCustomSection, withoutCustomSection } from '../../src/transform/wasm-sections.js'
import { encodeName } from '../../src/runtime-shim/wasm-writer.js'
import { scanModule } from '../../src/transform/scan.js'
import { compileC } from '../helpers/compile-c.js'
import { embeddedMap, embeddedMapJson, embeddedMapUrl, mappedFrames } from '../helpers/embedded-map.js'

import { asyncified, later } from '../helpers/engine.js'

const SOURCE = new URL('../fixtures/c/trap.c', import.meta.url)
const traps = compileC('trap.c', ['-g'])

/** The 1-based line of trap.c that carries `// line: <marker>`. */
function lineOf(marker: string): number {
  const lines = readFileSync(SOURCE, 'utf8').split('\n')
  const index = lines.findIndex((line) => line.includes(`// line: ${marker}`))
  expect(index).toBeGreaterThanOrEqual(0)
  return index + 1
}

/**
 * Per body of `wasm`, its function's name-section name (which a rewind copy
 * shares) and the C lines (`file:line`) its embedded map gives its
 * instructions: the mapping in effect at each one. Instructions that only
 * close or divide a construct (`end`, `else`, `catch`) are left out: no
 * expression stands for them in Binaryen, so no line either.
 */
function linesByBody(wasm: Uint8Array): { name: string | null; lines: Set<string> }[] {
  const map = embeddedMapJson(wasm)
  const segments = decode(map.mappings)[0] ?? []
  const scanned = scanModule(wasm, { instructions: true })
  const defined = scanned.functions.filter((fn) => fn.imported === null)
  return scanned.bodies.map((body, index) => {
    const found = new Set<string>()
    for (const offset of body.instructions!) {
      if ([0x05, 0x07, 0x0b, 0x18, 0x19].includes(wasm[offset]!)) continue
      let segment: (typeof segments)[number] | undefined
      for (const candidate of segments) {
        if (candidate[0] > offset) break
        segment = candidate
      }
      if (segment && segment.length >= 4) found.add(`${map.sources[segment[1]!]!.split('/').pop()}:${segment[2]! + 1}`)
    }
    return { name: defined[index]!.name, lines: found }
  })
}

/** The C lines of each function of `wasm` with any (a rewind copy's are its function's). */
function linesByFunction(wasm: Uint8Array): Map<string, Set<string>> {
  const lines = new Map<string, Set<string>>()
  for (const { name, lines: found } of linesByBody(wasm)) {
    if (found.size > 0) lines.set(name!, new Set([...(lines.get(name!) ?? []), ...found]))
  }
  return lines
}

describe('debug info through the transform', () => {
  // optimize "z": the direct engine's records written by helpers the functions share, appended after them.
  // optimize 3: the rewound `compute` runs its copy, appended after them, which the trap is in. The frame at
  // compute's own index that handed the rewind to it may stay below it: named, without a line (no C code is there).
  it.each([
    ['direct', 2],
    ['binaryen', 2],
    ['direct', 'z'],
    ['direct', 3],
  ] as const)('a trap after a resume has a stack trace whose frames map to the C functions and lines (engine %s, optimize %s)', async (engine, optimize) => {
    const { exports, wasm } = await asyncified(traps, { imports: ['env.fetch_value'], debug: true, engine, optimize }, {
      env: { fetch_value: (key: number) => later(key - 7) },
    })
    await expect(exports.run(12)).resolves.toBe((200 + 12) * 2)
    const error = (await exports.run(7).catch((e: unknown) => e)) as Error
    expect(error).toBeInstanceOf(WebAssembly.RuntimeError)
    const frames = mappedFrames(error.stack!, embeddedMap(wasm))
    // The hand-off's frame shows where the engine does not inline the copy's call into it (Node 20), not in Node 26.
    const handOff = (frame: (typeof frames)[number], k: number) => optimize === 3 && k > 0 && frame.line === null && frame.name === frames[k - 1]!.name
    expect(frames.filter((frame, k) => !handOff(frame, k)).slice(0, 3)).toEqual([
      { name: 'divide', source: 'trap.c', line: lineOf('divide') },
      { name: 'compute', source: 'trap.c', line: lineOf('compute') },
      { name: 'run', source: 'trap.c', line: lineOf('run') },
    ])
  })

  it('each build\'s map carries the C source and replaces its DWARF', async () => {
    const { wasm, jspi, report } = await asyncifyWasm(traps, { imports: ['env.fetch_value'], debug: true })
    expect(report.warnings).toEqual([])
    for (const build of [wasm!, jspi!.wasm]) {
      const module = new WebAssembly.Module(build as Uint8Array<ArrayBuffer>)
      expect(WebAssembly.Module.customSections(module, '.debug_line')).toEqual([])
      const map = embeddedMap(build)
      // clang ran in the repository, which DW_AT_comp_dir records: the path comes out absolute.
      const index = map.sources.indexOf(fileURLToPath(SOURCE))
      expect(index).toBeGreaterThanOrEqual(0)
      expect(map.sourcesContent?.[index]).toBe(readFileSync(SOURCE, 'utf8'))
    }
  })

  /*
   * The JSPI build's map is the input's DWARF, true by construction. The
   * asyncified build's comes from the direct engine's record of where each
   * instruction went, or through Binaryen: each of its functions must map
   * only to lines the same function has in the input, keep at least one of
   * them, and together keep nearly all (Binaryen drops dead code, such as an
   * instruction after an `unreachable`, and Asyncify's optimizer merges some).
   */
  it.each(
    (
      [
        ['direct', 2],
        ['binaryen', 2],
        ['direct', 'z'],
        ['direct', 3],
      ] as const
    ).flatMap(([engine, optimize]) =>
      [
        ['sort.c', '-O0'],
        ['sort.c', '-O2'],
        ['recurse.c', '-O1'],
        ['heap.c', '-Os'],
        ['trap.c', '-O2'],
        ['saved-locals.c', '-O2'],
      ].map(([name, level]) => [name!, level!, engine, optimize] as const),
    ),
  )('the asyncified build of %s %s maps each function to its own C lines (engine %s, optimize %s)', async (name, level, engine, optimize) => {
    const bytes = compileC(name, ['-g', level])
    const { wasm, jspi, report } = await asyncifyWasm(bytes, { debug: true, engine, optimize })
    expect(report.engine).toBe(engine)
    expect(report.warnings.filter((warning) => warning.startsWith('debug'))).toEqual([])
    expect(report.functions.instrumented).toBeGreaterThan(0)
    const truth = linesByFunction(jspi!.wasm)
    const mapped = linesByFunction(wasm!)
    let expected = 0
    let kept = 0
    for (const [fn, lines] of truth) {
      const got = mapped.get(fn) ?? new Set()
      expect([...got].filter((line) => !lines.has(line)), fn).toEqual([])
      expect(got.size, fn).toBeGreaterThan(0)
      expected += lines.size
      kept += got.size
    }
    for (const fn of mapped.keys()) expect(truth.has(fn), fn).toBe(true)
    expect(kept / expected).toBeGreaterThan(0.9)
  })

  it.each([
    ['sort.c', '-O0'],
    ['saved-locals.c', '-O2'],
    ['trap.c', '-O2'],
  ])('at optimize 3, each rewind copy in the build of %s %s is named as its function and maps to that function\'s C lines', async (name, level) => {
    const bytes = compileC(name!, ['-g', level!])
    const [balanced, speed] = await Promise.all([2, 3].map((optimize) => asyncifyWasm(bytes, { debug: true, engine: 'direct', optimize: optimize as 2 | 3 })))
    const truth = linesByFunction(speed!.jspi!.wasm)
    // The copies come last (after the API's functions): all that optimize 3 adds.
    const bodies = linesByBody(speed!.wasm!)
    const copies = bodies.slice(linesByBody(balanced!.wasm!).length)
    expect(copies.length).toBeGreaterThan(0)
    for (const copy of copies) {
      expect(truth.has(copy.name!), `${copy.name}`).toBe(true)
      expect(copy.lines.size, `${copy.name}`).toBeGreaterThan(0)
      expect([...copy.lines].filter((line) => !truth.get(copy.name!)!.has(line)), `${copy.name}`).toEqual([])
    }
  })

  it('a Rust program built with -g maps the same way: each function of the asyncified build to its own lines', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'asyncify-rust-'))
    try {
      const out = join(dir, 'declared.wasm')
      const source = fileURLToPath(new URL('../fixtures/rust/declared.rs', import.meta.url))
      execFileSync('/usr/bin/rustc', ['--target', 'wasm32-unknown-unknown', '--crate-type', 'cdylib', '-C', 'opt-level=0', '-C', 'debuginfo=2', '-o', out, source])
      const { wasm, jspi, report } = await asyncifyWasm(new Uint8Array(readFileSync(out)), { debug: true })
      expect(report.warnings).toEqual([])
      const truth = linesByFunction(jspi!.wasm)
      const mapped = linesByFunction(wasm!)
      const run = [...mapped].find(([fn]) => fn.includes('run'))
      expect(run, 'the export run is mapped').toBeDefined()
      expect([...run![1]].some((line) => line.startsWith('declared.rs:'))).toBe(true)
      for (const [fn, lines] of mapped) expect([...lines].filter((line) => !truth.get(fn)?.has(line)), fn).toEqual([])
    } finally {
      rmSync(dir, { recursive: true, force: true })
    }
  })

  it('a function whose IR cannot be lined up with the input gets no line and is listed as unmapped', () => {
    // Binaryen's IR of the -O0 build against the instructions and lines of the -O2 build: nothing lines up.
    const unoptimized = binaryen.readBinary(compileC('sort.c', ['-g', '-O0']))
    try {
      const optimized = compileC('sort.c', ['-g', '-O2'])
      const attached = attachLineLocations(binaryen, unoptimized, optimized, readLineTable(optimized, 'sort.wasm', [])!)
      expect(attached).not.toBeNull()
      expect(attached!.unmapped.length).toBeGreaterThan(0)
      expect(attached!.unmapped).toContain('sort')
    } finally {
      unoptimized.dispose()
    }
  })

  describe('an input whose lines come in a source map instead of DWARF', () => {
    // trap.c's DWARF as the source map a toolchain such as Emscripten's -gsource-map writes, and no DWARF.
    const dwarfInput = compileC('trap.c', ['-g', '-O1'])
    const mapped = withDebugInfo({ wasm: dwarfInput }, readLineTable(dwarfInput, 'trap.wasm', [])).wasm
    const options = { imports: ['env.fetch_value'], debug: true }

    it('embedded as a data URL: both builds map exactly as from the DWARF', async () => {
      expect(WebAssembly.Module.customSections(new WebAssembly.Module(mapped as Uint8Array<ArrayBuffer>), '.debug_line')).toEqual([])
      const fromDwarf = await asyncifyWasm(dwarfInput, options)
      const fromMap = await asyncifyWasm(mapped, options)
      expect(fromMap.report.warnings).toEqual([])
      expect(linesByFunction(fromMap.wasm!)).toEqual(linesByFunction(fromDwarf.wasm!))
      expect(linesByFunction(fromMap.jspi!.wasm)).toEqual(linesByFunction(fromDwarf.jspi!.wasm))
      expect(linesByFunction(fromMap.wasm!).get('compute')?.has(`trap.c:${lineOf('compute')}`)).toBe(true)
    })

    it('in a file beside the input, named by a relative URL; a missing one is a warning naming where it was looked for', async () => {
      const dir = mkdtempSync(join(tmpdir(), 'asyncify-map-'))
      try {
        const json = Buffer.from(embeddedMapUrl(mapped).split(',')[1]!, 'base64')
        writeFileSync(join(dir, 'trap.wasm.map'), json)
        const external = withCustomSection(
          withoutCustomSection(mapped, 'sourceMappingURL')!,
          'sourceMappingURL',
          encodeName('trap.wasm.map'),
        )
        const beside = await asyncifyWasm(external, { ...options, filename: join(dir, 'trap.wasm') })
        expect(beside.report.warnings).toEqual([])
        expect(linesByFunction(beside.wasm!)).toEqual(linesByFunction((await asyncifyWasm(mapped, options)).wasm!))
        const elsewhere = await asyncifyWasm(external, { ...options, filename: join(dir, 'moved', 'trap.wasm') })
        expect(elsewhere.report.warnings).toEqual([
          `debug: the input's source map (trap.wasm.map) was not found at ${join(dir, 'moved', 'trap.wasm.map')}; ` +
            `keep the .map file beside the .wasm file, so the builds carry no lines`,
        ])
        expect(WebAssembly.Module.customSections(new WebAssembly.Module(elsewhere.wasm as Uint8Array<ArrayBuffer>), 'sourceMappingURL')).toEqual([])
      } finally {
        rmSync(dir, { recursive: true, force: true })
      }
    })

    it('without debug, neither build keeps the input\'s map URL, whose offsets no longer fit', async () => {
      const { wasm, jspi } = await asyncifyWasm(mapped, { imports: ['env.fetch_value'] })
      for (const build of [wasm!, jspi!.wasm]) {
        expect(WebAssembly.Module.customSections(new WebAssembly.Module(build as Uint8Array<ArrayBuffer>), 'sourceMappingURL')).toEqual([])
      }
    })
  })

  it('without debug, the asyncified build has neither DWARF nor a source map', async () => {
    const { wasm } = await asyncifyWasm(traps, { imports: ['env.fetch_value'] })
    const module = new WebAssembly.Module(wasm as Uint8Array<ArrayBuffer>)
    expect(WebAssembly.Module.customSections(module, '.debug_line')).toEqual([])
    expect(WebAssembly.Module.customSections(module, 'sourceMappingURL')).toEqual([])
  })
})
