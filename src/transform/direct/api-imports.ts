/*
 * A module that drives Asyncify itself (asyncify-api.ts) imports Binaryen's
 * API; the direct engine implements those calls in the module instead, as
 * Binaryen's pass does. Here each such import becomes a defined function,
 * the first ones, whose bodies the engine writes (module.ts): k imports leave
 * the import section and k bodies open the code section, so every defined
 * function keeps its index and only imports move. In the code an index
 * keeps the bytes it had (a LEB padded to its old length), so every body
 * keeps its size and its branch hints their offsets.
 */
import { concatBytes, encodeName, leb, section, vector } from '../../runtime-shim/wasm-writer.js'
import { ASYNCIFY_API, ASYNCIFY_API_MODULE } from '../asyncify-api.js'
import { scanModule } from '../scan.js'
import { WasmReader } from '../wasm-reader.js'
import { functionNamesPlaced } from './function-names.js'

export type AsyncifyApiName = (typeof ASYNCIFY_API)[number]

export interface ApiDefined {
  bytes: Uint8Array
  /** The function index in `bytes` of each function index of the input. */
  index: (old: number) => number
  /** The defined functions that stand for the imports, by index in `bytes`: the call each one makes. */
  api: Map<number, AsyncifyApiName>
  /** How far every input body moved in the code section's contents (a line table's addresses move as far). */
  moved: number
}

const [IMPORT, FUNCTION, TABLE, GLOBAL, EXPORT, START, ELEMENT, CODE] = [2, 3, 4, 6, 7, 8, 9, 10]
const [CALL, RETURN_CALL, REF_FUNC, END] = [0x10, 0x12, 0xd2, 0x0b]

/** Thrown where the module holds something this rewrite does not handle: the pipeline builds it. */
class Unhandled extends Error {}

/**
 * The module with its imports of the Asyncify API defined (see above); null
 * when only the pipeline can build it: an `asyncify` import that is not one
 * of the API's four functions (the pipeline says so), one taken by reference
 * or exported, or an index that would need more bytes than it had.
 */
export function withAsyncifyApiDefined(bytes: Uint8Array): ApiDefined | null {
  try {
    return define(bytes)
  } catch (error) {
    if (error instanceof Unhandled) return null
    throw error
  }
}

function define(bytes: Uint8Array): ApiDefined {
  const scanned = scanModule(bytes, { instructions: true })
  const imported = scanned.functions.filter((fn) => fn.imported !== null).length
  const removed: { old: number; name: AsyncifyApiName; type: number }[] = []
  let functionImports = 0
  const reader = new WasmReader(bytes, 8)
  const sections: { id: number; start: number; contents: number; end: number }[] = []
  while (reader.offset < bytes.length) {
    const start = reader.offset
    const id = reader.byte()
    const end = reader.u32() + reader.offset
    sections.push({ id, start, contents: reader.offset, end })
    if (id === IMPORT) {
      for (let n = reader.u32(); n > 0; n--) {
        const entry = reader.importEntry()
        if (entry.module === ASYNCIFY_API_MODULE) {
          const name = ASYNCIFY_API.find((api) => api === entry.name)
          if (entry.kind !== 0 || name === undefined) throw new Unhandled()
          removed.push({ old: functionImports, name, type: entry.type })
        }
        if (entry.kind === 0) functionImports++
      }
    }
    reader.offset = end
  }
  if (!sections.some((entry) => entry.id === CODE) || !sections.some((entry) => entry.id === FUNCTION)) throw new Unhandled()
  // Binaryen's pass replaces only calls: an API function taken by reference or exported is the pipeline's to judge.
  const exported = new Set(scanned.exports.filter((entry) => entry.kind === 'function').map((entry) => entry.index))
  if (removed.some((entry) => scanned.referenced.has(entry.old) || exported.has(entry.old))) throw new Unhandled()

  const k = removed.length
  const moved = new Map<number, number>()
  removed.forEach((entry, j) => moved.set(entry.old, imported - k + j))
  const shift: number[] = []
  let kept = 0
  for (let old = 0; old < imported; old++) shift.push(moved.get(old) ?? kept++)
  const index = (old: number) => (old < imported ? shift[old]! : old)

  const parts: Uint8Array[] = [bytes.subarray(0, 8)]
  let bodiesMoved = 0
  for (const { id, start, contents, end } of sections) {
    const whole = bytes.subarray(start, end)
    const items = new WasmReader(bytes, contents)
    switch (id) {
      case IMPORT:
        parts.push(section(IMPORT, importsWithout(bytes, items, end, new Set(removed.map((entry) => entry.old)))))
        break
      case FUNCTION: {
        const count = items.u32()
        parts.push(section(FUNCTION, concatBytes(leb(count + k), ...removed.map((entry) => leb(entry.type)), bytes.subarray(items.offset, end))))
        break
      }
      case TABLE:
        parts.push(section(TABLE, rewritten(items, end, () => tableEntry(items, index))))
        break
      case GLOBAL:
        parts.push(section(GLOBAL, rewritten(items, end, () => globalEntry(items, index))))
        break
      case EXPORT:
        parts.push(section(EXPORT, rewritten(items, end, () => exportEntry(items, index))))
        break
      case START:
        parts.push(section(START, new Uint8Array(leb(index(items.u32())))))
        break
      case ELEMENT:
        parts.push(section(ELEMENT, rewritten(items, end, () => elementSegment(items, index))))
        break
      case CODE: {
        const code = codeWith(bytes, items, end, scanned.bodies, removed.length, index, imported)
        // Every body keeps its size: they all moved by what was added before them (the bodies, a longer count).
        bodiesMoved = code.length - (end - contents)
        parts.push(section(CODE, code))
        break
      }
      case 0: {
        const name = items.name()
        if (name !== 'name') parts.push(whole)
        else {
          // Moved imports change places.
          const names = functionNamesPlaced(bytes, items.offset, end, (old) => [index(old)])
          if (names === null) throw new Unhandled()
          parts.push(section(0, concatBytes(encodeName(name), names)))
        }
        break
      }
      default:
        parts.push(whole)
    }
  }
  return { bytes: concatBytes(...parts), index, api: new Map(removed.map((entry) => [index(entry.old), entry.name])), moved: bodiesMoved }
}

/** A section's vector, each item rewritten by `item` (which reads it from the reader the caller holds). */
function rewritten(items: WasmReader, end: number, item: () => Uint8Array | number[]): Uint8Array {
  const out: (Uint8Array | number[])[] = []
  for (let n = items.u32(); n > 0; n--) out.push(item())
  if (items.offset !== end) throw new Unhandled()
  return vector(out)
}

function importsWithout(bytes: Uint8Array, items: WasmReader, end: number, removed: Set<number>): Uint8Array {
  const out: Uint8Array[] = []
  let functionIndex = 0
  for (let n = items.u32(); n > 0; n--) {
    const start = items.offset
    const { kind } = items.importEntry()
    if (kind !== 0 || !removed.has(functionIndex)) out.push(bytes.subarray(start, items.offset))
    if (kind === 0) functionIndex++
  }
  if (items.offset !== end) throw new Unhandled()
  return vector(out)
}

/** A constant expression copied, its `ref.func` indices renumbered. */
function expression(reader: WasmReader, index: (old: number) => number): number[] {
  const out: number[] = []
  for (;;) {
    const start = reader.offset
    let opcode: number
    try {
      opcode = reader.constantInstruction()
    } catch {
      // An instruction the reader does not know here (GC's, in an initializer): the pipeline's to build.
      throw new Unhandled()
    }
    if (opcode === REF_FUNC) out.push(REF_FUNC, ...leb(index(new WasmReader(reader.bytes, start + 1).u32())))
    else out.push(...reader.bytes.subarray(start, reader.offset))
    if (opcode === END) return out
  }
}

function tableEntry(reader: WasmReader, index: (old: number) => number): number[] {
  const start = reader.offset
  if (reader.bytes[start] !== 0x40) {
    reader.table()
    return [...reader.bytes.subarray(start, reader.offset)]
  }
  // A table with an initializer: 0x40 0x00, its type, the expression.
  reader.offset += 2
  reader.table()
  return [...reader.bytes.subarray(start, reader.offset), ...expression(reader, index)]
}

function globalEntry(reader: WasmReader, index: (old: number) => number): number[] {
  const start = reader.offset
  reader.global()
  return [...reader.bytes.subarray(start, reader.offset), ...expression(reader, index)]
}

function exportEntry(reader: WasmReader, index: (old: number) => number): Uint8Array {
  const start = reader.offset
  reader.name()
  const kind = reader.byte()
  const named = reader.bytes.subarray(start, reader.offset)
  const value = reader.u32()
  return concatBytes(named, leb(kind === 0 ? index(value) : value))
}

/** An element segment: flags bit 0 passive or declarative, bit 1 an explicit table (or declarative), bit 2 expressions. */
function elementSegment(reader: WasmReader, index: (old: number) => number): number[] {
  const flags = reader.u32()
  if (flags > 7) throw new Unhandled()
  const out = [...leb(flags)]
  const active = (flags & 1) === 0
  if (active && flags & 2) out.push(...leb(reader.u32()))
  if (active) out.push(...expression(reader, index))
  const expressions = (flags & 4) !== 0
  if (flags & 3) {
    const start = reader.offset
    if (expressions) reader.valueType()
    else reader.byte()
    out.push(...reader.bytes.subarray(start, reader.offset))
  }
  const count = reader.u32()
  out.push(...leb(count))
  for (let n = count; n > 0; n--) out.push(...(expressions ? expression(reader, index) : leb(index(reader.u32()))))
  return out
}

/**
 * The code section with `k` placeholder bodies first (`unreachable`: the
 * engine writes the API's) and every call, tail call and `ref.func` of an
 * import renumbered in the bytes it had.
 */
function codeWith(
  bytes: Uint8Array,
  items: WasmReader,
  end: number,
  bodies: ReturnType<typeof scanModule>['bodies'],
  k: number,
  index: (old: number) => number,
  imported: number,
): Uint8Array {
  const count = items.u32()
  const code = bytes.slice(items.offset, end)
  const base = items.offset
  for (const body of bodies) {
    for (const at of body.instructions!) {
      const opcode = bytes[at]
      if (opcode !== CALL && opcode !== RETURN_CALL && opcode !== REF_FUNC) continue
      const immediate = new WasmReader(bytes, at + 1)
      const old = immediate.u32()
      if (old >= imported) continue
      const length = immediate.offset - (at + 1)
      code.set(paddedLeb(index(old), length), at + 1 - base)
    }
  }
  const placeholder = [3, 0, 0x00, END]
  return concatBytes(leb(count + k), ...Array.from({ length: k }, () => placeholder), code)
}

/** `value` as an unsigned LEB of exactly `length` bytes (wasm accepts the padding). */
function paddedLeb(value: number, length: number): number[] {
  if (value >= 2 ** (7 * length)) throw new Unhandled()
  return Array.from({ length }, (_, i) => (Math.floor(value / 2 ** (7 * i)) & 0x7f) | (i < length - 1 ? 0x80 : 0))
}

