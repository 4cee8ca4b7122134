/*
 * The Binaryen-free scanner against Binaryen's own reading of the same bytes:
 * signatures, imports, exports, globals, and per defined function its direct
 * callees and whether it calls indirectly. Inputs: C programs, the WAT
 * fixtures, one WAT module with an instruction of every family the scanner
 * decodes, random modules from translate-to-fuzz, and binaryen.js's own 10 MB
 * module (against native wasm-opt: binaryen.js needs many minutes to read it).
 */
import { readdirSync, readFileSync } from 'node:fs'
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join, resolve } from 'node:path'
import { describe, expect, it } from 'vitest'
import { runNative } from '../../scripts/fuzz/native.js'
import { Random } from '../../scripts/fuzz/random.js'
import { concatBytes, encodeName, leb, section, vector } from '../../src/runtime-shim/wasm-writer.js'
import { printedCallFacts, valueTypes } from '../../src/transform/analyse.js'
import { flushOutputWith, installOutputCapture } from '../../src/transform/binaryen-output.js'
import type { BinaryenModule } from '../../src/transform/binaryen.js'
import { everyFeature } from '../../src/transform/features.js'
import { ScanError, scanModule, type ScannedModule } from '../../src/transform/scan.js'
import { withCustomSection, withoutCustomSection } from '../../src/transform/wasm-sections.js'
import { compileC } from '../helpers/compile-c.js'

// Binaryen's passes print the call graph and metrics; the capture must be in place before binaryen.js binds console.
installOutputCapture()
// binaryen.js's own module is the largest real wasm at hand (Emscripten-built C++); it is caught on its way to the engine.
let binaryenJsModule: Uint8Array | null = null
const instantiate = WebAssembly.instantiate
WebAssembly.instantiate = ((source: BufferSource | WebAssembly.Module, imports?: WebAssembly.Imports) => {
  if (ArrayBuffer.isView(source)) binaryenJsModule ??= new Uint8Array(source.buffer, source.byteOffset, source.byteLength).slice()
  else if (source instanceof ArrayBuffer) binaryenJsModule ??= new Uint8Array(source).slice()
  return instantiate(source as BufferSource, imports)
}) as typeof WebAssembly.instantiate
const binaryen = (await import('binaryen')).default
WebAssembly.instantiate = instantiate
flushOutputWith(binaryen)
const { wat } = await import('../helpers/wat.js')

const fixtures = resolve(import.meta.dirname, '../fixtures')

// binaryen.js 132 takes the features as readBinary's second argument (its typings name a readBinaryWithFeatures it lacks).
const readBinary = binaryen.readBinary as (bytes: Uint8Array, features: number) => BinaryenModule

/** What the scan reports, as far as binaryen.js can tell it. */
type Comparable = Omit<ScannedModule, 'memories' | 'tables' | 'tableTypeStarts' | 'bodies' | 'types' | 'typeNames' | 'typeStarts' | 'subtyping' | 'referenced' | 'tags' | 'functions' | 'globals'> & {
  functions: Omit<ScannedModule['functions'][number], 'typeIndex'>[]
  globals: Omit<ScannedModule['globals'][number], 'typeStart'>[]
  bodies: Omit<ScannedModule['bodies'][number], 'referenceLocal' | 'indirectTypes' | 'size' | 'codeStart' | 'instructions'>[]
  firstMemoryImport: ScannedModule['memories'][number]['imported']
}

/**
 * Binaryen's view of `bytes`. Binaryen names every function and global (by
 * index where the name section does not), so only the names the scan found
 * are compared: `scanned` says which. binaryen.js has no memory or tag by
 * index, so memory exports are compared by index only in single-memory
 * modules, and tag exports by name and kind.
 */
function binaryenView(bytes: Uint8Array, scanned: ScannedModule): Comparable {
  const module = readBinary(bytes, everyFeature(binaryen))
  try {
    const functionIndex = new Map<string, number>()
    const functions = Array.from({ length: module.getNumFunctions() }, (_, i) => {
      const info = binaryen.getFunctionInfo(module.getFunctionByIndex(i))
      functionIndex.set(info.name, i)
      return {
        name: scanned.functions[i]?.name === null ? null : info.name,
        imported: info.module ? { module: info.module, name: info.base ?? '' } : null,
        type: { params: valueTypes(binaryen, info.params), results: valueTypes(binaryen, info.results) },
      }
    })
    const globalIndex = new Map<string, number>()
    const globals = Array.from({ length: module.getNumGlobals() }, (_, i) => {
      const info = binaryen.getGlobalInfo(module.getGlobalByIndex(i))
      globalIndex.set(info.name, i)
      return {
        name: scanned.globals[i]?.name === null ? null : info.name,
        imported: info.module ? { module: info.module, name: info.base ?? '' } : null,
        type: valueTypes(binaryen, info.type)[0]!,
        mutable: info.mutable,
        initI32: !info.module && info.init && binaryen.getExpressionId(info.init) === binaryen.ConstId && info.type === binaryen.i32
          ? (binaryen.getExpressionInfo(info.init) as unknown as { value: number }).value
          : null,
      }
    })
    const tableIndex = new Map<string, number>()
    for (let i = 0; i < module.getNumTables(); i++) tableIndex.set(binaryen.getTableInfo(module.getTableByIndex(i)).name, i)
    const indexOf = { function: functionIndex, table: tableIndex, global: globalIndex, memory: null, tag: null }
    const exports = Array.from({ length: module.getNumExports() }, (_, i) => {
      const info = binaryen.getExportInfo(module.getExportByIndex(i))
      const kind = (['function', 'table', 'memory', 'global', 'tag'] as const)[info.kind]!
      const index = indexOf[kind]?.get(info.value) ?? (kind === 'memory' && scanned.memories.length === 1 ? 0 : -1)
      return { name: info.name, kind, index }
    })
    const memory = module.hasMemory() ? module.getMemoryInfo() : null

    const facts = printedCallFacts(module)
    // Binaryen prints defined functions in index order, each starting a line with ` (func `.
    const printed = module.emitText().split('\n (func ').slice(1)
    const defined = functions.flatMap((fn, i) => (fn.imported ? [] : [binaryen.getFunctionInfo(module.getFunctionByIndex(i)).name]))
    const bodies = defined.map((name, i) => {
      const kinds = facts.expressionKinds.get(name) ?? new Set()
      return {
        calls: new Set([...(facts.calls.get(name) ?? [])].map((callee) => functionIndex.get(callee)!)),
        indirect: kinds.has('CallIndirect') || kinds.has('CallRef'),
        callRef: kinds.has('CallRef'),
        legacyTry: kinds.has('Try'),
        tryTable: kinds.has('TryTable'),
        tailCall: /\(return_call/.test(printed[i] ?? ''),
      }
    })
    return {
      functions,
      exports,
      globals,
      firstMemoryImport: memory?.module ? { module: memory.module, name: memory.base ?? '' } : null,
      bodies,
    }
  } finally {
    module.dispose()
  }
}

function comparable(scanned: ScannedModule): Comparable {
  const { memories, tables: _tables, tableTypeStarts: _tableStarts, tags: _tags, types: _types, typeNames: _typeNames, typeStarts: _starts, subtyping: _subtyping, referenced: _referenced, ...rest } = scanned
  return {
    ...rest,
    functions: scanned.functions.map(({ typeIndex: _, ...fn }) => fn),
    globals: scanned.globals.map(({ typeStart: _, ...global }) => global),
    // Binaryen adds scratch locals of its own when it reads some code, so declared locals are tested apart.
    bodies: scanned.bodies.map(({ referenceLocal: _, indirectTypes: _indirect, size: _size, codeStart: _start, instructions: _instructions, ...body }) => body),
    exports: scanned.exports.map((entry) => (entry.kind === 'tag' || (entry.kind === 'memory' && memories.length !== 1) ? { ...entry, index: -1 } : entry)),
    firstMemoryImport: memories[0]?.imported ?? null,
  }
}

function expectSameAsBinaryen(bytes: Uint8Array): ScannedModule {
  const scanned = scanModule(bytes)
  expect(comparable(scanned)).toEqual(binaryenView(bytes, scanned))
  return scanned
}

/** Assembles WAT that may use any proposal binaryen.js reads and engines accept; names are kept. */
const assemble = (text: string): Uint8Array => wat(text, 'every')

/**
 * An instruction of each family the scanner decodes, the ones the random
 * modules below never produce included (delegate, rethrow, a second memory
 * and memory64 offsets, table and element ops, array.new_data/elem and
 * array.init_*, typed select, blocks with parameters, wide arithmetic, a
 * table initializer, GC and extended constant expressions). Every function
 * makes a call after the interesting part, so a misread immediate shows as a
 * lost callee or a body that ends in the wrong place. The eighty struct types
 * give heap types whose signed LEB takes two bytes.
 */
const structs = Array.from({ length: 80 }, (_, k) => `(type $s${k} (struct ${'(field i8) '.repeat(k)}))`)
const everyFamily = `(module
  (type $pair (func (param i32) (result i32 i64)))
  (rec
    (type $node (sub (struct (field (mut i32)) (field (ref null $node)))))
    (type $leaf (sub final $node (struct (field (mut i32)) (field (ref null $node))))))
  (type $bytes (array (mut i8)))
  (type $funcs (array (mut funcref)))
  (type $unary (func (param i32)))
  ${structs.join('\n  ')}
  (import "env" "log" (func $log (param i32)))
  (import "env" "base" (global $base i32))
  (import "env" "memory" (memory $m0 1))
  (memory $m1 i64 1 1 shared)
  (table $t 4 funcref)
  (table $init 2 funcref (ref.func $a))
  (tag $e (param i32))
  (data $d "abcdefgh")
  (elem $es func $a $b)
  (elem declare func $c)
  (global $next (mut i32) (i32.add (global.get $base) (i32.const 1)))
  (global $leaf0 (ref $leaf) (struct.new $leaf (i32.const 1) (ref.null none)))
  (export "m1" (memory $m1))
  (export "e" (tag $e))
  (export "t" (table $init))
  (export "next" (global $next))
  (func $a (export "a") (param i32) (call $log (local.get 0)))
  (func $b (param i32) (call $a (local.get 0)))
  (func $c (param i32) (call $b (local.get 0)))
  (func $legacy_eh (param $x i32)
    (try
      (do
        (call $a (local.get $x))
        (try (do (call $b (local.get $x))) (delegate 0))
        (call $c (local.get $x)))
      (catch $e (call $log))
      (catch_all (rethrow 0)))
    (call $log (i32.const 9)))
  (func $exnref (param $x i32) (result i32)
    (block $all (result exnref)
      (block $tagged (result i32 exnref)
        (try_table (catch_ref $e $tagged) (catch_all_ref $all)
          (call $a (local.get $x))
          (throw $e (local.get $x))))
      (drop)
      (return))
    (throw_ref))
  (func $tables (param $x i32)
    (table.init $t $es (i32.const 0) (i32.const 0) (i32.const 2))
    (elem.drop $es)
    (table.copy $t $init (i32.const 0) (i32.const 0) (i32.const 1))
    (drop (table.grow $t (ref.func $c) (i32.const 1)))
    (drop (table.size $init))
    (table.fill $t (i32.const 0) (ref.null func) (i32.const 1))
    (table.set $t (i32.const 1) (table.get $init (i32.const 0)))
    (call_indirect $init (type $unary) (local.get $x) (i32.const 0))
    (return_call_indirect $t (type $unary) (local.get $x) (local.get $x)))
  (func $memories (param $x i32) (result i64)
    (i32.store $m0 offset=4 (local.get $x) (i32.load $m1 offset=4294967300 (i64.const 0)))
    (drop (memory.grow $m1 (memory.size $m1)))
    (memory.copy $m1 $m1 (i64.const 0) (i64.const 8) (i64.const 4))
    (memory.fill $m1 (i64.const 0) (i32.const 0) (i64.const 4))
    (memory.init $m1 $d (i64.const 0) (i32.const 0) (i32.const 4))
    (data.drop $d)
    (drop (i32.atomic.rmw.add $m1 offset=8 (i64.const 0) (local.get $x)))
    (atomic.fence)
    (drop (v128.load8_lane $m1 offset=16 3 (i64.const 0) (v128.const i32x4 1 2 3 4)))
    (drop (i16x8.extract_lane_s 7 (i8x16.shuffle 0 1 2 3 4 5 6 7 8 9 10 11 12 13 14 31 (v128.const i64x2 -1 1) (v128.load $m1 (i64.const 0)))))
    (drop (f32x4.relaxed_madd (v128.const f32x4 1 2 3 4) (v128.const f32x4 1 2 3 4) (v128.const f32x4 1 2 3 4)))
    (call $c (local.get $x))
    (i64.load $m0 offset=8 (local.get $x)))
  (func $gc (param $x i32) (param $ext externref) (result i32)
    (local $n (ref null $node))
    (drop (array.new_data $bytes $d (i32.const 0) (i32.const 4)))
    (drop (array.new_elem $funcs $es (i32.const 0) (i32.const 2)))
    (array.init_data $bytes $d (array.new_default $bytes (i32.const 4)) (i32.const 0) (i32.const 0) (i32.const 4))
    (array.init_elem $funcs $es (array.new $funcs (ref.null func) (i32.const 2)) (i32.const 0) (i32.const 0) (i32.const 2))
    (array.copy $bytes $bytes (array.new_fixed $bytes 2 (i32.const 1) (i32.const 2)) (i32.const 0) (array.new_default $bytes (i32.const 2)) (i32.const 0) (i32.const 2))
    (array.fill $bytes (array.new_default $bytes (i32.const 2)) (i32.const 0) (i32.const 7) (i32.const 2))
    (local.set $n (struct.new $leaf (local.get $x) (ref.null none)))
    (drop (block $cast (result (ref $leaf))
      (drop (br_on_cast $cast (ref null $node) (ref $leaf) (local.get $n)))
      (unreachable)))
    (drop (block $fail (result (ref null $node))
      (drop (br_on_cast_fail $fail (ref null $node) (ref $leaf) (local.get $n)))
      (call $a (local.get $x))
      (ref.null none)))
    (drop (ref.test (ref $leaf) (local.get $n)))
    (drop (ref.cast (ref null $leaf) (local.get $n)))
    (drop (extern.convert_any (any.convert_extern (local.get $ext))))
    (drop (i31.get_s (ref.i31 (local.get $x))))
    (struct.set $node 0 (ref.as_non_null (local.get $n)) (i32.const 3))
    ${structs.map((_, k) => `(drop (ref.test (ref $s${k}) (any.convert_extern (local.get $ext))))`).join('\n    ')}
    (call $c (local.get $x))
    (i32.add (struct.get $node 0 (local.get $n)) (array.len (array.new_default $bytes (i32.const 1)))))
  (func $refs (param $x i32) (param $f (ref null $unary))
    (drop (select (result funcref) (ref.func $a) (ref.null func) (local.get $x)))
    (block $null
      (call_ref $unary (local.get $x) (br_on_null $null (local.get $f))))
    (drop (block $some (result (ref $unary)) (br_on_non_null $some (local.get $f)) (return)))
    (return_call_ref $unary (local.get $x) (local.get $f)))
  (func $blocks (param $x i32) (result i32 i64)
    local.get $x
    block $out (type $pair)
      block $inner (param i32) (result i32)
        local.get $x
        br_table $inner $inner $inner
      end
      i64.const 0x123456789abcdef
      br $out
    end
    i32.const 1
    call $c)
  (func $edges (param $x i32) (result v128)
    (v128.store64_lane $m0 offset=24 1 (i32.const 0) (v128.load64_zero $m0 offset=8 (i32.const 0)))
    (drop (i64.atomic.rmw32.cmpxchg_u $m1 (i64.const 0) (i64.const 1) (i64.const 2)))
    (drop (memory.atomic.wait64 $m1 (i64.const 0) (i64.const 0) (i64.const 0)))
    (drop (i31.get_u (ref.i31 (local.get $x))))
    (drop (i32x4.relaxed_dot_i8x16_i7x16_add_s (v128.load64_splat $m1 (i64.const 0)) (v128.const i32x4 0 0 0 0) (v128.const i32x4 0 0 0 0)))
    (call $a (local.get $x))
    (f64x2.replace_lane 1 (f64x2.convert_low_i32x4_u (v128.const i32x4 1 2 3 4)) (f64.const 3)))
  (func $wide (param $x i64) (result i64)
    local.get $x
    local.get $x
    local.get $x
    local.get $x
    i64.add128
    drop
    drop
    (drop (i32.trunc_sat_f64_u (f64.const 1.5)))
    (call $b (i32.const 2))
    (i64.extend32_s (local.get $x)))
)`

describe('scanModule reads what Binaryen reads', () => {
  const programs = ['sort.c', 'heap.c', 'storm.c', 'recurse.c', 'read-line.c', 'numbers.c', '../plugin/app.c']
  it.each(programs.flatMap((program) => ['-O0', '-O2'].map((level) => [program, level])))('C program %s at %s', (program, level) => {
    expectSameAsBinaryen(compileC(program, [level]))
  })

  it.each([['-msimd128'], ['-mtail-call'], ['-mbulk-memory', '-mnontrapping-fptoint'], ['-mmultivalue', '-Xclang', '-target-abi', '-Xclang', 'experimental-mv']])(
    'C program built with %s',
    (...flags) => {
      expectSameAsBinaryen(compileC('sort.c', flags))
    },
  )

  it.each(readdirSync(join(fixtures, 'wat')))('WAT fixture %s', (file) => {
    expectSameAsBinaryen(wat(readFileSync(join(fixtures, 'wat', file), 'utf8')))
  })

  it('a module with an instruction of every family the scanner decodes', () => {
    const scanned = expectSameAsBinaryen(assemble(everyFamily))
    const imported = scanned.functions.filter((fn) => fn.imported).length
    const byName = (name: string) => scanned.bodies[scanned.functions.findIndex((fn) => fn.name === name) - imported]!
    expect(byName('legacy_eh').calls.size).toBe(4)
    expect(byName('refs').indirect).toBe(true)
    expect(scanned.memories.map((memory) => memory.imported)).toEqual([{ module: 'env', name: 'memory' }, null])
  })

  it('a module whose name section Binaryen cannot read (wabt puts tag names in subsection 10)', () => {
    const bytes = new Uint8Array(readFileSync(join(fixtures, 'wabt/tag-names.wasm')))
    const unnamed = expectSameAsBinaryen(withoutCustomSection(bytes, 'name')!)
    const scanned = scanModule(bytes)
    expect(scanned.functions.map((fn) => fn.name)).toEqual(['get', 'run'])
    expect({ ...scanned, functions: scanned.functions.map((fn) => ({ ...fn, name: null })) }).toEqual(unnamed)
  })

  it('a module that imports a shared memory', () => {
    const scanned = expectSameAsBinaryen(new Uint8Array(readFileSync(join(fixtures, 'plugin/shared-memory.wasm'))))
    expect(scanned.memories).toHaveLength(1)
  })
})

/*
 * wasm-opt 108 writes reference types, typed function references, GC and
 * relaxed SIMD in encodings that changed before they were standardized, which
 * binaryen.js 132 rejects, so it fuzzes the rest; binaryen.js's own wasm-opt
 * (slower to start) fuzzes those.
 */
const NATIVE_FEATURES = ['sign-ext', 'threads', 'mutable-globals', 'nontrapping-float-to-int', 'simd', 'bulk-memory', 'exception-handling', 'tail-call', 'multivalue', 'memory64', 'extended-const']
const JS_FEATURES = [...NATIVE_FEATURES, 'reference-types', 'gc', 'relaxed-simd', 'multimemory', 'wide-arithmetic']
const NATIVE_SEEDS = Array.from({ length: 30 }, (_, i) => i + 1)
const JS_SEEDS = Array.from({ length: 12 }, (_, i) => i + 1)

const binaryenJsWasmOpt = (args: string[]) => runNative(process.execPath, [resolve(import.meta.dirname, '../../node_modules/binaryen/bin/wasm-opt'), ...args])
const nativeWasmOpt = (args: string[]) => runNative('wasm-opt', args)

const fuzzed = new Map<string, Promise<Uint8Array>>()

/** A module from `wasm-opt -ttf` on seeded random input, made once per test file. */
function translateToFuzz(tool: 'native' | 'binaryen.js', seed: number): Promise<Uint8Array> {
  const key = `${tool}:${seed}`
  let module = fuzzed.get(key)
  if (!module) {
    module = (async () => {
      const dir = await mkdtemp(join(tmpdir(), 'scan-ttf-'))
      try {
        const [run, features, size] = tool === 'native' ? [nativeWasmOpt, NATIVE_FEATURES, 2 ** (10 + (seed % 5))] : [binaryenJsWasmOpt, JS_FEATURES, 2 ** (11 + (seed % 4))]
        await writeFile(join(dir, 'input.dat'), new Random(seed).bytes(size))
        await run([join(dir, 'input.dat'), '-ttf', '--mvp-features', ...features.map((f) => `--enable-${f}`), '-g', '-o', join(dir, 'module.wasm')])
        return new Uint8Array(await readFile(join(dir, 'module.wasm')))
      } finally {
        await rm(dir, { recursive: true, force: true })
      }
    })()
    fuzzed.set(key, module)
  }
  return module
}

/** The instruction names in a module, as Binaryen prints it. */
function instructions(bytes: Uint8Array): Set<string> {
  const module = readBinary(bytes, everyFeature(binaryen))
  try {
    return new Set(module.emitText().match(/(?<=\()[a-z0-9_]+\.?[a-z0-9_.]*/g))
  } finally {
    module.dispose()
  }
}

describe('scanModule reads what Binaryen reads in translate-to-fuzz modules', () => {
  it.each(NATIVE_SEEDS)("wasm-opt 108's, seed %i", async (seed) => {
    expectSameAsBinaryen(await translateToFuzz('native', seed))
  })

  it.each(JS_SEEDS)("binaryen.js 132's with GC, exnref and relaxed SIMD, seed %i", async (seed) => {
    expectSameAsBinaryen(await translateToFuzz('binaryen.js', seed))
  })

  it('the random modules hold the instructions that matter to the scan (else the seeds above prove little)', async () => {
    const seen = new Set<string>()
    for (const seed of NATIVE_SEEDS) for (const name of instructions(await translateToFuzz('native', seed))) seen.add(name)
    for (const seed of JS_SEEDS) for (const name of instructions(await translateToFuzz('binaryen.js', seed))) seen.add(name)
    const wanted = [
      ...['call', 'call_indirect', 'return_call', 'return_call_indirect', 'call_ref', 'return_call_ref'],
      ...['try', 'try_table', 'throw', 'throw_ref', 'br_table', 'select'],
      ...['struct.new', 'array.new_fixed', 'br_on_cast', 'br_on_cast_fail', 'ref.test', 'ref.cast', 'br_on_null', 'ref.i31'],
      ...['v128.const', 'i8x16.shuffle', 'i8x16.extract_lane_u', 'i64x2.relaxed_laneselect', 'atomic.fence', 'memory.atomic.notify'],
      ...['i32.trunc_sat_f32_s', 'memory.init', 'memory.copy', 'data.drop', 'table.set', 'i32.extend8_s'],
    ]
    expect(wanted.filter((name) => !seen.has(name))).toEqual([])
  })
})

/** A module of one `() -> ()` function whose body (after its empty locals) is `body`. */
function oneFunction(body: number[]): Uint8Array {
  return concatBytes(
    [0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00],
    section(1, vector([[0x60, 0x00, 0x00]])),
    section(3, vector([[0x00]])),
    section(10, vector([concatBytes(leb(body.length + 1), [0x00], body)])),
  )
}

describe('scanModule on what it cannot decode', () => {
  it('an unknown opcode throws a ScanError naming its offset and byte', () => {
    const bytes = oneFunction([0x01, 0x27, 0x0b])
    const at = bytes.length - 2
    expect(() => scanModule(bytes)).toThrow(ScanError)
    expect(() => scanModule(bytes)).toThrow(`at byte ${at} (0x${at.toString(16)}): unknown opcode 0x27`)
  })

  it('an unassigned SIMD opcode throws naming its prefix and LEB-decoded number', () => {
    const bytes = oneFunction([0xfd, 0x9a, 0x01, 0x0b])
    const at = bytes.length - 4
    expect(() => scanModule(bytes)).toThrow(`at byte ${at} (0x${at.toString(16)}): unknown opcode 0xfd 0x9a`)
  })

  it('a body that ends before its size says throws instead of reading on out of step', () => {
    expect(() => scanModule(oneFunction([0x0b, 0x01]))).toThrow(/the body of function 0 should end at byte/)
  })

  it("a truncated module throws a ScanError, not the reader's plain error", () => {
    const bytes = compileC('loop.c')
    expect(() => scanModule(bytes.subarray(0, bytes.length - 7))).toThrow(ScanError)
  })

  it('bytes that are not wasm throw a ScanError at byte 0', () => {
    const bytes = new Uint8Array(readFileSync(join(fixtures, 'plugin/not-wasm.wasm')))
    expect(() => scanModule(bytes)).toThrow(/at byte 0 .*not a version 1 wasm module/)
  })
})

describe('scanModule tables', () => {
  it('reads each table\'s element type, imported tables first, initializer form included', () => {
    const bytes = assemble(`(module
      (import "env" "t" (table 1 externref))
      (table 2 funcref)
      (table 1 externref (ref.null extern)))`)
    expect(scanModule(bytes).tables).toEqual(['externref', 'funcref', 'externref'])
    expect(scanModule(bytes, { code: false }).tables).toEqual(['externref', 'funcref', 'externref'])
  })
})

describe('scanModule with code: false (where bodies lie, nothing of their instructions)', () => {
  const layoutOf = ({ bodies, referenced: _, ...rest }: ScannedModule) => ({ ...rest, bodies: bodies.map(({ size, codeStart }) => ({ size, codeStart })) })

  it.each(['sort.c', 'heap.c', '../plugin/app.c'])('reads what the full scan reads of C program %s, bodies only by extent', (program) => {
    const bytes = compileC(program, ['-O2'])
    expect(scanModule(bytes, { code: false })).toEqual(layoutOf(scanModule(bytes)))
  })

  it("reads binaryen.js's own 10 MB module as the full scan does", () => {
    expect(binaryenJsModule, 'binaryen.js no longer hands its module to WebAssembly.instantiate').not.toBeNull()
    expect(scanModule(binaryenJsModule!, { code: false })).toEqual(layoutOf(scanModule(binaryenJsModule!)))
  })

  it('reads past an opcode the full scan refuses, and still refuses a body that runs past its section', () => {
    const bytes = oneFunction([0x01, 0x27, 0x0b])
    expect(() => scanModule(bytes)).toThrow(ScanError)
    expect(scanModule(bytes, { code: false }).bodies).toEqual([{ size: 4, codeStart: bytes.length - 3 }])
    const overrun = bytes.slice()
    overrun[overrun.length - 5] = 9
    expect(() => scanModule(overrun, { code: false })).toThrow(ScanError)
  })
})

describe('scanModule details', () => {
  it('reads what indirect calls can reach: the signatures they name and the functions whose reference is taken', () => {
    const scanned = scanModule(wat(readFileSync(join(fixtures, 'reference-types/indirect-reach.wat'), 'utf8'), ['ReferenceTypes', 'BulkMemory']))
    const index = (name: string) => scanned.functions.findIndex((fn) => fn.name === name)
    const body = (name: string) => scanned.bodies[index(name) - 1]!
    // The element segment's three, and `hidden` through the global's initializer.
    expect([...scanned.referenced].sort()).toEqual(['slow', 'fast', 'add', 'hidden'].map(index).sort())
    expect(scanned.types[[...body('apply').indirectTypes][0]!]).toEqual({ params: ['i32'], results: ['i32'] })
    expect(scanned.types[[...body('combine').indirectTypes][0]!]).toEqual({ params: ['f64', 'f64'], results: ['f64'] })
    expect(body('outer').indirectTypes.size).toBe(0)
    expect(scanned.subtyping).toBe(false)
  })

  it('tells when a call_indirect may accept another signature: declared supertypes, or types sharing a recursion group', () => {
    const subtyping = (types: string) =>
      scanModule(assemble(`(module ${types} (func (export "f") (type $a) (i32.const 0)))`)).subtyping
    expect(subtyping('(type $a (func (result i32)))')).toBe(false)
    expect(subtyping('(type $a (sub (func (result i32))))')).toBe(true)
    expect(subtyping('(rec (type $a (func (result i32))) (type $b (func (result i64))))')).toBe(true)
  })

  it('marks the bodies that declare a reference-typed local or make a tail call (what Asyncify refuses)', () => {
    const scanned = scanModule(
      assemble(`(module
        (type $t (func))
        (table 1 funcref)
        (func $plain (local i32 i64 f32 f64 v128))
        (func $holds (local externref))
        (func $tail (return_call $plain))
        (func $tailIndirect (return_call_indirect (type $t) (i32.const 0)))
        (func $tailRef (return_call_ref $t (ref.func $plain))))`),
    )
    expect(scanned.bodies.map(({ tailCall, referenceLocal }) => [tailCall, referenceLocal])).toEqual([
      [false, false],
      [false, true],
      [true, false],
      [true, false],
      [true, false],
    ])
  })

  it('a damaged name section names nothing, and the rest reads as usual', () => {
    const unnamed = withoutCustomSection(compileC('loop.c'), 'name')!
    // Subsection 1 (function names) says 50 bytes, and the section ends after 8.
    const damaged = withCustomSection(unnamed, 'name', concatBytes([0x01], leb(50), leb(3), leb(0), encodeName('run')))
    const scanned = scanModule(damaged)
    expect(scanned.functions.map((fn) => fn.name)).toEqual(scanned.functions.map(() => null))
    expect(scanned).toEqual(expectSameAsBinaryen(unnamed))
  })

  it('(ref null func) and (ref null extern) written in full are funcref and externref, as Binaryen reads them', () => {
    const bytes = concatBytes(
      [0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00],
      section(1, vector([[0x60, 0x01, 0x63, 0x70, 0x01, 0x63, 0x6f]])),
      section(3, vector([[0x00]])),
      section(7, vector([concatBytes(encodeName('f'), [0x00, 0x00])])),
      section(10, vector([[0x04, 0x00, 0xd0, 0x6f, 0x0b]])),
    )
    const scanned = expectSameAsBinaryen(bytes)
    expect(scanned.functions[0]!.type).toEqual({ params: ['funcref'], results: ['externref'] })
  })

  it("binaryen.js's own 10 MB module: the direct calls of its 12,000 functions are the call graph native wasm-opt prints", async () => {
    expect(binaryenJsModule, 'binaryen.js no longer hands its module to WebAssembly.instantiate').not.toBeNull()
    // Named by index (it has no name section), so that wasm-opt's graph speaks of indices.
    const scanned = scanModule(binaryenJsModule!)
    const names = vector(scanned.functions.map((_, i) => concatBytes(leb(i), encodeName(`f${i}`))))
    const named = withCustomSection(binaryenJsModule!, 'name', concatBytes([0x01], leb(names.length), names))
    expect(scanModule(named).functions.map((fn) => fn.name)).toEqual(scanned.functions.map((_, i) => `f${i}`))

    const dir = await mkdtemp(join(tmpdir(), 'scan-large-'))
    let graph: string
    try {
      await writeFile(join(dir, 'module.wasm'), named)
      graph = await nativeWasmOpt([join(dir, 'module.wasm'), '--all-features', '--print-call-graph', '-o', join(dir, 'out.wasm')])
    } finally {
      await rm(dir, { recursive: true, force: true })
    }
    const imported = scanned.functions.filter((fn) => fn.imported).length
    const calls = scanned.bodies.map(() => new Set<number>())
    for (const [, caller, callee] of graph.matchAll(/^\s*"f(\d+)" -> "f(\d+)"; \/\/ call$/gm)) calls[Number(caller) - imported]!.add(Number(callee))
    expect(scanned.bodies.length).toBeGreaterThan(10_000)
    expect(scanned.bodies.map((body) => body.calls)).toEqual(calls)
  })
})
