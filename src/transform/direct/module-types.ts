import type { ScannedModule } from '../scan.js'
import { WasmReader } from '../wasm-reader.js'
import { DecodeUnsupported, type FuncType, type ModuleTypes, type ValType } from './body.js'
import { compositeType, valueTypeAt } from './decode.js'

/** What `moduleTypesOf` reads of a scan, with code or without. */
type ScannedSpaces = Pick<ScannedModule, 'types' | 'typeStarts' | 'functions' | 'globals' | 'tableTypeStarts' | 'tags'>

/**
 * The index spaces of a scanned module (`bytes`), as decoding reads them. The
 * scan reads every typed reference as one kind: the types, and the globals'
 * and tables' value types, are decoded again where they start, exactly.
 */
export function moduleTypesOf(scanned: ScannedSpaces, bytes: Uint8Array): ModuleTypes {
  const types: (FuncType | null)[] = []
  const fields: (ValType[] | null)[] = []
  for (const start of scanned.typeStarts) {
    const type = compositeType(new WasmReader(bytes, start))
    types.push('func' in type ? type.func : null)
    fields.push('fields' in type ? type.fields : null)
  }
  return {
    types,
    fields,
    functions: scanned.functions.map((fn) => types[fn.typeIndex]!),
    globals: scanned.globals.map((global) => valueTypeAt(bytes, global.typeStart)),
    tables: scanned.tableTypeStarts.map((start) => valueTypeAt(bytes, start)),
    tags: scanned.tags.map((index) => {
      const type = types[index]
      if (!type) throw new DecodeUnsupported(`a tag of type ${index}, not a function type`)
      return type
    }),
  }
}
