/*
 * What the JSPI path's trampolines need to wrap a function whose signature has
 * a typed reference (`(ref $t)`, `(ref null $t)`, `(ref any)`), or whose type
 * is not one a module of its own could write alike (a member of a recursion
 * group of several, or a type that declares a supertype or may have subtypes,
 * which a function of the plain type with the same signature does not match
 * on import): the module's
 * type section, which the trampoline module repeats so that its types are the
 * module's own (wasm GC types are equal across modules when their recursion
 * groups are), the function's type index in it, and each value type's
 * encoding. Read from the bytes of the JSPI build, whose types are the input's.
 */
import type { TypedSignature, TypeSection } from '../runtime-shim/metadata.js'
import { WasmReader } from './wasm-reader.js'

export interface TypedSignatures {
  types: TypeSection
  /** By function index (imports first): its typed signature, for functions that have one. */
  byFunction: Map<number, TypedSignature>
  /** By `module.name` of each imported function: its function index. */
  imports: Map<string, number>
  /** By name of each exported function: its function index. */
  exports: Map<string, number>
}

/** Value types a trampoline writes without the module's types: numbers, funcref, externref. */
const PLAIN = new Set([0x7f, 0x7e, 0x7d, 0x7c, 0x7b, 0x70, 0x6f])

/** Null when no function type of the module needs the module's types, or its sections cannot be read. */
export function typedSignatures(bytes: Uint8Array): TypedSignatures | null {
  try {
    return read(bytes)
  } catch {
    // Bytes this reader does not know: the runtime refuses typed signatures with a coded error, as before.
    return null
  }
}

function read(bytes: Uint8Array): TypedSignatures | null {
  const reader = new WasmReader(bytes, 8)
  const typed = new Map<number, Omit<TypedSignature, 'index'>>()
  let types: TypeSection | null = null
  const functionTypes: number[] = []
  const imports = new Map<string, number>()
  const exports = new Map<string, number>()
  while (reader.offset < bytes.length) {
    const id = reader.byte()
    const end = reader.u32() + reader.offset
    if (id === 1) {
      const entries = reader.u32()
      const payloadStart = reader.offset
      let count = 0
      for (let n = entries; n > 0; n--) {
        const members = bytes[reader.offset] === 0x4e ? (reader.offset++, reader.u32()) : 1
        for (let m = members; m > 0; m--) {
          const encoding = subType(reader, bytes, members === 1)
          if (encoding) typed.set(count, encoding)
          count++
        }
      }
      if (reader.offset !== end) throw new Error('type section')
      types = { section: Buffer.from(bytes.subarray(payloadStart, end)).toString('base64'), entries, count }
    } else if (id === 2) {
      for (let n = reader.u32(); n > 0; n--) {
        const { module, name, kind, type } = reader.importEntry()
        if (kind !== 0) continue
        imports.set(`${module}.${name}`, functionTypes.length)
        functionTypes.push(type)
      }
    } else if (id === 3) {
      for (let n = reader.u32(); n > 0; n--) functionTypes.push(reader.u32())
    } else if (id === 7) {
      for (let n = reader.u32(); n > 0; n--) {
        const name = reader.name()
        const kind = reader.byte()
        const index = reader.u32()
        if (kind === 0) exports.set(name, index)
      }
    }
    reader.offset = end
  }
  if (types === null || typed.size === 0) return null
  const byFunction = new Map<number, TypedSignature>()
  functionTypes.forEach((index, fn) => {
    const signature = typed.get(index)
    if (signature) byFunction.set(fn, { index, ...signature })
  })
  return { types, byFunction, imports, exports }
}

/**
 * A function type that needs the module's types: its params' and results'
 * encodings (hex); null for any other type. `alone`: not in a recursion
 * group with other types.
 */
function subType(reader: WasmReader, bytes: Uint8Array, alone: boolean): Omit<TypedSignature, 'index'> | null {
  let form = reader.byte()
  // A final type without supertypes (0x4f 0x00) is the plain form spelled out; `sub` (0x50) is not final.
  let plainType = alone && form !== 0x50
  if (form === 0x50 || form === 0x4f) {
    for (let n = reader.u32(); n > 0; n--) {
      reader.u32()
      plainType = false
    }
    form = reader.byte()
  }
  const encodings = () => {
    const list: string[] = []
    for (let n = reader.u32(); n > 0; n--) {
      const start = reader.offset
      reader.valueType()
      list.push(Buffer.from(bytes.subarray(start, reader.offset)).toString('hex'))
    }
    return list
  }
  if (form === 0x60) {
    const params = encodings()
    const results = encodings()
    const plain = plainType && [...params, ...results].every((hex) => hex.length === 2 && PLAIN.has(parseInt(hex, 16)))
    return plain ? null : { params, results }
  }
  if (form === 0x5f) {
    for (let n = reader.u32(); n > 0; n--) {
      reader.valueType()
      reader.byte()
    }
  } else if (form === 0x5e) {
    reader.valueType()
    reader.byte()
  } else throw new Error(`type form ${form}`)
  return null
}
