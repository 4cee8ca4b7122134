/*
 * Export signatures read straight from the binary: `WebAssembly.Module.exports`
 * gives names and kinds but not types (the type-reflection proposal is not
 * shipped), and the d.ts needs parameter and result types. Only the type,
 * import, function and export sections are read.
 */

export type ValueType = 'i32' | 'i64' | 'f32' | 'f64' | 'v128' | 'funcref' | 'externref' | 'ref'

export type ExportSignature =
  | { name: string; kind: 'function'; params: ValueType[]; results: ValueType[] }
  | { name: string; kind: 'memory' | 'table' | 'global' | 'tag' }

const SECTION = { type: 1, import: 2, function: 3, export: 7 } as const
const EXPORT_KINDS = ['function', 'table', 'memory', 'global', 'tag'] as const

export function readExportSignatures(bytes: Uint8Array): ExportSignature[] {
  const reader = new Reader(bytes)
  reader.offset = 8
  const types: { params: ValueType[]; results: ValueType[] }[] = []
  const functionTypes: number[] = []
  const exports: ExportSignature[] = []
  while (reader.offset < bytes.length) {
    const id = reader.byte()
    const end = reader.u32() + reader.offset
    if (id === SECTION.type) {
      for (let n = reader.u32(); n > 0; n--) {
        if (reader.byte() !== 0x60) throw new Error('unsupported type form (GC rec groups)')
        types.push({ params: reader.valueTypes(), results: reader.valueTypes() })
      }
    } else if (id === SECTION.import) {
      for (let n = reader.u32(); n > 0; n--) {
        reader.name()
        reader.name()
        const kind = reader.byte()
        if (kind === 0) functionTypes.push(reader.u32())
        else if (kind === 1) reader.table()
        else if (kind === 2) reader.limits()
        else if (kind === 3) reader.global()
        else if (kind === 4) reader.tag()
        else throw new Error(`unknown import kind ${kind}`)
      }
    } else if (id === SECTION.function) {
      for (let n = reader.u32(); n > 0; n--) functionTypes.push(reader.u32())
    } else if (id === SECTION.export) {
      for (let n = reader.u32(); n > 0; n--) {
        const name = reader.name()
        const kind = EXPORT_KINDS[reader.byte()] ?? 'tag'
        const index = reader.u32()
        const type = kind === 'function' ? types[functionTypes[index] ?? -1] : undefined
        exports.push(type ? { name, kind: 'function', ...type } : { name, kind: kind === 'function' ? 'tag' : kind })
      }
    }
    reader.offset = end
  }
  return exports
}

class Reader {
  offset = 0
  constructor(private readonly bytes: Uint8Array) {}

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

  name(): string {
    const length = this.u32()
    const text = new TextDecoder().decode(this.bytes.subarray(this.offset, this.offset + length))
    this.offset += length
    return text
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
      case 0x63:
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

  limits(): void {
    const flags = this.byte()
    this.u32()
    if (flags & 1) this.u32()
  }

  table(): void {
    this.valueType()
    this.limits()
  }

  global(): void {
    this.valueType()
    this.byte()
  }

  tag(): void {
    this.byte()
    this.u32()
  }
}
