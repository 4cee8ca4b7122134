/*
 * A function body's bytes to body.ts's tree and back. Decoding tracks
 * the operand stack frame by frame, so that every node knows the stack it
 * runs on; it does not validate beyond what it needs to stay in step.
 * Encoding writes what it is given: an `op` node's bytes as they were, every
 * other node with minimal LEBs, and the locals one declaration per run of a
 * type. A body comes back byte for byte when it was written so: Binaryen's
 * are, but for the locals it declares one by one; wasm-ld leaves the call
 * targets it relocated padded to five bytes, and those come back minimal.
 *
 * Decoded: MVP, sign extension, saturating truncation, bulk memory and table
 * ops, reference types, multi-value blocks, multi-memory, SIMD and relaxed
 * SIMD, threads' atomic instructions, legacy exception handling (`try`,
 * `catch`, `catch_all`, `delegate`, `throw`, `rethrow`), typed function
 * references (`call_ref`, `ref.as_non_null`, `br_on_null`,
 * `br_on_non_null`) and GC. Anything else (`try_table`, tail calls and
 * strings among it) throws DecodeUnsupported. Memories are taken to be
 * 32-bit: ModuleTypes does not say which are memory64.
 */
import { leb, sleb } from '../../runtime-shim/wasm-writer.js'
import { simdImmediates } from '../scan.js'
import { WasmReader } from '../wasm-reader.js'
import { DecodeUnsupported, type BranchOn, type DecodedBody, type FuncType, type ModuleTypes, type Node, type ValType } from './body.js'

type Structured = Extract<Node, { kind: 'block' | 'loop' | 'if' | 'try' }>

type ByteType = 'i32' | 'i64' | 'f32' | 'f64' | 'v128' | 'funcref' | 'externref'
const VALUE_TYPES: Partial<Record<number, ByteType>> = {
  0x7f: 'i32',
  0x7e: 'i64',
  0x7d: 'f32',
  0x7c: 'f64',
  0x7b: 'v128',
  0x70: 'funcref',
  0x6f: 'externref',
}
/** The value types written as one byte: the number types, funcref and externref. */
export const TYPE_CODES: Record<ByteType, number> = { i32: 0x7f, i64: 0x7e, f32: 0x7d, f64: 0x7c, v128: 0x7b, funcref: 0x70, externref: 0x6f }

/** The abstract heap types by their byte (each a one-byte negative LEB), which alone is also the nullable reference to it. */
const HEAP_TYPES: Partial<Record<number, string>> = {
  0x74: 'noexn',
  0x73: 'nofunc',
  0x72: 'noextern',
  0x71: 'none',
  0x70: 'func',
  0x6f: 'extern',
  0x6e: 'any',
  0x6d: 'eq',
  0x6c: 'i31',
  0x6b: 'struct',
  0x6a: 'array',
  0x69: 'exn',
}
const HEAP_CODES = new Map(Object.entries(HEAP_TYPES).map(([code, name]) => [name!, Number(code)]))

// Decoding allocates little beyond the nodes: pops, pushes, block types and `before` stacks are shared
// frozen arrays, and one- and two-byte instructions (most of them: numeric ops, local.get 5) shared bytes.
// Nothing decoded is to be mutated: a node that needs other values gets new arrays.
const typeLists = new Map<string, ValType[]>()

/** A list of types as a shared array (no type's name has a comma). */
function list(...members: ValType[]): ValType[] {
  const key = members.join(',')
  let shared = typeLists.get(key)
  if (!shared) {
    shared = Object.freeze(members) as ValType[]
    typeLists.set(key, shared)
  }
  return shared
}

/** The number types of a space-separated list, as a shared array. */
function types(text: string): ValType[] {
  return text === '' ? NONE : list(...(text.split(' ') as ValType[]))
}

const NONE = list()
const I32 = list('i32')
const singles = new Map<ValType, ValType[]>()
/** `[type]`, shared: local and global accesses take one each. */
function one(type: ValType): ValType[] {
  let shared = singles.get(type)
  if (!shared) singles.set(type, (shared = list(type)))
  return shared
}

const EMPTY_BLOCK: FuncType = Object.freeze({ params: NONE, results: NONE })
const valueBlocks = new Map<ValType, FuncType>()
function valueBlock(type: ValType): FuncType {
  let shared = valueBlocks.get(type)
  if (!shared) valueBlocks.set(type, (shared = Object.freeze({ params: NONE, results: one(type) })))
  return shared
}

/** A reference type by its nullability and heap type (a type index or an abstract type's name). */
function referenceType(nullable: boolean, heap: string): ValType {
  if (nullable && heap === 'func') return 'funcref'
  if (nullable && heap === 'extern') return 'externref'
  return `(ref ${nullable ? 'null ' : ''}${heap})`
}

/** The same reference without null (what `ref.as_non_null` and a `br_on_null` not taken leave). */
function nonNull(type: ValType): ValType {
  if (type === 'funcref') return '(ref func)'
  if (type === 'externref') return '(ref extern)'
  return type.startsWith('(ref null ') ? (`(ref ${type.slice(10)}` as ValType) : type
}

/** Whether a local of `type` starts with a value (zero, null): not a reference that cannot be null, nor one whose type is not kept. */
export function defaultable(type: ValType): boolean {
  return type !== 'ref' && !(type.startsWith('(ref ') && !type.startsWith('(ref null '))
}

const typeEncodings = new Map<ValType, number[]>()

/** A value type's bytes. A reference whose exact type is not known (`'ref'`) cannot be written: DecodeUnsupported. */
export function typeBytes(type: ValType): number[] {
  let bytes = typeEncodings.get(type)
  if (bytes) return bytes
  const code = TYPE_CODES[type as ByteType]
  if (code !== undefined) bytes = [code]
  else if (type === 'ref') throw new DecodeUnsupported('a reference whose exact type is not known')
  else {
    const nullable = type.startsWith('(ref null ')
    const heap = type.slice(nullable ? 10 : 5, -1)
    const abstract = HEAP_CODES.get(heap)
    // A nullable reference to an abstract type is written as that type's byte alone, as toolchains write it.
    if (nullable && abstract !== undefined) bytes = [abstract]
    else bytes = [nullable ? 0x63 : 0x64, ...(abstract === undefined ? sleb(Number(heap)) : [abstract])]
  }
  typeEncodings.set(type, bytes)
  return bytes
}

interface Effect {
  pops: ValType[]
  pushes: ValType[]
}

/** Opcode ranges whose operand types the opcode alone decides: first, last, pops, pushes. */
type Ranges = [number, number, string, string][]

// All but the control and parametric instructions, local, global and table accesses, and reference ops.
const FIXED_RANGES: Ranges = [
  [0x01, 0x01, '', ''], // nop
  [0x28, 0x28, 'i32', 'i32'], // i32.load
  [0x29, 0x29, 'i32', 'i64'],
  [0x2a, 0x2a, 'i32', 'f32'],
  [0x2b, 0x2b, 'i32', 'f64'],
  [0x2c, 0x2f, 'i32', 'i32'], // i32.load8_s ... i32.load16_u
  [0x30, 0x35, 'i32', 'i64'], // i64.load8_s ... i64.load32_u
  [0x36, 0x36, 'i32 i32', ''], // i32.store
  [0x37, 0x37, 'i32 i64', ''],
  [0x38, 0x38, 'i32 f32', ''],
  [0x39, 0x39, 'i32 f64', ''],
  [0x3a, 0x3b, 'i32 i32', ''], // i32.store8, i32.store16
  [0x3c, 0x3e, 'i32 i64', ''], // i64.store8 ... i64.store32
  [0x3f, 0x3f, '', 'i32'], // memory.size
  [0x40, 0x40, 'i32', 'i32'], // memory.grow
  [0x41, 0x41, '', 'i32'], // i32.const
  [0x42, 0x42, '', 'i64'],
  [0x43, 0x43, '', 'f32'],
  [0x44, 0x44, '', 'f64'],
  [0x45, 0x45, 'i32', 'i32'], // i32.eqz
  [0x46, 0x4f, 'i32 i32', 'i32'], // i32 comparisons
  [0x50, 0x50, 'i64', 'i32'], // i64.eqz
  [0x51, 0x5a, 'i64 i64', 'i32'],
  [0x5b, 0x60, 'f32 f32', 'i32'],
  [0x61, 0x66, 'f64 f64', 'i32'],
  [0x67, 0x69, 'i32', 'i32'], // clz, ctz, popcnt
  [0x6a, 0x78, 'i32 i32', 'i32'], // add ... rotr
  [0x79, 0x7b, 'i64', 'i64'],
  [0x7c, 0x8a, 'i64 i64', 'i64'],
  [0x8b, 0x91, 'f32', 'f32'], // abs ... sqrt
  [0x92, 0x98, 'f32 f32', 'f32'], // add ... copysign
  [0x99, 0x9f, 'f64', 'f64'],
  [0xa0, 0xa6, 'f64 f64', 'f64'],
  [0xa7, 0xa7, 'i64', 'i32'], // i32.wrap_i64
  [0xa8, 0xa9, 'f32', 'i32'], // i32.trunc_f32_s/u
  [0xaa, 0xab, 'f64', 'i32'],
  [0xac, 0xad, 'i32', 'i64'], // i64.extend_i32_s/u
  [0xae, 0xaf, 'f32', 'i64'],
  [0xb0, 0xb1, 'f64', 'i64'],
  [0xb2, 0xb3, 'i32', 'f32'], // f32.convert_i32_s/u
  [0xb4, 0xb5, 'i64', 'f32'],
  [0xb6, 0xb6, 'f64', 'f32'], // f32.demote_f64
  [0xb7, 0xb8, 'i32', 'f64'],
  [0xb9, 0xba, 'i64', 'f64'],
  [0xbb, 0xbb, 'f32', 'f64'], // f64.promote_f32
  [0xbc, 0xbc, 'f32', 'i32'], // reinterprets
  [0xbd, 0xbd, 'f64', 'i64'],
  [0xbe, 0xbe, 'i32', 'f32'],
  [0xbf, 0xbf, 'i64', 'f64'],
  [0xc0, 0xc1, 'i32', 'i32'], // i32.extend8_s, i32.extend16_s
  [0xc2, 0xc4, 'i64', 'i64'],
]

// The 0xFC prefix, by its second opcode, but table.grow and table.fill (their table's type).
const MISC_RANGES: Ranges = [
  [0x00, 0x01, 'f32', 'i32'], // i32.trunc_sat_f32_s/u
  [0x02, 0x03, 'f64', 'i32'],
  [0x04, 0x05, 'f32', 'i64'],
  [0x06, 0x07, 'f64', 'i64'],
  [0x08, 0x08, 'i32 i32 i32', ''], // memory.init
  [0x09, 0x09, '', ''], // data.drop
  [0x0a, 0x0b, 'i32 i32 i32', ''], // memory.copy, memory.fill
  [0x0c, 0x0c, 'i32 i32 i32', ''], // table.init
  [0x0d, 0x0d, '', ''], // elem.drop
  [0x0e, 0x0e, 'i32 i32 i32', ''], // table.copy
  [0x10, 0x10, '', 'i32'], // table.size
]

// The 0xFD prefix (SIMD, relaxed SIMD from 0x100), by its second opcode: every instruction there has fixed operand types.
const V = 'v128'
const UNARY: [string, string] = [V, V]
const BINARY: [string, string] = [`${V} ${V}`, V]
const TERNARY: [string, string] = [`${V} ${V} ${V}`, V]
const TEST: [string, string] = [V, 'i32']
const SHIFT: [string, string] = [`${V} i32`, V]
const SIMD_RANGES: Ranges = [
  [0x00, 0x0a, 'i32', V], // v128.load, the extending loads, the splat loads
  [0x0b, 0x0b, `i32 ${V}`, ''], // v128.store
  [0x0c, 0x0c, '', V], // v128.const
  [0x0d, 0x0e, ...BINARY], // i8x16.shuffle, i8x16.swizzle
  [0x0f, 0x11, 'i32', V], // i8x16, i16x8, i32x4 splat
  [0x12, 0x12, 'i64', V],
  [0x13, 0x13, 'f32', V],
  [0x14, 0x14, 'f64', V],
  [0x15, 0x16, V, 'i32'], // i8x16.extract_lane_s/u
  [0x17, 0x17, `${V} i32`, V], // i8x16.replace_lane
  [0x18, 0x19, V, 'i32'],
  [0x1a, 0x1a, `${V} i32`, V],
  [0x1b, 0x1b, V, 'i32'], // i32x4
  [0x1c, 0x1c, `${V} i32`, V],
  [0x1d, 0x1d, V, 'i64'], // i64x2
  [0x1e, 0x1e, `${V} i64`, V],
  [0x1f, 0x1f, V, 'f32'], // f32x4
  [0x20, 0x20, `${V} f32`, V],
  [0x21, 0x21, V, 'f64'], // f64x2
  [0x22, 0x22, `${V} f64`, V],
  [0x23, 0x4c, ...BINARY], // comparisons
  [0x4d, 0x4d, ...UNARY], // v128.not
  [0x4e, 0x51, ...BINARY], // and, andnot, or, xor
  [0x52, 0x52, ...TERNARY], // v128.bitselect
  [0x53, 0x53, ...TEST], // v128.any_true
  [0x54, 0x57, `i32 ${V}`, V], // load*_lane
  [0x58, 0x5b, `i32 ${V}`, ''], // store*_lane
  [0x5c, 0x5d, 'i32', V], // load32_zero, load64_zero
  [0x5e, 0x62, ...UNARY], // f32x4.demote_f64x2_zero, f64x2.promote_low_f32x4, i8x16 abs, neg, popcnt
  [0x63, 0x64, ...TEST], // i8x16.all_true, bitmask
  [0x65, 0x66, ...BINARY], // i8x16.narrow_i16x8_s/u
  [0x67, 0x6a, ...UNARY], // f32x4 ceil, floor, trunc, nearest
  [0x6b, 0x6d, ...SHIFT], // i8x16 shl, shr_s, shr_u
  [0x6e, 0x73, ...BINARY], // i8x16 add, add_sat, sub, sub_sat
  [0x74, 0x75, ...UNARY], // f64x2 ceil, floor
  [0x76, 0x79, ...BINARY], // i8x16 min, max
  [0x7a, 0x7a, ...UNARY], // f64x2.trunc
  [0x7b, 0x7b, ...BINARY], // i8x16.avgr_u
  [0x7c, 0x81, ...UNARY], // extadd_pairwise, i16x8 abs, neg
  [0x82, 0x82, ...BINARY], // i16x8.q15mulr_sat_s
  [0x83, 0x84, ...TEST], // i16x8.all_true, bitmask
  [0x85, 0x86, ...BINARY], // i16x8.narrow_i32x4_s/u
  [0x87, 0x8a, ...UNARY], // i16x8.extend_*
  [0x8b, 0x8d, ...SHIFT],
  [0x8e, 0x93, ...BINARY], // i16x8 add, add_sat, sub, sub_sat
  [0x94, 0x94, ...UNARY], // f64x2.nearest
  [0x95, 0x99, ...BINARY], // i16x8 mul, min, max
  [0x9b, 0x9f, ...BINARY], // i16x8.avgr_u, extmul
  [0xa0, 0xa1, ...UNARY], // i32x4 abs, neg
  [0xa3, 0xa4, ...TEST], // i32x4.all_true, bitmask
  [0xa7, 0xaa, ...UNARY], // i32x4.extend_*
  [0xab, 0xad, ...SHIFT],
  [0xae, 0xae, ...BINARY], // i32x4.add
  [0xb1, 0xb1, ...BINARY], // i32x4.sub
  [0xb5, 0xba, ...BINARY], // i32x4 mul, min, max, dot_i16x8_s
  [0xbc, 0xbf, ...BINARY], // i32x4.extmul_*
  [0xc0, 0xc1, ...UNARY], // i64x2 abs, neg
  [0xc3, 0xc4, ...TEST], // i64x2.all_true, bitmask
  [0xc7, 0xca, ...UNARY], // i64x2.extend_*
  [0xcb, 0xcd, ...SHIFT],
  [0xce, 0xce, ...BINARY], // i64x2.add
  [0xd1, 0xd1, ...BINARY], // i64x2.sub
  [0xd5, 0xdf, ...BINARY], // i64x2 mul, comparisons, extmul
  [0xe0, 0xe1, ...UNARY], // f32x4 abs, neg
  [0xe3, 0xe3, ...UNARY], // f32x4.sqrt
  [0xe4, 0xeb, ...BINARY], // f32x4 add ... pmax
  [0xec, 0xed, ...UNARY], // f64x2 abs, neg
  [0xef, 0xef, ...UNARY], // f64x2.sqrt
  [0xf0, 0xf7, ...BINARY], // f64x2 add ... pmax
  [0xf8, 0xff, ...UNARY], // conversions
  [0x100, 0x100, ...BINARY], // i8x16.relaxed_swizzle
  [0x101, 0x104, ...UNARY], // relaxed truncations
  [0x105, 0x10c, ...TERNARY], // relaxed madd, nmadd, laneselect
  [0x10d, 0x112, ...BINARY], // relaxed min, max, q15mulr, dot_i8x16_i7x16_s
  [0x113, 0x113, ...TERNARY], // i32x4.relaxed_dot_i8x16_i7x16_add_s
]

/** How many u32 immediates each 0xFC instruction has. */
// The 0xFE prefix (threads), by its second opcode: notify, wait, fence, then loads, stores, read-modify-writes
// (add, sub, and, or, xor, xchg) and cmpxchg, each for i32, i64, i32 8 and 16 bits, i64 8, 16 and 32 bits.
const ATOMIC_RANGES: Ranges = [
  [0x00, 0x00, 'i32 i32', 'i32'], // memory.atomic.notify
  [0x01, 0x01, 'i32 i32 i64', 'i32'], // memory.atomic.wait32
  [0x02, 0x02, 'i32 i64 i64', 'i32'], // memory.atomic.wait64
  [0x03, 0x03, '', ''], // atomic.fence
  [0x10, 0x10, 'i32', 'i32'], // i32.atomic.load
  [0x11, 0x11, 'i32', 'i64'],
  [0x12, 0x13, 'i32', 'i32'], // i32.atomic.load8_u, load16_u
  [0x14, 0x16, 'i32', 'i64'], // i64.atomic.load8_u ... load32_u
  [0x17, 0x17, 'i32 i32', ''], // i32.atomic.store
  [0x18, 0x18, 'i32 i64', ''],
  [0x19, 0x1a, 'i32 i32', ''], // i32.atomic.store8, store16
  [0x1b, 0x1d, 'i32 i64', ''], // i64.atomic.store8 ... store32
  ...[0x1e, 0x25, 0x2c, 0x33, 0x3a, 0x41].flatMap((rmw): Ranges => [
    [rmw, rmw, 'i32 i32', 'i32'],
    [rmw + 1, rmw + 1, 'i32 i64', 'i64'],
    [rmw + 2, rmw + 3, 'i32 i32', 'i32'],
    [rmw + 4, rmw + 6, 'i32 i64', 'i64'],
  ]),
  [0x48, 0x48, 'i32 i32 i32', 'i32'], // i32.atomic.rmw.cmpxchg
  [0x49, 0x49, 'i32 i64 i64', 'i64'],
  [0x4a, 0x4b, 'i32 i32 i32', 'i32'],
  [0x4c, 0x4e, 'i32 i64 i64', 'i64'],
]

const MISC_IMMEDIATES = [0, 0, 0, 0, 0, 0, 0, 0, 2, 1, 2, 1, 2, 1, 2, 1, 1, 1]

function effects(ranges: Ranges): (Effect | undefined)[] {
  const table: (Effect | undefined)[] = []
  for (const [first, last, pops, pushes] of ranges) {
    for (let opcode = first; opcode <= last; opcode++) table[opcode] = { pops: types(pops), pushes: types(pushes) }
  }
  return table
}

/** The bytes of one- and two-byte instructions, by content. */
const SHORT: (Uint8Array | undefined)[] = new Array(0x10100).fill(undefined)

/**
 * An instruction of one or two bytes, as one array per content that every
 * node with those bytes shares (nothing writes into a node's bytes): the
 * decoder's nodes and the instrumenter's own, most of them this short.
 */
export function shortBytes(first: number, second?: number): Uint8Array {
  if (second === undefined) return (SHORT[first] ??= new Uint8Array([first]))
  return (SHORT[0x100 + ((first << 8) | second)] ??= new Uint8Array([first, second]))
}

const FIXED = effects(FIXED_RANGES)
const MISC = effects(MISC_RANGES)
const SIMD = effects(SIMD_RANGES)
const ATOMIC = effects(ATOMIC_RANGES)

/** The function's local declarations and instructions, `code` being one body of the code section without its size. */
export function decodeBody(code: Uint8Array, params: ValType[], module: ModuleTypes): DecodedBody {
  // A plain view: the subarrays of a Node Buffer are Buffers, slower to create.
  const reader = new WasmReader(new Uint8Array(code.buffer, code.byteOffset, code.byteLength))
  const locals = readLocals(reader)
  const body = new Decoder(reader, [...params, ...locals], module).decode()
  return { locals, body }
}

function readLocals(reader: WasmReader): ValType[] {
  const locals: ValType[] = []
  for (let groups = reader.u32(); groups > 0; groups--) {
    const count = reader.u32()
    const type = valueType(reader)
    for (let k = 0; k < count; k++) locals.push(type)
  }
  return locals
}

function valueType(reader: WasmReader): ValType {
  const at = reader.offset
  const code = reader.byte()
  const type = VALUE_TYPES[code]
  if (type !== undefined) return type
  if (code === 0x63 || code === 0x64) return referenceType(code === 0x63, heapType(reader))
  const abbreviated = HEAP_TYPES[code]
  if (abbreviated === undefined) throw new DecodeUnsupported(`unsupported value type ${hex(code)} at byte ${at} of the body`)
  return referenceType(true, abbreviated)
}

/** The value type at `offset` of a module (a global's, a table's element type). */
export function valueTypeAt(bytes: Uint8Array, offset: number): ValType {
  return valueType(new WasmReader(bytes, offset))
}

/** A heap type: an abstract one's name, or a type index (a non-negative signed LEB) as digits. */
function heapType(reader: WasmReader): string {
  const at = reader.offset
  const first = reader.bytes[at]!
  // One byte with the sign bit set: an abstract type (shared ones, 0x65 first, are not decoded).
  if (first >= 0x40 && first < 0x80) {
    reader.offset++
    const name = HEAP_TYPES[first]
    if (name === undefined) throw new DecodeUnsupported(`unsupported heap type ${hex(first)} at byte ${at} of the body`)
    return name
  }
  return String(reader.u32())
}

/** A composite type, from its form byte on: a function's parameters and results, or a struct's field types or an array's element type (packed ones as i32). */
export function compositeType(reader: WasmReader): { func: FuncType } | { fields: ValType[] } {
  const at = reader.offset
  const form = reader.byte()
  const field = () => {
    const packed = reader.bytes[reader.offset] === 0x78 || reader.bytes[reader.offset] === 0x77
    const type = packed ? (reader.offset++, 'i32' as const) : valueType(reader)
    reader.byte() // mutability
    return type
  }
  if (form === 0x5e) return { fields: [field()] }
  if (form === 0x5f) {
    const fields: ValType[] = []
    for (let n = reader.u32(); n > 0; n--) fields.push(field())
    return { fields }
  }
  if (form !== 0x60) throw new DecodeUnsupported(`unsupported type form ${hex(form)} at byte ${at}`)
  const vector = () => {
    const types: ValType[] = []
    for (let n = reader.u32(); n > 0; n--) types.push(valueType(reader))
    return list(...types)
  }
  const params = vector()
  return { func: { params, results: vector() } }
}

interface Frame {
  /** The block, loop, if or try (its body or a handler) whose instructions these are; null for the function's. */
  node: Structured | null
  nodes: Node[]
  /** Values pushed in this frame (a block's parameters to begin with), bottom first. */
  stack: ValType[]
  /** False after an unconditional branch, and throughout a frame in unreachable code. */
  live: boolean
}

/** The stacks a body has had, each shared by all nodes that run on it; a body has few. */
interface StackTrie {
  stack: ValType[] | null
  next: Map<ValType, StackTrie>
}

/** Decodes instructions one at a time, with an explicit stack of frames: a large switch nests a block per case. */
class Decoder {
  private readonly code: Uint8Array
  private readonly outer: Frame[] = []
  private frame: Frame = { node: null, nodes: [], stack: [], live: true }
  private readonly stacks: StackTrie = { stack: null, next: new Map() }

  constructor(
    private readonly reader: WasmReader,
    /** Parameters, then declared locals. */
    private readonly locals: ValType[],
    private readonly module: ModuleTypes,
  ) {
    this.code = reader.bytes
  }

  decode(): Node[] {
    const body = this.frame.nodes
    while (this.instruction());
    return body
  }

  /** Decodes one instruction; false when it was the body's final `end`. */
  private instruction(): boolean {
    const reader = this.reader
    const at = reader.offset
    const opcode = reader.byte()
    const fixed = FIXED[opcode]
    if (fixed !== undefined) {
      this.fixedImmediates(opcode)
      this.op(at, fixed.pops, fixed.pushes)
      return true
    }
    switch (opcode) {
      case 0x00:
        this.append({ kind: 'unreachable', before: this.before(), at })
        this.unreachable()
        break
      case 0x0f:
        this.append({ kind: 'return', before: this.before(), at })
        this.unreachable()
        break
      case 0x02:
        this.open('block', at)
        break
      case 0x03:
        this.open('loop', at)
        break
      case 0x04:
        this.open('if', at)
        break
      case 0x05:
        this.otherwise(at)
        break
      case 0x06:
        this.open('try', at)
        break
      case 0x07:
        this.handler(at, this.tag(at))
        break
      case 0x19:
        this.handler(at, null)
        break
      case 0x08: {
        const tag = this.tag(at)
        const type = this.module.tags[tag]!
        this.append({ kind: 'throw', tag, type, before: this.before(), at })
        this.pop(type.params.length, at)
        this.unreachable()
        break
      }
      case 0x09:
        this.append({ kind: 'rethrow', depth: reader.u32(), before: this.before(), at })
        this.unreachable()
        break
      case 0x18:
        return this.close(at, reader.u32())
      case 0x0b:
        return this.close(at)
      case 0x0c:
        this.append({ kind: 'br', depth: reader.u32(), before: this.before(), at })
        this.unreachable()
        break
      case 0x0d:
        this.append({ kind: 'br_if', depth: reader.u32(), before: this.before(), at })
        this.pop(1, at)
        break
      case 0x0e:
        this.brTable(at)
        break
      case 0x10:
        this.call(at)
        break
      case 0x11:
        this.callIndirect(at)
        break
      case 0x14: {
        // call_ref: an op, never a site. A function that may suspend and makes one is refused before it is decoded (check-supported.ts).
        const type = this.functionType(reader.u32(), at)
        this.op(at, list(...type.params, this.top(1, 'funcref')), type.results)
        break
      }
      case 0x1a:
        this.op(at, one(this.top(1, 'i32')), NONE)
        break
      case 0x1b: {
        const type = this.top(2, 'i32')
        this.op(at, list(type, type, 'i32'), one(type))
        break
      }
      case 0x1c: {
        if (reader.u32() !== 1) throw invalid(at, 'typed select without exactly one type')
        const type = valueType(reader)
        this.op(at, list(type, type, 'i32'), one(type))
        break
      }
      case 0x20:
        this.op(at, NONE, one(this.local(at)))
        break
      case 0x21:
        this.op(at, one(this.local(at)), NONE)
        break
      case 0x22: {
        const type = this.local(at)
        this.op(at, one(type), one(type))
        break
      }
      case 0x23:
        this.op(at, NONE, one(this.global(at)))
        break
      case 0x24:
        this.op(at, one(this.global(at)), NONE)
        break
      case 0x25:
        this.op(at, I32, one(this.table(at)))
        break
      case 0x26:
        this.op(at, list('i32', this.table(at)), NONE)
        break
      case 0xd0:
        this.op(at, NONE, one(referenceType(true, heapType(reader))))
        break
      case 0xd1:
        this.op(at, one(this.top(1, 'funcref')), I32)
        break
      case 0xd2:
        reader.u32()
        this.op(at, NONE, one('funcref'))
        break
      case 0xd3:
        this.op(at, list(this.top(2, 'ref'), this.top(1, 'ref')), I32)
        break
      case 0xd4: {
        const type = this.top(1, 'ref')
        this.op(at, one(type), one(nonNull(type)))
        break
      }
      case 0xd5:
      case 0xd6: {
        // br_on_null leaves the reference without null when not taken; br_on_non_null takes it along when taken.
        const type = this.top(1, 'ref')
        this.branchOn(at, reader.offset, { pops: one(type), pushes: opcode === 0xd5 ? one(nonNull(type)) : NONE })
        break
      }
      case 0xfb:
        this.gc(at)
        break
      case 0xfc:
        this.misc(at)
        break
      case 0xfd:
        this.simd(at)
        break
      case 0xfe:
        this.atomic(at)
        break
      default:
        throw unsupported(at, opcode)
    }
    return true
  }

  private fixedImmediates(opcode: number): void {
    if (opcode >= 0x28 && opcode <= 0x3e) this.memarg()
    else if (opcode >= 0x3f && opcode <= 0x42) this.skipLeb() // memory index, or a constant
    else if (opcode === 0x43) this.skip(4)
    else if (opcode === 0x44) this.skip(8)
  }

  private memarg(): void {
    const at = this.reader.offset
    const flags = this.reader.u32()
    // Bit 6: a memory index follows (multi-memory); bit 5 (a memory order) and above are not decoded.
    if (flags & ~0x5f) throw new DecodeUnsupported(`unsupported memory access flags ${hex(flags)} at byte ${at} of the body`)
    if (flags & 0x40) this.skipLeb()
    this.skipLeb()
  }

  private misc(at: number): void {
    const reader = this.reader
    const op = reader.u32()
    const immediates = MISC_IMMEDIATES[op]
    if (immediates === undefined) throw unsupported(at, 0xfc, op)
    if (op === 0x0f) this.op(at, list(this.table(at), 'i32'), I32)
    else if (op === 0x11) {
      const type = this.table(at)
      this.op(at, list('i32', type, 'i32'), NONE)
    }
    else {
      for (let n = immediates; n > 0; n--) reader.u32()
      const effect = MISC[op]!
      this.op(at, effect.pops, effect.pushes)
    }
  }

  private atomic(at: number): void {
    const op = this.reader.u32()
    const effect = ATOMIC[op]
    if (effect === undefined) throw unsupported(at, 0xfe, op)
    // atomic.fence has a reserved byte; every other a memarg.
    if (op === 0x03) this.reader.byte()
    else this.memarg()
    this.op(at, effect.pops, effect.pushes)
  }

  private simd(at: number): void {
    const op = this.reader.u32()
    const effect = SIMD[op]
    if (effect === undefined) throw unsupported(at, 0xfd, op)
    const immediates = simdImmediates(op)
    if (immediates.memarg) this.memarg()
    this.skip(immediates.bytes)
    this.op(at, effect.pops, effect.pushes)
  }

  /** GC (0xFB prefix). */
  private gc(at: number): void {
    const reader = this.reader
    const op = reader.u32()
    const ref = (index: number, nullable = false) => referenceType(nullable, String(index))
    switch (op) {
      case 0x00: {
        const type = reader.u32()
        this.op(at, list(...this.fields(type, at)), one(ref(type))) // struct.new
        break
      }
      case 0x01:
        this.op(at, NONE, one(ref(reader.u32()))) // struct.new_default
        break
      case 0x02:
      case 0x03:
      case 0x04: {
        const type = reader.u32()
        this.op(at, one(ref(type, true)), one(this.field(type, reader.u32(), at))) // struct.get, get_s, get_u
        break
      }
      case 0x05: {
        const type = reader.u32()
        this.op(at, list(ref(type, true), this.field(type, reader.u32(), at)), NONE) // struct.set
        break
      }
      case 0x06: {
        const type = reader.u32()
        this.op(at, list(this.field(type, 0, at), 'i32'), one(ref(type))) // array.new
        break
      }
      case 0x07:
        this.op(at, I32, one(ref(reader.u32()))) // array.new_default
        break
      case 0x08: {
        const type = reader.u32()
        const element = this.field(type, 0, at)
        this.op(at, list(...new Array<ValType>(reader.u32()).fill(element)), one(ref(type))) // array.new_fixed
        break
      }
      case 0x09:
      case 0x0a: {
        const type = reader.u32()
        reader.u32()
        this.op(at, list('i32', 'i32'), one(ref(type))) // array.new_data, array.new_elem
        break
      }
      case 0x0b:
      case 0x0c:
      case 0x0d: {
        const type = reader.u32()
        this.op(at, list(ref(type, true), 'i32'), one(this.field(type, 0, at))) // array.get, get_s, get_u
        break
      }
      case 0x0e: {
        const type = reader.u32()
        this.op(at, list(ref(type, true), 'i32', this.field(type, 0, at)), NONE) // array.set
        break
      }
      case 0x0f:
        this.op(at, one('(ref null array)'), I32) // array.len
        break
      case 0x10: {
        const type = reader.u32()
        this.op(at, list(ref(type, true), 'i32', this.field(type, 0, at), 'i32'), NONE) // array.fill
        break
      }
      case 0x11: {
        const to = reader.u32()
        const from = reader.u32()
        this.op(at, list(ref(to, true), 'i32', ref(from, true), 'i32', 'i32'), NONE) // array.copy
        break
      }
      case 0x12:
      case 0x13: {
        const type = reader.u32()
        reader.u32()
        this.op(at, list(ref(type, true), 'i32', 'i32', 'i32'), NONE) // array.init_data, array.init_elem
        break
      }
      case 0x14:
      case 0x15:
        heapType(reader)
        this.op(at, one(this.top(1, 'ref')), I32) // ref.test, ref.test null
        break
      case 0x16:
      case 0x17:
        this.op(at, one(this.top(1, 'ref')), one(referenceType(op === 0x17, heapType(reader)))) // ref.cast, ref.cast null
        break
      case 0x18:
      case 0x19: {
        // br_on_cast and br_on_cast_fail: flags (bit 0: the input may be null, bit 1: the target may be), label, two heap types.
        const flags = reader.byte()
        const label = reader.offset
        reader.u32()
        heapType(reader)
        const target = referenceType((flags & 2) !== 0, heapType(reader))
        const type = this.top(1, 'ref')
        // Not taken, br_on_cast leaves the input as it was, and br_on_cast_fail the input cast.
        this.branchOn(at, label, { pops: one(type), pushes: one(op === 0x18 ? type : target) })
        break
      }
      case 0x1a: {
        const type = this.top(1, 'externref')
        this.op(at, one(type), one(referenceType(type === 'externref' || type.startsWith('(ref null '), 'any'))) // any.convert_extern
        break
      }
      case 0x1b: {
        const type = this.top(1, '(ref null any)')
        this.op(at, one(type), one(referenceType(type.startsWith('(ref null ') || type === 'ref', 'extern'))) // extern.convert_any
        break
      }
      case 0x1c:
        this.op(at, I32, one('(ref i31)')) // ref.i31
        break
      case 0x1d:
      case 0x1e:
        this.op(at, one(this.top(1, '(ref null i31)')), I32) // i31.get_s, i31.get_u
        break
      default:
        throw unsupported(at, 0xfb, op)
    }
  }

  /**
   * A branch on a reference, read from its label on (at the reader) to its
   * end; `labelAt`: where its label starts, `effect`: what it takes and leaves
   * when not taken. Its heap types follow the label (br_on_cast), or nothing.
   */
  private branchOn(at: number, labelAt: number, effect: Pick<BranchOn, 'pops' | 'pushes'>): void {
    const reader = this.reader
    reader.offset = labelAt
    const depth = reader.u32()
    const immediatesAt = reader.offset
    if (this.code[at] === 0xfb) {
      heapType(reader)
      heapType(reader)
    }
    const on: BranchOn = { opcode: this.code.subarray(at, labelAt), immediates: this.code.subarray(immediatesAt, reader.offset), ...effect }
    this.append({ kind: 'br_if', depth, on, before: this.before(), at })
    this.pop(effect.pops.length, at)
    this.push(effect.pushes)
  }

  /** The type of the value `depth` places from the top of the stack; `unknown` in unreachable code, where the stack may not hold it. */
  private top(depth: number, unknown: ValType): ValType {
    const stack = this.frame.stack
    return stack[stack.length - depth] ?? unknown
  }

  private fields(type: number, at: number): ValType[] {
    const fields = this.module.fields[type]
    if (!fields) throw invalid(at, `type ${type} is not a struct or array type`)
    return fields
  }

  private field(type: number, index: number, at: number): ValType {
    const field = this.fields(type, at)[index]
    if (field === undefined) throw invalid(at, `type ${type} has no field ${index}`)
    return field
  }

  private brTable(at: number): void {
    const reader = this.reader
    const depths: number[] = []
    for (let n = reader.u32(); n > 0; n--) depths.push(reader.u32())
    this.append({ kind: 'br_table', depths, fallback: reader.u32(), before: this.before(), at })
    this.unreachable()
  }

  private call(at: number): void {
    const func = this.reader.u32()
    const type = this.module.functions[func]
    if (type === undefined) throw invalid(at, `function ${func} is not in the module`)
    this.append({ kind: 'call', func, type, before: this.before(), at })
    this.pop(type.params.length, at)
    this.push(type.results)
  }

  private callIndirect(at: number): void {
    const typeIndex = this.reader.u32()
    const table = this.reader.u32()
    const type = this.functionType(typeIndex, at)
    this.append({ kind: 'call_indirect', typeIndex, table, type, before: this.before(), at })
    this.pop(type.params.length + 1, at)
    this.push(type.results)
  }

  private open(kind: Structured['kind'], at: number): void {
    const start = this.reader.offset
    const type = this.blockType(at)
    const typeBytes = this.code.subarray(start, this.reader.offset)
    const before = this.before()
    const nodes: Node[] = []
    const node: Structured =
      kind === 'if'
        ? { kind, type, typeBytes, then: nodes, else: null, before, at }
        : kind === 'try'
          ? { kind, type, typeBytes, body: nodes, catches: [], delegate: null, before, at }
          : { kind, type, typeBytes, body: nodes, before, at }
    this.append(node)
    this.pop(type.params.length + (kind === 'if' ? 1 : 0), at)
    this.outer.push(this.frame)
    this.frame = { node, nodes, stack: type.params.slice(), live: before !== null }
  }

  /** `else`: the `if`'s frame starts again, on the else branch. */
  private otherwise(at: number): void {
    const node = this.frame.node
    if (node?.kind !== 'if' || node.else !== null) throw invalid(at, 'else outside an if')
    node.else = []
    this.frame = { node, nodes: node.else, stack: node.type.params.slice(), live: node.before !== null }
  }

  /** `catch` (with its tag) or `catch_all` (null): the try's frame starts again, on a handler, with the tag's values. */
  private handler(at: number, tag: number | null): void {
    const node = this.frame.node
    if (node?.kind !== 'try' || node.catches.at(-1)?.tag === null) throw invalid(at, tag === null ? 'catch_all outside a try' : 'catch outside a try')
    const body: Node[] = []
    node.catches.push({ tag, body, at })
    this.frame = { node, nodes: body, stack: tag === null ? [] : this.module.tags[tag]!.params.slice(), live: node.before !== null }
  }

  /** `end`, or a try's `delegate` (its label depth, counted from outside the try). */
  private close(at: number, delegate?: number): boolean {
    const node = this.frame.node
    if (node === null) {
      if (delegate !== undefined) throw invalid(at, 'delegate outside a try')
      if (this.reader.offset !== this.code.length) throw invalid(at, "bytes after the function's final end")
      return false
    }
    if (delegate !== undefined) {
      if (node.kind !== 'try' || node.catches.length > 0) throw invalid(at, 'delegate outside a try body')
      node.delegate = delegate
    }
    this.frame = this.outer.pop()!
    this.push(node.type.results)
    return true
  }

  /** 0x40 (none), a value type (one byte, a negative LEB), or a type index (a positive signed LEB33). */
  private blockType(at: number): FuncType {
    const reader = this.reader
    const first = reader.bytes[reader.offset]
    if (first === 0x40) {
      reader.offset++
      return EMPTY_BLOCK
    }
    if (first !== undefined && (first & 0xc0) === 0x40) return valueBlock(valueType(reader))
    return this.functionType(reader.u32(), at)
  }

  private functionType(index: number, at: number): FuncType {
    const type = this.module.types[index]
    if (!type) throw invalid(at, `type ${index} is not a function type`)
    return type
  }

  private local(at: number): ValType {
    const index = this.reader.u32()
    const type = this.locals[index]
    if (type === undefined) throw invalid(at, `local ${index} is not declared`)
    return type
  }

  private global(at: number): ValType {
    const index = this.reader.u32()
    const type = this.module.globals[index]
    if (type === undefined) throw invalid(at, `global ${index} is not in the module`)
    return type
  }

  private tag(at: number): number {
    const index = this.reader.u32()
    if (this.module.tags[index] === undefined) throw invalid(at, `tag ${index} is not in the module`)
    return index
  }

  private table(at: number): ValType {
    const index = this.reader.u32()
    const type = this.module.tables[index]
    if (type === undefined) throw invalid(at, `table ${index} is not in the module`)
    return type
  }

  private op(at: number, pops: ValType[], pushes: ValType[]): void {
    this.append({ kind: 'op', bytes: this.bytes(at, this.reader.offset), pops, pushes, before: this.before(), at })
    this.pop(pops.length, at)
    this.push(pushes)
  }

  /** An instruction's bytes: a view of the body, or for one or two bytes a copy shared by content, cheaper than a view each. */
  private bytes(start: number, end: number): Uint8Array {
    const code = this.code
    if (end - start > 2) return code.subarray(start, end)
    return end - start === 1 ? shortBytes(code[start]!) : shortBytes(code[start]!, code[start + 1]!)
  }

  private append(node: Node): void {
    this.frame.nodes.push(node)
  }

  private before(): ValType[] | null {
    if (!this.frame.live) return null
    let trie = this.stacks
    for (const type of this.frame.stack) {
      let next = trie.next.get(type)
      if (next === undefined) {
        next = { stack: null, next: new Map() }
        trie.next.set(type, next)
      }
      trie = next
    }
    return (trie.stack ??= Object.freeze(this.frame.stack.slice()) as ValType[])
  }

  /** Unreachable code's stack is polymorphic: it starts empty and pops from it never fail. */
  private pop(count: number, at: number): void {
    const stack = this.frame.stack
    if (stack.length >= count) stack.length -= count
    else if (this.frame.live) throw invalid(at, 'operand stack underflow')
    else stack.length = 0
  }

  private push(types: ValType[]): void {
    for (const type of types) this.frame.stack.push(type)
  }

  private unreachable(): void {
    this.frame.live = false
    this.frame.stack.length = 0
  }

  private skipLeb(): void {
    while (this.reader.byte() & 0x80);
  }

  private skip(length: number): void {
    if (this.reader.offset + length > this.code.length) throw new Error('unexpected end of module')
    this.reader.offset += length
  }
}

function unsupported(at: number, ...opcode: number[]): DecodeUnsupported {
  return new DecodeUnsupported(`unsupported instruction ${opcode.map(hex).join(' ')} at byte ${at} of the body`)
}

function invalid(at: number, problem: string): Error {
  return new Error(`invalid function body: ${problem} at byte ${at}`)
}

function hex(value: number): string {
  return `0x${value.toString(16).padStart(2, '0')}`
}

/**
 * The body's local declarations (consecutive locals of a type in one),
 * instructions and final `end`. `placed` hears where each instruction that
 * came from the input (`at`) starts in the output body; `marked` collects
 * where each of its nodes starts, from the body's first byte (its local
 * declarations), as code metadata counts.
 */
export function encodeBody(
  decoded: DecodedBody,
  placed?: (at: number, offset: number) => void,
  marked?: { nodes: ReadonlySet<Node>; offsets: number[] },
): Uint8Array {
  const out = new ByteWriter()
  writeLocals(out, decoded.locals)
  writeCode(out, decoded.body, placed, marked)
  return out.result()
}

function writeLocals(out: ByteWriter, locals: ValType[]): void {
  let groups = 0
  for (let i = 0; i < locals.length; i++) if (locals[i] !== locals[i - 1]) groups++
  out.u32(groups)
  for (let i = 0; i < locals.length; ) {
    let end = i + 1
    while (locals[end] === locals[i]) end++
    out.u32(end - i)
    for (const byte of typeBytes(locals[i]!)) out.byte(byte)
    i = end
  }
}

/** A list of nodes being written, and what follows it: an `if`'s else branch, a try's handlers, and how the construct ends. */
interface Pending {
  nodes: Node[]
  next: number
  /** The lists after this one in the same construct, each with the bytes that open it (`else`, `catch` and its tag). */
  after: { opener: number[]; nodes: Node[] }[]
  /** What ends the construct after its last list: `end`, or a `delegate` and its depth. */
  closer: number[]
}

const END = [0x0b]

/** The instructions whose one immediate is a label depth. */
const LABEL_OPCODES = { br: 0x0c, br_if: 0x0d, rethrow: 0x09 } as const

/** Writes `body` and the `end` of each list in it (the function's included), without recursion. */
function writeCode(
  out: ByteWriter,
  body: Node[],
  placed?: (at: number, offset: number) => void,
  marked?: { nodes: ReadonlySet<Node>; offsets: number[] },
): void {
  const lists: Pending[] = [{ nodes: body, next: 0, after: [], closer: END }]
  while (lists.length > 0) {
    const list = lists[lists.length - 1]!
    const node = list.nodes[list.next++]
    if (node === undefined) {
      lists.pop()
      const [following, ...rest] = list.after
      if (following === undefined) for (const byte of list.closer) out.byte(byte)
      else {
        for (const byte of following.opener) out.byte(byte)
        lists.push({ nodes: following.nodes, next: 0, after: rest, closer: list.closer })
      }
      continue
    }
    if (placed && node.at !== undefined) placed(node.at, out.size)
    if (marked?.nodes.has(node)) marked.offsets.push(out.size)
    switch (node.kind) {
      case 'op':
        out.bytes(node.bytes)
        break
      case 'block':
      case 'loop':
        out.byte(node.kind === 'block' ? 0x02 : 0x03)
        out.bytes(node.typeBytes)
        lists.push({ nodes: node.body, next: 0, after: [], closer: END })
        break
      case 'if':
        out.byte(0x04)
        out.bytes(node.typeBytes)
        lists.push({ nodes: node.then, next: 0, after: node.else === null ? [] : [{ opener: [0x05], nodes: node.else }], closer: END })
        break
      case 'try': {
        out.byte(0x06)
        out.bytes(node.typeBytes)
        const after = node.catches.map(({ tag, body }) => ({ opener: tag === null ? [0x19] : [0x07, ...leb(tag)], nodes: body }))
        lists.push({ nodes: node.body, next: 0, after, closer: node.delegate === null ? END : [0x18, ...leb(node.delegate)] })
        break
      }
      case 'throw':
        out.byte(0x08)
        out.u32(node.tag)
        break
      case 'br':
      case 'br_if':
      case 'rethrow':
        if (node.kind === 'br_if' && node.on) {
          out.bytes(node.on.opcode)
          out.u32(node.depth)
          out.bytes(node.on.immediates)
          break
        }
        out.byte(LABEL_OPCODES[node.kind])
        out.u32(node.depth)
        break
      case 'br_table':
        out.byte(0x0e)
        out.u32(node.depths.length)
        for (const depth of node.depths) out.u32(depth)
        out.u32(node.fallback)
        break
      case 'call':
        out.byte(0x10)
        out.u32(node.func)
        break
      case 'call_indirect':
        out.byte(0x11)
        out.u32(node.typeIndex)
        out.u32(node.table)
        break
      case 'return':
        out.byte(0x0f)
        break
      case 'unreachable':
        out.byte(0x00)
        break
    }
  }
}

/** A growable byte buffer. */
class ByteWriter {
  private buffer = new Uint8Array(1024)
  private length = 0

  get size(): number {
    return this.length
  }

  byte(value: number): void {
    this.reserve(1)
    this.buffer[this.length++] = value
  }

  /** An unsigned LEB128, minimal; written in place, as wasm-writer's leb() would make an array of it. */
  u32(value: number): void {
    this.reserve(5)
    while (value >= 0x80) {
      this.buffer[this.length++] = (value & 0x7f) | 0x80
      value >>>= 7
    }
    this.buffer[this.length++] = value
  }

  bytes(data: Uint8Array): void {
    this.reserve(data.length)
    this.buffer.set(data, this.length)
    this.length += data.length
  }

  result(): Uint8Array {
    return this.buffer.slice(0, this.length)
  }

  private reserve(size: number): void {
    if (this.length + size <= this.buffer.length) return
    const grown = new Uint8Array(Math.max(this.buffer.length * 2, this.length + size))
    grown.set(this.buffer.subarray(0, this.length))
    this.buffer = grown
  }
}

/** The index after an instruction's opcode (a local's, a global's): read where every local access is walked. */
export function indexImmediate(bytes: Uint8Array): number {
  let value = 0
  for (let k = 1, shift = 0; ; k++, shift += 7) {
    const byte = bytes[k]!
    value |= (byte & 0x7f) << shift
    if (byte < 0x80) return value >>> 0
  }
}
