/*
 * A cursor over the wasm binary encoding (LEB128 integers, names, value types),
 * for the few facts read straight from the bytes at build time: custom sections
 * and global names for the transform, export signatures for the plugin's d.ts.
 * Reading past the end throws.
 */

import type { WasmValueType } from '../runtime-shim/metadata.js'

export type ValueType = WasmValueType

// One decoder for every name: a module with a name section has thousands.
const UTF8 = new TextDecoder()

export class WasmReader {
  constructor(
    readonly bytes: Uint8Array,
    public offset = 0,
  ) {}

  byte(): number {
    const value = this.bytes[this.offset++]
    if (value === undefined) throw new Error('unexpected end of module')
    return value
  }

  u32(): number {
    let result = 0
    for (let shift = 0; ; shift += 7) {
      const byte = this.byte()
      result += (byte & 0x7f) * 2 ** shift
      if ((byte & 0x80) === 0) return result
    }
  }

  /** A signed LEB128 of at most 32 bits. */
  s32(): number {
    let result = 0
    let shift = 0
    let byte: number
    do {
      byte = this.byte()
      result |= (byte & 0x7f) << shift
      shift += 7
    } while (byte & 0x80)
    return shift < 32 && byte & 0x40 ? result | (-1 << shift) : result | 0
  }

  name(): string {
    const length = this.u32()
    const text = this.text(this.offset, this.offset + length)
    this.offset += length
    return text
  }

  /** The UTF-8 text of bytes `[start, end)`. */
  text(start: number, end: number): string {
    return UTF8.decode(this.bytes.subarray(start, end))
  }

  valueType(): ValueType {
    const code = this.byte()
    switch (code) {
      case 0x7f: return 'i32'
      case 0x7e: return 'i64'
      case 0x7d: return 'f32'
      case 0x7c: return 'f64'
      case 0x7b: return 'v128'
      case 0x70: return 'funcref'
      case 0x6f: return 'externref'
      case 0x63: {
        // (ref null func) and (ref null extern) are funcref and externref written out in full.
        const heap = this.bytes[this.offset]
        this.heapType()
        return heap === 0x70 ? 'funcref' : heap === 0x6f ? 'externref' : 'ref'
      }
      case 0x64:
        this.heapType()
        return 'ref'
      default: return 'ref'
    }
  }

  valueTypes(): ValueType[] {
    const types: ValueType[] = []
    for (let n = this.u32(); n > 0; n--) types.push(this.valueType())
    return types
  }

  // A heap type is a signed LEB: abstract types are negative, concrete ones type indices.
  heapType(): void {
    while (this.byte() & 0x80);
  }

  /** Flags bit 0: a maximum follows; bit 3: a page size (custom page sizes). Bounds are u64 LEBs under memory64. */
  limits(): void {
    const flags = this.byte()
    this.u32()
    if (flags & 1) this.u32()
    if (flags & 8) this.u32()
  }

  /** A table type; returns its element type. */
  table(): ValueType {
    const element = this.valueType()
    this.limits()
    return element
  }

  global(): void {
    this.valueType()
    this.byte()
  }

  /** A tag's description (its attribute, then its type index): the type index. */
  tag(): number {
    this.byte()
    return this.u32()
  }

  /**
   * One entry of the import section: its names, kind (0 function ... 4 tag)
   * and, for a function, its type index (else -1); the rest of its description skipped.
   */
  importEntry(): { module: string; name: string; kind: number; type: number } {
    const module = this.name()
    const name = this.name()
    const kind = this.byte()
    let type = -1
    if (kind === 0) type = this.u32()
    else if (kind === 1) this.table()
    else if (kind === 2) this.limits()
    else if (kind === 3) this.global()
    else if (kind === 4) this.tag()
    else throw new Error(`unknown import kind 0x${kind.toString(16)}`)
    return { module, name, kind, type }
  }

  /** Skips a constant expression: its immediates may contain 0x0b, so each opcode is decoded. */
  constantExpression(): void {
    while (this.constantInstruction() !== 0x0b);
  }

  /** Reads one instruction of a constant expression, skipping its immediates: its opcode (0x0b for the `end`). */
  constantInstruction(): number {
    const opcode = this.byte()
    if (opcode === 0x0b) return opcode
    if (opcode === 0x41 || opcode === 0x42 || opcode === 0x23 || opcode === 0xd2) this.u32()
    else if (opcode === 0x43) this.offset += 4
    else if (opcode === 0x44) this.offset += 8
    else if (opcode === 0xd0) this.heapType()
    else if (opcode === 0xfd) {
      if (this.u32() !== 12) throw new Error('unexpected SIMD opcode in a constant expression')
      this.offset += 16
    } else if (opcode < 0x6a || opcode > 0x7e) throw new Error(`unexpected opcode 0x${opcode.toString(16)} in a constant expression`)
    return opcode
  }
}
