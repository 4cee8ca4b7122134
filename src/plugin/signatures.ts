/*
 * Import and export signatures read straight from the binary:
 * `WebAssembly.Module.imports` and `.exports` give names and kinds but not
 * types (the type-reflection proposal is not shipped), and the d.ts needs
 * parameter and result types. Only the type, import, function and export
 * sections are read.
 */
import { WasmReader, type ValueType } from '../transform/wasm-reader.js'

export type { ValueType }

export type ExportSignature =
  | { name: string; kind: 'function'; params: ValueType[]; results: ValueType[] }
  | { name: string; kind: 'memory' | 'table' | 'global' | 'tag' }

export type ImportSignature = { module: string } & ExportSignature

const SECTION = { type: 1, import: 2, function: 3, export: 7 } as const
const EXPORT_KINDS = ['function', 'table', 'memory', 'global', 'tag'] as const

export function readSignatures(bytes: Uint8Array): { imports: ImportSignature[]; exports: ExportSignature[] } {
  const reader = new WasmReader(bytes, 8)
  const types: { params: ValueType[]; results: ValueType[] }[] = []
  const functionTypes: number[] = []
  const imports: ImportSignature[] = []
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
        const module = reader.name()
        const name = reader.name()
        const byte = reader.byte()
        const kind = EXPORT_KINDS[byte]
        if (kind === 'function') {
          const index = reader.u32()
          functionTypes.push(index)
          const type = types[index]
          imports.push(type ? { module, name, kind, ...type } : { module, name, kind: 'tag' })
          continue
        }
        if (kind === 'table') reader.table()
        else if (kind === 'memory') reader.limits()
        else if (kind === 'global') reader.global()
        else if (kind === 'tag') reader.tag()
        else throw new Error(`unknown import kind ${byte}`)
        imports.push({ module, name, kind })
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
  return { imports, exports }
}
