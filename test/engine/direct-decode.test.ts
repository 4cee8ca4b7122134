/*
 * The direct path's body decoder: every body of C programs, QuickJS,
 * SQLite and modules with every atomic and every GC instruction decodes and
 * encodes back to its own bytes (its locals declared one per run of a type,
 * and wasm-ld's padded call targets aside), and the operand stacks it
 * records agree with what each instruction pops and pushes, block by block
 * (two references agreeing whatever their types: subtyping is not checked).
 */
import { readFileSync } from 'node:fs'
import { resolve } from 'node:path'
import { describe, expect, it } from 'vitest'
import { concatBytes, leb } from '../../src/runtime-shim/wasm-writer.js'
import { DecodeUnsupported, type FuncType, type ModuleTypes, type Node, type ValType } from '../../src/transform/direct/body.js'
import { decodeBody, encodeBody } from '../../src/transform/direct/decode.js'
import { moduleTypesOf } from '../../src/transform/direct/module-types.js'
import { scanModule } from '../../src/transform/scan.js'
import { WasmReader } from '../../src/transform/wasm-reader.js'
import { compileC } from '../helpers/compile-c.js'
import { wat } from '../helpers/wat.js'

const root = resolve(import.meta.dirname, '../..')

interface Module {
  types: ModuleTypes
  /** Defined functions' types and bodies (without their sizes), in the order of the code section. */
  bodies: { type: FuncType; code: Uint8Array }[]
}

function readModule(bytes: Uint8Array): Module {
  const scanned = scanModule(bytes, { code: false })
  const types = moduleTypesOf(scanned, bytes)
  const imported = scanned.functions.filter((fn) => fn.imported !== null).length
  return { types, bodies: codeBodies(bytes).map((code, i) => ({ type: types.functions[imported + i]!, code })) }
}

function codeBodies(bytes: Uint8Array): Uint8Array[] {
  const reader = new WasmReader(bytes, 8)
  while (reader.offset < bytes.length) {
    const id = reader.byte()
    const end = reader.u32() + reader.offset
    if (id !== 10) {
      reader.offset = end
      continue
    }
    const bodies: Uint8Array[] = []
    for (let n = reader.u32(); n > 0; n--) {
      const size = reader.u32()
      bodies.push(bytes.subarray(reader.offset, reader.offset + size))
      reader.offset += size
    }
    return bodies
  }
  return []
}

/** `code` with its local declarations grouped by run, as encodeBody writes them: Binaryen declares each local on its own. */
function withGroupedLocals(code: Uint8Array): Uint8Array {
  const reader = new WasmReader(code)
  const groups: [number, number[]][] = []
  for (let n = reader.u32(); n > 0; n--) {
    const count = reader.u32()
    const start = reader.offset
    // A typed reference: 0x63 or 0x64, then its heap type (a signed LEB).
    if (reader.byte() === 0x63 || code[start] === 0x64) while (reader.byte() & 0x80);
    const type = [...code.subarray(start, reader.offset)]
    const last = groups[groups.length - 1]
    if (last !== undefined && String(last[1]) === String(type)) last[0] += count
    else if (count > 0) groups.push([count, type])
  }
  return concatBytes(leb(groups.length), ...groups.map(([count, type]) => [...leb(count), ...type]), code.subarray(reader.offset))
}

/**
 * Whether `encoded` is `original` but for LEB128 padding: wasm-ld leaves the
 * immediates it relocated (call targets among them) five bytes long, and
 * encodeBody writes a call's minimal.
 */
function sameButPadding(original: Uint8Array, encoded: Uint8Array): boolean {
  let i = 0
  let j = 0
  while (i < original.length && j < encoded.length) {
    if (original[i] === encoded[j]) {
      i++
      j++
      continue
    }
    // Back to the start of the LEB they differ in: its first bytes, if any, were the same.
    let back = 0
    while (back < i && back < j && original[i - back - 1]! & 0x80) back++
    const padded = readLeb(original, i - back)
    const minimal = readLeb(encoded, j - back)
    if (padded.value !== minimal.value || padded.end - i <= minimal.end - j) return false
    i = padded.end
    j = minimal.end
  }
  return i === original.length && j === encoded.length
}

function readLeb(bytes: Uint8Array, offset: number): { value: number; end: number } {
  const reader = new WasmReader(bytes, offset)
  return { value: reader.u32(), end: reader.offset }
}

/**
 * Walks a frame's nodes with the stack each should run on (null after an
 * unconditional branch, and throughout unreachable code), and returns what
 * disagrees: a node's `before`, an operand of the wrong type, or the stack a
 * frame falls off its end with.
 */
function typingErrors(nodes: Node[], start: ValType[] | null, results: ValType[], where: string, tags: FuncType[] = []): string[] {
  const errors: string[] = []
  let stack = start
  nodes.forEach((node, i) => {
    const at = `${where}/${i} ${node.kind}`
    if (String(node.before) !== String(stack)) errors.push(`${at}: before is [${node.before}], expected [${stack}]`)
    if (node.kind === 'block' || node.kind === 'loop') errors.push(...typingErrors(node.body, node.before && node.type.params, node.type.results, at, tags))
    if (node.kind === 'try') {
      errors.push(...typingErrors(node.body, node.before && node.type.params, node.type.results, at, tags))
      node.catches.forEach(({ tag, body }, k) => {
        errors.push(...typingErrors(body, node.before && (tag === null ? [] : tags[tag]!.params), node.type.results, `${at} catch ${k}`, tags))
      })
    }
    if (node.kind === 'if') {
      errors.push(...typingErrors(node.then, node.before && node.type.params, node.type.results, `${at} then`, tags))
      if (node.else) errors.push(...typingErrors(node.else, node.before && node.type.params, node.type.results, `${at} else`, tags))
      else if (node.before && String(node.type.params) !== String(node.type.results)) errors.push(`${at}: no else, but its type changes the stack`)
    }
    stack = node.before && after(node, node.before, (problem) => errors.push(`${at}: ${problem}`))
  })
  if (stack !== null && !(stack.length === results.length && stack.every((type, k) => agree(type, results[k]!)))) errors.push(`${where}: ends with [${stack}], expected [${results}]`)
  return errors
}

/** The stack after `node` runs on `before`; null when the rest of its frame is unreachable. */
function after(node: Node, before: ValType[], fail: (problem: string) => void): ValType[] | null {
  const apply = (pops: ValType[], pushes: ValType[]) => {
    const kept = before.slice(0, before.length - pops.length)
    if (kept.length + pops.length !== before.length || !pops.every((type, k) => agree(before[kept.length + k], type))) fail(`pops [${pops}] from [${before}]`)
    return [...kept, ...pushes]
  }
  switch (node.kind) {
    case 'op':
      return apply(node.pops, node.pushes)
    case 'call':
    case 'block':
    case 'loop':
    case 'try':
      return apply(node.type.params, node.type.results)
    case 'call_indirect':
    case 'if':
      return apply([...node.type.params, 'i32'], node.type.results)
    case 'br_if':
      return node.on ? apply(node.on.pops, node.on.pushes) : apply(['i32'], [])
    default:
      return null
  }
}

/** Whether a value of type `a` is where one of `b` is expected, but that two references always agree. */
function agree(a: ValType | undefined, b: ValType): boolean {
  return a === b || (a !== undefined && isReference(a) && isReference(b))
}

function isReference(type: ValType): boolean {
  return type === 'funcref' || type === 'externref' || type === 'ref' || type.startsWith('(ref ')
}

function nodeCount(nodes: Node[]): number {
  let count = 0
  for (const node of nodes) {
    count++
    if (node.kind === 'block' || node.kind === 'loop') count += nodeCount(node.body)
    if (node.kind === 'try') count += nodeCount(node.body) + node.catches.reduce((sum, handler) => sum + nodeCount(handler.body), 0)
    if (node.kind === 'if') count += nodeCount(node.then) + nodeCount(node.else ?? [])
  }
  return count
}

/** A function that runs each of the threads proposal's 67 atomic instructions once. */
function everyAtomic(): string {
  const lines = [
    '(drop (memory.atomic.notify (local.get $a) (i32.const 1)))',
    '(drop (memory.atomic.wait32 (local.get $a) (i32.const 0) (i64.const 0)))',
    '(drop (memory.atomic.wait64 (local.get $a) (i64.const 0) (i64.const 0)))',
    '(atomic.fence)',
  ]
  const widths: [string, string[]][] = [
    ['i32', ['', '8', '16']],
    ['i64', ['', '8', '16', '32']],
  ]
  for (const [type, sizes] of widths) {
    for (const size of sizes) {
      const value = `(${type}.const 1)`
      const unsigned = size === '' ? '' : '_u'
      lines.push(`(drop (${type}.atomic.load${size}${unsigned} (local.get $a)))`, `(${type}.atomic.store${size} (local.get $a) ${value})`)
      for (const op of ['add', 'sub', 'and', 'or', 'xor', 'xchg']) lines.push(`(drop (${type}.atomic.rmw${size}.${op}${unsigned} (local.get $a) ${value}))`)
      lines.push(`(drop (${type}.atomic.rmw${size}.cmpxchg${unsigned} (local.get $a) ${value} ${value}))`)
    }
  }
  return `(module (memory 1 1 shared) (func (export "run") (param $a i32) ${lines.join(' ')}))`
}

/**
 * A function that runs each GC and typed function reference instruction
 * once (struct and array ops, casts and tests, the four branches on a
 * reference, i31, the conversions, call_ref), with subtypes, packed fields
 * and typed locals of both nullabilities.
 */
const EVERY_GC = `(module
  (rec
    (type $s (sub (struct (field $a (mut i32)) (field $b (mut i64)) (field $c (mut i8)) (field $d (mut i16)) (field $e (mut (ref null $s))))))
    (type $t (sub final $s (struct (field $a (mut i32)) (field $b (mut i64)) (field $c (mut i8)) (field $d (mut i16)) (field $e (mut (ref null $s))) (field $f f64)))))
  (type $a (array (mut i32)))
  (type $a8 (array (mut i8)))
  (type $af (array (mut funcref)))
  (type $f (func (param i32) (result i32)))
  (data $d "abcdefgh")
  (elem $e func $g)
  (func $g (type $f) (local.get 0))
  (func (export "run") (param $x i32) (result i32)
    (local $s (ref null $s)) (local $t (ref $t)) (local $arr (ref null $a)) (local $b8 (ref null $a8)) (local $fa (ref null $af))
    (local $any anyref) (local $e externref) (local $eq eqref) (local $i31 (ref null i31)) (local $fn (ref null $f))
    (local.set $s (struct.new $s (i32.const 1) (i64.const 2) (i32.const 3) (i32.const 4) (ref.null none)))
    (local.set $s (struct.new_default $s))
    (local.set $t (struct.new $t (i32.const 1) (i64.const 2) (i32.const 3) (i32.const 4) (local.get $s) (f64.const 1)))
    (drop (struct.get $s $a (local.get $s)))
    (drop (struct.get_s $s $c (local.get $s)))
    (drop (struct.get_u $s $d (local.get $s)))
    (drop (struct.get $t $f (local.get $t)))
    (struct.set $s $b (local.get $s) (i64.const 5))
    (struct.set $s $e (local.get $t) (local.get $s))
    (local.set $arr (array.new $a (i32.const 0) (i32.const 4)))
    (local.set $arr (array.new_default $a (i32.const 4)))
    (local.set $arr (array.new_fixed $a 3 (i32.const 1) (i32.const 2) (i32.const 3)))
    (local.set $b8 (array.new_data $a8 $d (i32.const 0) (i32.const 4)))
    (local.set $fa (array.new_elem $af $e (i32.const 0) (i32.const 1)))
    (drop (array.get $a (local.get $arr) (i32.const 0)))
    (drop (array.get_s $a8 (local.get $b8) (i32.const 0)))
    (drop (array.get_u $a8 (local.get $b8) (i32.const 1)))
    (array.set $a (local.get $arr) (i32.const 0) (i32.const 9))
    (drop (array.len (local.get $arr)))
    (array.fill $a (local.get $arr) (i32.const 0) (i32.const 7) (i32.const 2))
    (array.copy $a $a (local.get $arr) (i32.const 0) (local.get $arr) (i32.const 1) (i32.const 1))
    (array.init_data $a8 $d (local.get $b8) (i32.const 0) (i32.const 0) (i32.const 2))
    (array.init_elem $af $e (local.get $fa) (i32.const 0) (i32.const 0) (i32.const 1))
    (local.set $any (local.get $s))
    (drop (ref.test (ref $s) (local.get $any)))
    (drop (ref.test (ref null $t) (local.get $any)))
    (local.set $s (ref.cast (ref null $s) (local.get $any)))
    (local.set $t (ref.cast (ref $t) (local.get $any)))
    (local.set $e (extern.convert_any (local.get $any)))
    (local.set $any (any.convert_extern (local.get $e)))
    (local.set $i31 (ref.i31 (local.get $x)))
    (drop (i31.get_s (local.get $i31)))
    (drop (i31.get_u (local.get $i31)))
    (local.set $eq (local.get $i31))
    (drop (ref.eq (local.get $eq) (local.get $s)))
    (drop (ref.as_non_null (local.get $s)))
    (local.set $fn (ref.func $g))
    (drop (call_ref $f (local.get $x) (local.get $fn)))
    (block $l1 (drop (br_on_null $l1 (local.get $s))))
    (drop (block $l2 (result (ref $s)) (br_on_non_null $l2 (local.get $s)) (local.get $t)))
    (drop (block $l3 (result (ref $t)) (drop (br_on_cast $l3 (ref null $s) (ref $t) (local.get $s))) (local.get $t)))
    (drop (block $l4 (result (ref null $s)) (drop (br_on_cast_fail $l4 (ref null $s) (ref $t) (local.get $s))) (ref.null none)))
    (drop (ref.is_null (local.get $fn)))
    (select (result anyref) (local.get $any) (ref.null none) (local.get $x))
    (drop)
    (local.get $x)))`

/** `relocated`: linked by wasm-ld, which leaves relocated immediates padded. */
const modules: { name: string; load: () => Uint8Array; relocated: boolean }[] = [
  ...['sort.c', 'numbers.c', 'storm.c', 'fibers.c', 'big-heap.c'].flatMap((file) =>
    ['-O2', '-O0'].map((level) => ({ name: `${file} ${level}`, load: () => compileC(file, [level]), relocated: true })),
  ),
  // Legacy exception handling: try, catch, catch_all, throw and rethrow.
  ...['-O2', '-O0'].map((level) => ({ name: `exceptions.cpp ${level}`, load: () => compileC('exceptions.cpp', ['-fwasm-exceptions', level]), relocated: true })),
  { name: 'QuickJS', load: () => readFileSync(resolve(root, 'node_modules/@jitl/quickjs-wasmfile-release-sync/dist/emscripten-module.wasm')), relocated: false },
  { name: 'SQLite', load: () => readFileSync(resolve(root, 'node_modules/@sqlite.org/sqlite-wasm/sqlite-wasm/jswasm/sqlite3.wasm')), relocated: false },
  { name: 'every atomic instruction', load: () => wat(everyAtomic(), ['Atomics']), relocated: false },
  { name: 'every GC instruction', load: () => wat(EVERY_GC, 'every'), relocated: false },
]

describe('decodeBody and encodeBody', () => {
  it.each(modules)('$name: every body encodes back to its bytes, with stacks that agree with the instructions', ({ load, relocated }) => {
    const { types, bodies } = readModule(load())
    const differing: number[] = []
    const errors: string[] = []
    let nodes = 0
    bodies.forEach(({ type, code }, i) => {
      const decoded = decodeBody(code, type.params, types)
      const encoded = encodeBody(decoded)
      const expected = withGroupedLocals(code)
      if (!Buffer.from(encoded).equals(expected) && !(relocated && sameButPadding(expected, encoded))) differing.push(i)
      errors.push(...typingErrors(decoded.body, [], type.results, `body ${i}`, types.tags))
      nodes += nodeCount(decoded.body)
    })
    expect(bodies.length).toBeGreaterThan(0)
    expect(nodes).toBeGreaterThan(bodies.length)
    expect(differing).toEqual([])
    expect(errors.slice(0, 10)).toEqual([])
  })

  it('records unreachable code, block parameters and else branches', () => {
    const types: ModuleTypes = { types: [{ params: ['i32'], results: ['i64'] }], fields: [], functions: [], globals: ['f64'], tables: [], tags: [] }
    // (local f32) i32.const 7, block (param i32) (result i64): drop, i64.const 1, br 0, then unreachable:
    // global.get 0, local.get 0, select, drop, block: local.get 1, drop, end; end; drop, i32.const 0, if: nop, else, end
    const code = new Uint8Array([
      1, 1, 0x7d, 0x41, 7, 0x02, 0, 0x1a, 0x42, 1, 0x0c, 0, 0x23, 0, 0x20, 0, 0x1b, 0x1a, 0x02, 0x40, 0x20, 1, 0x1a, 0x0b, 0x0b, 0x1a, 0x41, 0,
      0x04, 0x40, 0x01, 0x05, 0x0b, 0x0b,
    ])
    const decoded = decodeBody(code, ['i32'], types)
    expect(Buffer.from(encodeBody(decoded)).equals(code)).toBe(true)
    expect(decoded.locals).toEqual(['f32'])
    const [constant, block, drop, condition, branch] = decoded.body
    expect(constant).toMatchObject({ kind: 'op', before: [], pushes: ['i32'] })
    expect(block).toMatchObject({ kind: 'block', before: ['i32'], type: { params: ['i32'], results: ['i64'] } })
    const inner = (block as Extract<Node, { kind: 'block' | 'loop' }>).body
    expect(inner.map((node) => node.before)).toEqual([['i32'], [], ['i64'], null, null, null, null, null])
    // In unreachable code, select's type comes from what is known of its operands: f64 from global.get.
    expect(inner[5]).toMatchObject({ kind: 'op', pops: ['f64', 'f64', 'i32'], pushes: ['f64'] })
    expect(inner[7]).toMatchObject({ kind: 'block', before: null, body: [{ kind: 'op', before: null, pushes: ['f32'] }, { kind: 'op', before: null }] })
    expect(drop).toMatchObject({ kind: 'op', before: ['i64'], pops: ['i64'] })
    expect(condition!.before).toEqual([])
    expect(branch).toMatchObject({ kind: 'if', before: ['i32'], then: [{ kind: 'op', before: [] }], else: [] })
    expect(typingErrors(decoded.body, [], [], 'body')).toEqual([])
  })

  it.each([
    ['an unassigned SIMD opcode', [0x41, 0, 0xfd, 0x9a, 0x01, 0x1a], '0xfd 0x9a at byte 3'],
    ['an unassigned atomic opcode', [0x41, 0, 0xfe, 0x04, 0x1a], '0xfe 0x04 at byte 3'],
    ['a try_table', [0x1f, 0x40, 0x00, 0x0b], '0x1f at byte 1'],
    ['a tail call', [0x12, 0], '0x12 at byte 1'],
    ['wide arithmetic', [0xfc, 0x13], '0xfc 0x13 at byte 1'],
  ])('throws DecodeUnsupported on %s', (_, instructions, where) => {
    const code = new Uint8Array([0, ...instructions, 0x0b])
    const types: ModuleTypes = { types: [], fields: [], functions: [{ params: [], results: [] }], globals: [], tables: [], tags: [] }
    expect(() => decodeBody(code, [], types)).toThrow(DecodeUnsupported)
    expect(() => decodeBody(code, [], types)).toThrow(where)
  })
})
