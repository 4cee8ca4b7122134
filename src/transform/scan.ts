/*
 * What the JSPI path needs from a module, read straight from its bytes:
 * the function, global and memory index spaces (with signatures, imports and
 * names), the exports, and who calls whom. binaryen.js needs minutes to read a
 * large module; this takes one pass over the bytes, so the dev server can serve
 * a JSPI module at once.
 *
 * It does not validate. It decodes every instruction's immediates only to stay
 * in step with the code (a single byte misread would turn the rest of a body
 * into noise), and throws ScanError, naming the byte, on anything it does not
 * know: an unknown opcode, section, type form or import kind, or a body or
 * section that does not end where its size says. Whoever catches it can fall
 * back to Binaryen, which decodes more and explains better.
 *
 * Decoded: MVP, sign extension, saturating truncation, bulk memory and table
 * ops, reference types, multi-value blocks, SIMD and relaxed SIMD, threads,
 * tail calls, exception handling (legacy and exnref), typed function
 * references, GC, multi-memory, memory64, extended-const, wide arithmetic.
 * Not decoded (ScanError): stack switching, strings, shared-everything,
 * custom descriptors, FP16, compact imports, and the memory orders of
 * acquire/release atomics.
 */
import type { Signature, WasmValueType } from '../runtime-shim/metadata.js'
import { WasmReader } from './wasm-reader.js'

export interface ScannedImport {
  module: string
  name: string
}

export interface ScannedFunction {
  /** From the name section. */
  name: string | null
  imported: ScannedImport | null
  type: Signature
  /** Its type's index, where the precise types of its parameters and results are (`typeStarts`). */
  typeIndex: number
}

export interface ScannedExport {
  name: string
  kind: 'function' | 'table' | 'memory' | 'global' | 'tag'
  /** Index in the kind's index space (imports first). */
  index: number
}

export interface ScannedGlobal {
  name: string | null
  imported: ScannedImport | null
  type: WasmValueType
  /** Where its value type starts in the module: `type` reads every typed reference as `'ref'`. */
  typeStart: number
  mutable: boolean
  /** A defined global's initial value when it is one `i32.const`; else null. */
  initI32: number | null
}

export interface ScannedMemory {
  imported: ScannedImport | null
  name: string | null
  /** 64-bit addresses (limits flag 0x04). */
  memory64: boolean
  /** Shared between threads (limits flag 0x02). */
  shared: boolean
}

/** Where a body lies: all a scan that skips the code records of it. */
export interface BodyExtent {
  /** Bytes of the body, its local declarations included. */
  size: number
  /** Where its code starts in the module (after the local declarations). */
  codeStart: number
}

export interface ScannedBody extends BodyExtent {
  /** Function indices it calls directly (`call`, `return_call`). */
  calls: Set<number>
  /** Whether it makes any indirect call (`call_indirect`, `call_ref` and their `return_` forms). */
  indirect: boolean
  /** The type indices its `call_indirect`s (and `return_call_indirect`s) name. */
  indirectTypes: Set<number>
  /** Whether it makes a `call_ref` (or `return_call_ref`): a target of any type. */
  callRef: boolean
  /** Whether it has a legacy `try` block, and a `try_table` block. */
  legacyTry: boolean
  tryTable: boolean
  /** Whether it makes a tail call (`return_call` and its indirect forms): Asyncify cannot instrument those. */
  tailCall: boolean
  /** Whether it declares a local of a reference type: Asyncify cannot save those either. */
  referenceLocal: boolean
  /**
   * Where each instruction starts in the module (`end`, `else` and `catch`
   * included), in order; only when the scan was asked for them.
   */
  instructions: number[] | null
}

const NUMBER_TYPES: ReadonlySet<WasmValueType> = new Set(['i32', 'i64', 'f32', 'f64', 'v128'])

export interface ScannedModule {
  /** Function index space: imported functions first, then defined ones. */
  functions: ScannedFunction[]
  exports: ScannedExport[]
  /** Global index space: imported globals first. */
  globals: ScannedGlobal[]
  /** Memory index space: imported memories first. */
  memories: ScannedMemory[]
  /** Table index space (imported tables first): each table's element type. */
  tables: WasmValueType[]
  /** Where each table's element type starts in the module (see `typeStarts`). */
  tableTypeStarts: number[]
  /** Tag index space (imported tags first): each tag's type index. */
  tags: number[]
  /** Per defined function, in the order of the code section. */
  bodies: ScannedBody[]
  /** Signatures by type index; null for struct and array types. */
  types: (Signature | null)[]
  /** Type names from the name section, by type index: what messages call a type. */
  typeNames: Map<number, string>
  /**
   * Where each type's composite type (its form byte: func, struct, array)
   * starts in the module: a signature above reads every typed reference as
   * `'ref'`, and what needs the type itself (the direct engine) decodes it there.
   */
  typeStarts: number[]
  /**
   * Whether a type declares supertypes or shares a recursion group: then a
   * `call_indirect` may accept a function whose signature differs from the
   * one it names, or reject one with the same signature.
   */
  subtyping: boolean
  /** Functions whose reference the module takes (`ref.func`, element segments): what a table can hold besides exports. */
  referenced: Set<number>
}

/** Bytes the scanner cannot decode; `offset` is where in the module. */
export class ScanError extends Error {
  override name = 'ScanError'
  constructor(
    readonly offset: number,
    problem: string,
  ) {
    super(`cannot scan the module at byte ${offset} (0x${offset.toString(16)}): ${problem}`)
  }
}

/** The module's scan, or null when the scanner cannot read it (the pipeline then decides, and explains). */
export function scanOrNull(bytes: Uint8Array): ScannedModule | null {
  try {
    return scanModule(bytes)
  } catch (error) {
    if (error instanceof ScanError) return null
    throw error
  }
}

const EXPORT_KINDS = ['function', 'table', 'memory', 'global', 'tag'] as const

/**
 * A module's index spaces and exports, and only where each body lies: what a
 * scan with `code: false` returns. It skips the instructions, so it knows
 * nothing of calls, and nothing of the references code takes.
 */
export interface ScannedLayout extends Omit<ScannedModule, 'bodies' | 'referenced'> {
  bodies: BodyExtent[]
}

type CodeScan = 'skip' | 'decode' | 'trace'

/**
 * `instructions`: record each body's instruction offsets (debug-locations.ts
 * lines them up with Binaryen's IR). `code: false`: read where bodies lie and
 * skip their instructions (a tenth of the time on a large module).
 */
export function scanModule(bytes: Uint8Array, options: { code: false }): ScannedLayout
export function scanModule(bytes: Uint8Array, options?: { instructions?: boolean }): ScannedModule
export function scanModule(bytes: Uint8Array, options: { instructions?: boolean; code?: false } = {}): ScannedLayout {
  const reader = new WasmReader(bytes)
  try {
    if (options.code !== false) return scan(reader, options.instructions ? 'trace' : 'decode')
    // Without the code, the references the module takes are only partly known: not returned.
    const { referenced: _, ...layout } = scan(reader, 'skip')
    return layout
  } catch (error) {
    if (error instanceof ScanError) throw error
    // The reader's own errors (a read past the end) carry no position.
    throw new ScanError(Math.min(reader.offset, bytes.length), error instanceof Error ? error.message : String(error))
  }
}

function scan(reader: WasmReader, code: CodeScan): ScannedLayout & Pick<ScannedModule, 'referenced'> {
  const { bytes } = reader
  const header = [0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00]
  if (header.some((byte, i) => bytes[i] !== byte)) throw new ScanError(0, 'not a version 1 wasm module')
  reader.offset = header.length

  const module: ScannedLayout & Pick<ScannedModule, 'referenced'> = {
    functions: [],
    exports: [],
    globals: [],
    memories: [],
    tables: [],
    tableTypeStarts: [],
    tags: [],
    bodies: [],
    types: [],
    typeNames: new Map(),
    typeStarts: [],
    subtyping: false,
    referenced: new Set(),
  }
  const { referenced } = module
  let names: Names | null = null
  while (reader.offset < bytes.length) {
    const start = reader.offset
    const id = reader.byte()
    const size = reader.u32()
    const end = reader.offset + size
    if (end > bytes.length) throw new ScanError(start, `section ${id} runs past the end of the module`)
    switch (id) {
      case 0: // custom (anywhere)
        if (reader.name() === 'name') names = readNames(bytes.subarray(reader.offset, end))
        reader.offset = end
        break
      case 1: // type
        readTypes(reader, module)
        break
      case 2: // import
        readImports(reader, module)
        break
      case 3: // function
        for (let n = reader.u32(); n > 0; n--) module.functions.push({ name: null, imported: null, ...signature(reader, module.types) })
        break
      case 4: // table
        for (let n = reader.u32(); n > 0; n--) {
          // A table with an initializer: 0x40 0x00, then the table type and a constant expression.
          if (bytes[reader.offset] === 0x40) {
            reader.offset++
            reader.byte()
            module.tableTypeStarts.push(reader.offset)
            module.tables.push(reader.table())
            expression(reader, null, referenced)
          } else {
            module.tableTypeStarts.push(reader.offset)
            module.tables.push(reader.table())
          }
        }
        break
      case 5: // memory
        for (let n = reader.u32(); n > 0; n--) {
          const flags = bytes[reader.offset]!
          reader.limits()
          module.memories.push({ imported: null, name: null, memory64: (flags & 0x04) !== 0, shared: (flags & 0x02) !== 0 })
        }
        break
      case 6: // global
        for (let n = reader.u32(); n > 0; n--) {
          const typeStart = reader.offset
          const type = reader.valueType()
          const mutable = (reader.byte() & 1) === 1
          module.globals.push({ name: null, imported: null, type, typeStart, mutable, initI32: constantI32(reader) })
          expression(reader, null, referenced)
        }
        break
      case 7: // export
        for (let n = reader.u32(); n > 0; n--) {
          const name = reader.name()
          const at = reader.offset
          const kind = EXPORT_KINDS[reader.byte()]
          if (kind === undefined) throw new ScanError(at, `unknown export kind 0x${hex(bytes[at]!)}`)
          module.exports.push({ name, kind, index: reader.u32() })
        }
        break
      case 8: // start
      case 12: // data count
        reader.u32()
        break
      case 9: // element
        readElements(reader, referenced)
        break
      case 10: // code
        readCode(reader, module, code)
        break
      case 11: // data
        readData(reader, referenced)
        break
      case 13: // tag
        for (let n = reader.u32(); n > 0; n--) module.tags.push(reader.tag())
        break
      default:
        throw new ScanError(start, `unknown section id ${id}`)
    }
    if (reader.offset !== end) throw new ScanError(start, `section ${id} should end at byte ${end} but its contents end at ${reader.offset}`)
  }

  const defined = module.functions.filter((fn) => fn.imported === null).length
  if (module.bodies.length !== defined) {
    throw new ScanError(bytes.length, `${defined} functions are declared but the code section has ${module.bodies.length} bodies`)
  }
  if (names) {
    for (const [index, name] of names.functions) if (module.functions[index]) module.functions[index].name = name
    for (const [index, name] of names.globals) if (module.globals[index]) module.globals[index].name = name
    for (const [index, name] of names.memories) if (module.memories[index]) module.memories[index].name = name
    module.typeNames = names.types
  }
  return module
}

/** How many types a type section's vector (at the reader) declares: each member of a recursion group counts. */
export function countTypes(reader: WasmReader): number {
  const types = { types: [], typeStarts: [], subtyping: false }
  readTypes(reader, types)
  return types.types.length
}

function readTypes(reader: WasmReader, module: Pick<ScannedModule, 'types' | 'typeStarts' | 'subtyping'>): void {
  for (let n = reader.u32(); n > 0; n--) {
    if (reader.bytes[reader.offset] === 0x4e) {
      // A recursion group: its members take consecutive indices.
      reader.offset++
      const members = reader.u32()
      if (members > 1) module.subtyping = true
      for (let m = members; m > 0; m--) subType(reader, module)
    } else subType(reader, module)
  }
}

function subType(reader: WasmReader, module: Pick<ScannedModule, 'types' | 'typeStarts' | 'subtyping'>): void {
  if (reader.bytes[reader.offset] === 0x50 || reader.bytes[reader.offset] === 0x4f) {
    const form = reader.byte()
    const supertypes = reader.u32()
    // A final type with no supertype (0x4f 0x00) is the plain form spelled out.
    if (form === 0x50 || supertypes > 0) module.subtyping = true
    for (let n = supertypes; n > 0; n--) reader.u32()
  }
  module.typeStarts.push(reader.offset)
  module.types.push(compositeType(reader))
}

function compositeType(reader: WasmReader): Signature | null {
  const at = reader.offset
  const form = reader.byte()
  switch (form) {
    case 0x60:
      return { params: reader.valueTypes(), results: reader.valueTypes() }
    case 0x5f:
      for (let n = reader.u32(); n > 0; n--) fieldType(reader)
      return null
    case 0x5e:
      fieldType(reader)
      return null
    default:
      throw new ScanError(at, `unknown type form 0x${hex(form)}`)
  }
}

function fieldType(reader: WasmReader): void {
  // The packed storage types i8 (0x78) and i16 (0x77) are one byte, like the abstract reference types.
  reader.valueType()
  reader.byte() // mutability
}

/** Reads a type index and returns its signature, with the index. */
function signature(reader: WasmReader, types: (Signature | null)[]): { type: Signature; typeIndex: number } {
  const at = reader.offset
  const typeIndex = reader.u32()
  const type = types[typeIndex]
  if (!type) throw new ScanError(at, `type ${typeIndex} is not a function type`)
  return { type, typeIndex }
}

function readImports(reader: WasmReader, module: Pick<ScannedModule, 'functions' | 'types' | 'memories' | 'globals' | 'tables' | 'tableTypeStarts' | 'tags'>): void {
  for (let n = reader.u32(); n > 0; n--) {
    const imported = { module: reader.name(), name: reader.name() }
    const at = reader.offset
    const kind = reader.byte()
    switch (kind) {
      case 0x00:
        module.functions.push({ name: null, imported, ...signature(reader, module.types) })
        break
      case 0x01:
        module.tableTypeStarts.push(reader.offset)
        module.tables.push(reader.table())
        break
      case 0x02: {
        const flags = reader.bytes[reader.offset]!
        reader.limits()
        module.memories.push({ imported, name: null, memory64: (flags & 0x04) !== 0, shared: (flags & 0x02) !== 0 })
        break
      }
      case 0x03:
        module.globals.push({ name: null, imported, typeStart: reader.offset, type: reader.valueType(), mutable: (reader.byte() & 1) === 1, initI32: null })
        break
      case 0x04:
        module.tags.push(reader.tag())
        break
      default:
        throw new ScanError(at, `unknown import kind 0x${hex(kind)}`)
    }
  }
}

function readElements(reader: WasmReader, referenced: Set<number>): void {
  for (let n = reader.u32(); n > 0; n--) {
    const at = reader.offset
    const flags = reader.u32()
    if (flags > 7) throw new ScanError(at, `unknown element segment flags ${flags}`)
    // Bit 0: passive or declarative; bit 1: an explicit table (when active); bit 2: items are expressions.
    const active = (flags & 1) === 0
    if (active && flags & 2) reader.u32()
    if (active) expression(reader, null, referenced)
    const expressions = (flags & 4) !== 0
    if (flags & 3) {
      if (expressions) reader.valueType()
      else reader.byte() // elemkind: 0x00, funcref
    }
    for (let m = reader.u32(); m > 0; m--) {
      if (expressions) expression(reader, null, referenced)
      else referenced.add(reader.u32())
    }
  }
}

function readData(reader: WasmReader, referenced: Set<number>): void {
  for (let n = reader.u32(); n > 0; n--) {
    const at = reader.offset
    const flags = reader.u32()
    if (flags > 2) throw new ScanError(at, `unknown data segment flags ${flags}`)
    if (flags === 2) reader.u32() // memory index
    if (flags !== 1) expression(reader, null, referenced)
    skip(reader, reader.u32())
  }
}

function readCode(reader: WasmReader, module: Pick<ScannedLayout, 'bodies'> & Pick<ScannedModule, 'referenced'>, code: CodeScan): void {
  for (let n = reader.u32(); n > 0; n--) {
    const size = reader.u32()
    const end = reader.offset + size
    let referenceLocal = false
    for (let m = reader.u32(); m > 0; m--) {
      reader.u32()
      if (!NUMBER_TYPES.has(reader.valueType())) referenceLocal = true
    }
    if (code === 'skip') {
      module.bodies.push({ size, codeStart: reader.offset })
      reader.offset = end
      continue
    }
    const body: ScannedBody = {
      size,
      calls: new Set(),
      indirect: false,
      indirectTypes: new Set(),
      callRef: false,
      legacyTry: false,
      tryTable: false,
      tailCall: false,
      referenceLocal,
      codeStart: reader.offset,
      instructions: code === 'trace' ? [] : null,
    }
    expression(reader, body, module.referenced)
    if (reader.offset !== end) {
      throw new ScanError(reader.offset, `the body of function ${module.bodies.length} should end at byte ${end}`)
    }
    module.bodies.push(body)
  }
}

/**
 * Decodes instructions up to the `end` that closes the expression, recording
 * calls into `body` (null for a constant expression) and the functions it
 * takes a reference to into `referenced`.
 */
/** The value of a constant expression at the reader's position that is one `i32.const`, else null; the reader does not move. */
function constantI32(reader: WasmReader): number | null {
  if (reader.bytes[reader.offset] !== 0x41) return null
  const ahead = new WasmReader(reader.bytes, reader.offset + 1)
  const value = ahead.s32()
  return ahead.bytes[ahead.offset] === 0x0b ? value : null
}

function expression(reader: WasmReader, body: ScannedBody | null, referenced: Set<number>): void {
  let depth = 0
  const trace = body?.instructions
  for (;;) {
    const at = reader.offset
    trace?.push(at)
    const opcode = reader.byte()
    // The numeric operators (MVP and sign extension) have no immediates, and are most of any body.
    if (opcode >= 0x45 && opcode <= 0xc4) continue
    switch (opcode) {
      case 0x00: // unreachable
      case 0x01: // nop
      case 0x05: // else
      case 0x0a: // throw_ref
      case 0x0f: // return
      case 0x19: // catch_all
      case 0x1a: // drop
      case 0x1b: // select
      case 0xd1: // ref.is_null
      case 0xd3: // ref.eq
      case 0xd4: // ref.as_non_null
        break
      case 0x06: // try
        if (body) body.legacyTry = true
      // falls through: a block type, like the other blocks
      case 0x02: // block
      case 0x03: // loop
      case 0x04: // if
        blockType(reader)
        depth++
        break
      case 0x1f: // try_table
        if (body) body.tryTable = true
        blockType(reader)
        for (let n = reader.u32(); n > 0; n--) {
          const clause = reader.offset
          const kind = reader.byte() // catch, catch_ref, catch_all, catch_all_ref
          if (kind > 3) throw new ScanError(clause, `unknown try_table catch kind ${kind}`)
          if (kind < 2) reader.u32() // tag
          reader.u32() // label
        }
        depth++
        break
      case 0x0b: // end
        if (depth === 0) return
        depth--
        break
      case 0x18: // delegate: ends its try like an `end`
        if (depth === 0) throw new ScanError(at, 'delegate outside a try')
        depth--
        reader.u32()
        break
      case 0x07: // catch (tag)
      case 0x08: // throw (tag)
      case 0x09: // rethrow (label)
      case 0x0c: // br
      case 0x0d: // br_if
      case 0x20: // local.get
      case 0x21: // local.set
      case 0x22: // local.tee
      case 0x23: // global.get
      case 0x24: // global.set
      case 0x25: // table.get
      case 0x26: // table.set
      case 0x3f: // memory.size (memory)
      case 0x40: // memory.grow (memory)
      case 0x41: // i32.const: a signed LEB, skipped by its continuation bits alike
      case 0x42: // i64.const
      case 0xd5: // br_on_null
      case 0xd6: // br_on_non_null
        reader.u32()
        break
      case 0xd2: // ref.func
        referenced.add(reader.u32())
        break
      case 0x0e: // br_table: the labels, then the default
        for (let n = reader.u32(); n >= 0; n--) reader.u32()
        break
      case 0x10: // call
      case 0x12: // return_call
        body?.calls.add(reader.u32())
        if (body && opcode === 0x12) body.tailCall = true
        break
      case 0x11: // call_indirect: type, table
      case 0x13: // return_call_indirect
        body?.indirectTypes.add(reader.u32())
        reader.u32()
        if (body) body.indirect = true
        if (body && opcode === 0x13) body.tailCall = true
        break
      case 0x14: // call_ref: type
      case 0x15: // return_call_ref
        reader.u32()
        if (body) body.indirect = body.callRef = true
        if (body && opcode === 0x15) body.tailCall = true
        break
      case 0x1c: // select with types
        reader.valueTypes()
        break
      case 0x43: // f32.const
        skip(reader, 4)
        break
      case 0x44: // f64.const
        skip(reader, 8)
        break
      case 0xd0: // ref.null
        reader.heapType()
        break
      case 0xfb:
        gcInstruction(reader, at)
        break
      case 0xfc:
        miscInstruction(reader, at)
        break
      case 0xfd:
        simdInstruction(reader, at)
        break
      case 0xfe:
        atomicInstruction(reader, at)
        break
      default:
        if (opcode >= 0x28 && opcode <= 0x3e) memarg(reader) // loads and stores
        else throw unknownOpcode(at, opcode)
    }
  }
}

/** 0x40 (none), a value type (one byte that is a negative LEB), or a type index (a positive signed LEB33). */
function blockType(reader: WasmReader): void {
  const first = reader.bytes[reader.offset]
  if (first === 0x40) reader.offset++
  else if (first !== undefined && (first & 0xc0) === 0x40) reader.valueType()
  else reader.u32()
}

function memarg(reader: WasmReader): void {
  const at = reader.offset
  const flags = reader.u32()
  // Bit 6: a memory index follows (multi-memory). Bit 5 (a memory order) and higher bits are not decoded.
  if (flags & ~0x5f) throw new ScanError(at, `memory access flags 0x${hex(flags)} are not decoded`)
  if (flags & 0x40) reader.u32()
  reader.u32() // offset: a u64 LEB under memory64
}

/** Saturating truncation, bulk memory and table ops, wide arithmetic (0xFC prefix). */
function miscInstruction(reader: WasmReader, at: number): void {
  const op = reader.u32()
  if (op <= 0x07 || (op >= 0x13 && op <= 0x16)) return // trunc_sat; i64.add128, sub128, mul_wide_s/u
  switch (op) {
    case 0x09: // data.drop
    case 0x0b: // memory.fill (memory)
    case 0x0d: // elem.drop
    case 0x0f: // table.grow (table)
    case 0x10: // table.size
    case 0x11: // table.fill
      reader.u32()
      return
    case 0x08: // memory.init: data, memory
    case 0x0a: // memory.copy: memory, memory
    case 0x0c: // table.init: element segment, table
    case 0x0e: // table.copy: table, table
      reader.u32()
      reader.u32()
      return
  }
  throw unknownOpcode(at, 0xfc, op)
}

/** Opcodes below 0x100 that the final SIMD proposal left unassigned (proposals withdrawn before it shipped). */
const UNASSIGNED_SIMD = new Set([
  0x9a, 0xa2, 0xa5, 0xa6, 0xaf, 0xb0, 0xb2, 0xb3, 0xb4, 0xbb, 0xc2, 0xc5, 0xc6, 0xcf, 0xd0, 0xd2, 0xd3, 0xd4, 0xe2, 0xee,
])

/** What follows a SIMD instruction's opcode: a memarg or not, then `bytes` more (a lane index, or 16 for a vector). */
export interface SimdImmediates {
  memarg: boolean
  bytes: number
}

const MEMARG: SimdImmediates = Object.freeze({ memarg: true, bytes: 0 })
const VECTOR: SimdImmediates = Object.freeze({ memarg: false, bytes: 16 })
const LANE: SimdImmediates = Object.freeze({ memarg: false, bytes: 1 })
const MEMARG_LANE: SimdImmediates = Object.freeze({ memarg: true, bytes: 1 })
const NO_IMMEDIATES: SimdImmediates = Object.freeze({ memarg: false, bytes: 0 })

/** The immediates of the SIMD (0xFD) instruction `op`; the scanner and the direct engine's decoder both read them so. */
export function simdImmediates(op: number): SimdImmediates {
  if (op <= 0x0b || op === 0x5c || op === 0x5d) return MEMARG // loads, splats, store, load32/64_zero
  if (op === 0x0c || op === 0x0d) return VECTOR // v128.const, i8x16.shuffle
  if (op >= 0x15 && op <= 0x22) return LANE // extract_lane, replace_lane
  if (op >= 0x54 && op <= 0x5b) return MEMARG_LANE // load*_lane, store*_lane
  // Everything else, relaxed SIMD (0x100 to 0x113) included.
  return NO_IMMEDIATES
}

/** SIMD and relaxed SIMD (0xFD prefix). */
function simdInstruction(reader: WasmReader, at: number): void {
  const op = reader.u32()
  if (op <= 0xff ? UNASSIGNED_SIMD.has(op) : op > 0x113) throw unknownOpcode(at, 0xfd, op)
  const immediates = simdImmediates(op)
  if (immediates.memarg) memarg(reader)
  skip(reader, immediates.bytes)
}

/** Threads (0xFE prefix). */
function atomicInstruction(reader: WasmReader, at: number): void {
  const op = reader.u32()
  if (op === 0x03) reader.byte() // atomic.fence: a reserved byte
  else if (op <= 0x02 || (op >= 0x10 && op <= 0x4e)) memarg(reader) // notify, wait, loads, stores, rmw, cmpxchg
  else throw unknownOpcode(at, 0xfe, op)
}

/** GC (0xFB prefix). */
function gcInstruction(reader: WasmReader, at: number): void {
  const op = reader.u32()
  switch (op) {
    case 0x0f: // array.len
    case 0x1a: // any.convert_extern
    case 0x1b: // extern.convert_any
    case 0x1c: // ref.i31
    case 0x1d: // i31.get_s
    case 0x1e: // i31.get_u
      return
    case 0x00: // struct.new (type)
    case 0x01: // struct.new_default
    case 0x06: // array.new
    case 0x07: // array.new_default
    case 0x0b: // array.get
    case 0x0c: // array.get_s
    case 0x0d: // array.get_u
    case 0x0e: // array.set
    case 0x10: // array.fill
      reader.u32()
      return
    case 0x02: // struct.get: type, field
    case 0x03: // struct.get_s
    case 0x04: // struct.get_u
    case 0x05: // struct.set
    case 0x08: // array.new_fixed: type, count
    case 0x09: // array.new_data: type, data segment
    case 0x0a: // array.new_elem: type, element segment
    case 0x11: // array.copy: type, type
    case 0x12: // array.init_data: type, data segment
    case 0x13: // array.init_elem: type, element segment
      reader.u32()
      reader.u32()
      return
    case 0x14: // ref.test
    case 0x15: // ref.test null
    case 0x16: // ref.cast
    case 0x17: // ref.cast null
      reader.heapType()
      return
    case 0x18: // br_on_cast: nullability flags, label, source and target heap types
    case 0x19: // br_on_cast_fail
      reader.byte()
      reader.u32()
      reader.heapType()
      reader.heapType()
      return
  }
  throw unknownOpcode(at, 0xfb, op)
}

function unknownOpcode(at: number, ...opcode: number[]): ScanError {
  return new ScanError(at, `unknown opcode ${opcode.map((byte) => `0x${hex(byte)}`).join(' ')}`)
}

function skip(reader: WasmReader, length: number): void {
  if (reader.offset + length > reader.bytes.length) throw new Error('unexpected end of module')
  reader.offset += length
}

function hex(value: number): string {
  return value.toString(16).padStart(2, '0')
}

interface Names {
  functions: Map<number, string>
  types: Map<number, string>
  globals: Map<number, string>
  memories: Map<number, string>
}

/** Name-section subsections read; the others (module, locals, labels, fields, ...) are skipped. */
const NAME_MAPS = { 1: 'functions', 4: 'types', 6: 'memories', 7: 'globals' } as const

/**
 * The names of functions, types, globals and memories. Custom sections are optional
 * by the spec, so a damaged name section names nothing instead of failing the scan.
 */
function readNames(payload: Uint8Array): Names | null {
  const names: Names = { functions: new Map(), types: new Map(), globals: new Map(), memories: new Map() }
  const reader = new WasmReader(payload)
  try {
    while (reader.offset < payload.length) {
      const id = reader.byte()
      const end = reader.u32() + reader.offset
      if (end > payload.length) return null
      const map = NAME_MAPS[id as keyof typeof NAME_MAPS]
      if (map) {
        for (let n = reader.u32(); n > 0; n--) {
          const index = reader.u32()
          names[map].set(index, reader.name())
        }
        if (reader.offset !== end) return null
      }
      reader.offset = end
    }
  } catch {
    return null
  }
  return names
}
