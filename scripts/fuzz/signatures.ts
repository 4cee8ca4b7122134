/**
 * Function signatures of a module's imports and exports, read from the binary:
 * the harness needs them to draw arguments of the right types for exports and
 * answers of the right types for imports, whatever produced the module.
 */
export type ValueType = 'i32' | 'i64' | 'f32' | 'f64' | 'v128' | 'ref'

export interface Signature {
  params: ValueType[]
  results: ValueType[]
}

export interface ModuleSignatures {
  /** Function imports, keyed `module.name`. */
  imports: Map<string, Signature>
  /** Function exports by export name. */
  exports: Map<string, Signature>
  /** Names of exported globals. */
  globals: string[]
  memoryExport: string | null
  /** Initial size in pages of the module's memory (defined or imported), or null without one. */
  memoryInitial: number | null
}

const VALUE_TYPES: Record<number, ValueType> = { 0x7f: 'i32', 0x7e: 'i64', 0x7d: 'f32', 0x7c: 'f64', 0x7b: 'v128' }

export function readSignatures(bytes: Uint8Array): ModuleSignatures {
  let offset = 8
  const byte = () => {
    const value = bytes[offset++]
    if (value === undefined) throw new Error('truncated module')
    return value
  }
  const u32 = () => {
    let result = 0
    for (let shift = 0; ; shift += 7) {
      const b = byte()
      result += (b & 0x7f) * 2 ** shift
      if ((b & 0x80) === 0) return result
    }
  }
  const name = () => {
    const length = u32()
    const text = new TextDecoder().decode(bytes.subarray(offset, offset + length))
    offset += length
    return text
  }
  const valueType = (): ValueType => VALUE_TYPES[byte()] ?? 'ref'
  const limits = () => {
    const flags = byte()
    const initial = u32()
    if (flags & 1) u32()
    return initial
  }

  const types: Signature[] = []
  const functionTypes: number[] = []
  const signatures: ModuleSignatures = { imports: new Map(), exports: new Map(), globals: [], memoryExport: null, memoryInitial: null }
  while (offset < bytes.length) {
    const id = byte()
    const end = u32() + offset
    if (id === 1) {
      for (let count = u32(); count > 0; count--) {
        if (byte() !== 0x60) throw new Error('only function types are expected without GC')
        const params = Array.from({ length: u32() }, valueType)
        const results = Array.from({ length: u32() }, valueType)
        types.push({ params, results })
      }
    } else if (id === 2) {
      for (let count = u32(); count > 0; count--) {
        const key = `${name()}.${name()}`
        const kind = byte()
        if (kind === 0) {
          const type = u32()
          functionTypes.push(type)
          signatures.imports.set(key, types[type]!)
        } else if (kind === 1) {
          byte()
          limits()
        } else if (kind === 2) {
          signatures.memoryInitial ??= limits()
        } else if (kind === 3) {
          valueType()
          byte()
        } else {
          byte()
          u32()
        }
      }
    } else if (id === 5) {
      if (u32() > 0) signatures.memoryInitial ??= limits()
    } else if (id === 3) {
      for (let count = u32(); count > 0; count--) functionTypes.push(u32())
    } else if (id === 7) {
      for (let count = u32(); count > 0; count--) {
        const exportName = name()
        const kind = byte()
        const index = u32()
        if (kind === 0) signatures.exports.set(exportName, types[functionTypes[index]!]!)
        else if (kind === 2) signatures.memoryExport ??= exportName
        else if (kind === 3) signatures.globals.push(exportName)
      }
    }
    offset = end
  }
  return signatures
}
