/*
 * Asyncify a whole module without Binaryen: the listed functions are
 * instrumented (instrument.ts), and the module gets Asyncify's two globals and
 * its five exports (and a function they share), appended so that no index
 * changes.
 */
import { concatBytes, encodeName, leb, section, vector } from '../../runtime-shim/wasm-writer.js'
import { scanModule } from '../scan.js'
import { WasmReader } from '../wasm-reader.js'
import { DecodeUnsupported, type FuncType, type ModuleTypes, type ValType } from './body.js'
import { decodeBody, encodeBody } from './decode.js'
import type { CodeAddresses } from './addresses.js'
import { BodyInstrumenter } from './instrument.js'
import { CODE_METADATA_PREFIX, codeMetadataKept } from '../code-metadata.js'

export interface DirectPlan {
  /** The C stack pointer's global, which the API also saves and restores (see `apiFunctions`); null: none. */
  stackPointer: number | null
  /** Function indices (imports included) whose calls may unwind: async imports and instrumented functions. */
  unwinding: Set<number>
  /** Defined functions to instrument, by function index. */
  instrument: Set<number>
}

const signature = (type: FuncType) => `${type.params.join(',')}->${type.results.join(',')}`

/** Section ids in the order a module must have them (the tag section sits between memory and global). */
const ORDER = [1, 2, 3, 4, 5, 13, 6, 7, 8, 9, 12, 10, 11]

/**
 * The module asyncified, or null when it holds what this engine does not
 * handle (Binaryen's pass then runs). `addresses`, when given, learns where
 * the input's code went (for line tables).
 */
export function directAsyncify(bytes: Uint8Array, plan: DirectPlan, addresses?: CodeAddresses): Uint8Array | null {
  try {
    return asyncifyDirectly(bytes, plan, addresses)
  } catch (error) {
    if (error instanceof DecodeUnsupported) return null
    throw error
  }
}

function asyncifyDirectly(bytes: Uint8Array, plan: DirectPlan, addresses: CodeAddresses | undefined): Uint8Array {
  const scanned = scanModule(bytes, { code: false })
  if (scanned.memories.some((memory) => memory.memory64)) throw new DecodeUnsupported('memory64')
  // The API's bodies go into the code section: a module without one is left to Binaryen.
  if (scanned.bodies.length === 0) throw new DecodeUnsupported('no code section')
  const types: (FuncType | null)[] = scanned.types.map((type) => type && { params: type.params as ValType[], results: type.results as ValType[] })
  const functions = scanned.functions.map((fn) => ({ params: fn.type.params as ValType[], results: fn.type.results as ValType[] }))
  const imported = scanned.functions.filter((fn) => fn.imported !== null).length
  const moduleTypes: ModuleTypes = {
    types,
    functions,
    globals: scanned.globals.map((global) => global.type as ValType),
    tables: scanned.tables as ValType[],
  }
  const state = scanned.globals.length
  const data = state + 1
  const unwindingSignatures = new Set([...plan.unwinding].map((index) => signature(functions[index]!)))
  const sites = {
    call: (func: number) => plan.unwinding.has(func),
    indirect: (typeIndex: number) => unwindingSignatures.has(signature(types[typeIndex]!)),
  }

  const { added: addedTypes, index: typeOf } = apiTypes(scanned.subtyping ? [] : types, scanned.types.length)
  const functionCount = scanned.functions.length
  const api = apiFunctions(state, data, plan.stackPointer, typeOf, functionCount)

  const reader = new WasmReader(bytes, 8)
  const parts: Uint8Array[] = [bytes.subarray(0, 8)]
  const seen = new Set<number>()
  const add = (id: number, payload: Uint8Array) => parts.push(section(id, payload))
  const ensure = (id: number) => {
    // Sections the module lacks but the additions need, in their place.
    const rank = ORDER.indexOf(id)
    if (rank > ORDER.indexOf(1) && !seen.has(1)) { seen.add(1); add(1, vector(addedTypes)) }
    if (rank > ORDER.indexOf(3) && !seen.has(3)) { seen.add(3); add(3, vector(api.map((entry) => leb(entry.type)))) }
    if (rank > ORDER.indexOf(6) && !seen.has(6)) { seen.add(6); add(6, vector(globalsAdded())) }
    if (rank > ORDER.indexOf(7) && !seen.has(7)) { seen.add(7); add(7, vector(exportsAdded())) }
  }
  const globalsAdded = () => Array.from({ length: plan.stackPointer === null ? 2 : 3 }, () => [0x7f, 1, 0x41, 0, 0x0b])
  const exportsAdded = () =>
    api.flatMap((entry, k) => (entry.name === null ? [] : [concatBytes(encodeName(entry.name), [0], leb(functionCount + k))]))
  while (reader.offset < bytes.length) {
    const start = reader.offset
    const id = reader.byte()
    const size = reader.u32()
    const contents = reader.offset
    const end = contents + size
    reader.offset = end
    if (id !== 0) ensure(id)
    const appended = (items: (Uint8Array | number[])[]) => {
      const inner = new WasmReader(bytes, contents)
      const count = inner.u32()
      return concatBytes(leb(count + items.length), bytes.subarray(inner.offset, end), ...items)
    }
    switch (id) {
      case 1:
        seen.add(1)
        parts.push(section(1, appended(addedTypes)))
        break
      case 3:
        seen.add(3)
        parts.push(section(3, appended(api.map((entry) => leb(entry.type)))))
        break
      case 6:
        seen.add(6)
        parts.push(section(6, appended(globalsAdded())))
        break
      case 7:
        seen.add(7)
        parts.push(section(7, appended(exportsAdded())))
        break
      case 10:
        parts.push(section(10, codeSection(bytes, contents, end, imported, plan, functions, moduleTypes, sites, { state, data }, api, addresses)))
        break
      case 0: {
        const named = new WasmReader(bytes, contents)
        const name = named.name()
        if (!name.startsWith(CODE_METADATA_PREFIX)) parts.push(bytes.subarray(start, end))
        else {
          const kept = codeMetadataKept(name, bytes, named.offset, end, plan.instrument)
          if (kept !== null) parts.push(kept)
        }
        break
      }
      default:
        parts.push(bytes.subarray(start, end))
    }
  }
  return concatBytes(...parts)
}

function codeSection(
  bytes: Uint8Array,
  contents: number,
  end: number,
  imported: number,
  plan: DirectPlan,
  functions: FuncType[],
  moduleTypes: ModuleTypes,
  sites: { call(func: number): boolean; indirect(typeIndex: number): boolean },
  globals: { state: number; data: number },
  api: { code: number[] }[],
  addresses: CodeAddresses | undefined,
): Uint8Array {
  const reader = new WasmReader(bytes, contents)
  const count = reader.u32()
  const bodies: Uint8Array[] = []
  // Output offsets in the section's contents, as the input's are.
  let output = leb(count + api.length).length
  for (let i = 0; i < count; i++) {
    const entry = reader.offset - contents
    const size = reader.u32()
    const start = reader.offset
    const body = bytes.subarray(start, start + size)
    reader.offset += size
    const index = imported + i
    let encoded = body
    let placed: { at: number; offset: number }[] | null = null
    if (plan.instrument.has(index)) {
      const type = functions[index]!
      const decoded = decodeBody(body, type.params, moduleTypes)
      const instrumented = new BodyInstrumenter(decoded, type, sites, globals).instrument()
      if (instrumented !== null) {
        const positions: { at: number; offset: number }[] = []
        encoded = encodeBody(instrumented, addresses && ((at, offset) => positions.push({ at, offset })))
        placed = positions
      }
    }
    // A body left as it was goes out as the input's own bytes, its size included: a view, not a copy.
    const sized = encoded === body ? bytes.subarray(contents + entry, start + size) : concatBytes(leb(encoded.length), encoded)
    if (addresses) {
      const bodyOutput = output + sized.length - encoded.length
      addresses.add(entry, output, 'exact')
      if (placed === null) addresses.add(start - contents, bodyOutput, 'verbatim')
      else {
        addresses.add(start - contents, bodyOutput, 'forward')
        addresses.instrumented(output)
        for (const { at, offset } of placed.sort((a, b) => a.at - b.at)) addresses.add(start - contents + at, bodyOutput + offset, 'exact')
      }
    }
    output += sized.length
    bodies.push(sized)
  }
  // The end of the last body (a line table's last end of sequence).
  addresses?.add(reader.offset - contents, output, 'exact')
  if (reader.offset !== end) throw new Error('code section size mismatch')
  for (const entry of api) {
    const body = concatBytes([0], entry.code, [0x0b])
    bodies.push(concatBytes(leb(body.length), body))
  }
  return concatBytes(leb(count + api.length), ...bodies)
}

/**
 * The API's function types: the module's own where it has one of the same
 * signature (not in a module with subtyping, where equal signatures may be
 * distinct types), else appended after its `count` types.
 */
function apiTypes(types: (FuncType | null)[], count: number): { added: number[][]; index: (params: ValType[], results: ValType[]) => number } {
  const added: number[][] = []
  const found = new Map(types.flatMap((type, index) => (type === null ? [] : [[signature(type), index] as const])).reverse())
  return {
    added,
    index(params, results) {
      const key = signature({ params, results })
      let index = found.get(key)
      if (index === undefined) {
        index = count + added.length
        // The API's types hold only i32.
        const encode = (list: ValType[]) => [list.length, ...list.map(() => 0x7f)]
        added.push([0x60, ...encode(params), ...encode(results)])
        found.set(key, index)
      }
      return index
    },
  }
}

/**
 * Binaryen's five API exports over the state and data globals, appended as
 * functions `first` to `first + 4`, and after them the bound check four of
 * them share (a call instead of 16 bytes each). With a C stack pointer,
 * `asyncify_stop_unwind` also saves it (in the global after `data`) and
 * returns it, and `asyncify_start_rewind` puts it back: the runtime reads the
 * pointer after every unwind and sets it before every resume, and each call
 * into wasm this saves is about 10 ns of a suspension in Chromium 156. Any
 * other runtime sees Binaryen's signatures, and the pointer back where the
 * last unwind left it: where it stays unless JavaScript moved it meanwhile.
 */
function apiFunctions(
  state: number,
  data: number,
  stackPointer: number | null,
  typeOf: (params: ValType[], results: ValType[]) => number,
  first: number,
): { name: string | null; type: number; code: number[] }[] {
  const check = [0x10, ...leb(first + 5)]
  const setState = (value: number) => [0x41, value, 0x24, ...leb(state)]
  const startRewind = [...setState(2), 0x20, 0, 0x24, ...leb(data), ...check]
  const [sp, saved] = stackPointer === null ? [null, null] : [leb(stackPointer), leb(data + 1)]
  return [
    { name: 'asyncify_start_unwind', type: typeOf(['i32'], []), code: [...setState(1), 0x20, 0, 0x24, ...leb(data), ...check] },
    sp === null
      ? { name: 'asyncify_stop_unwind', type: typeOf([], []), code: [...setState(0), ...check] }
      : { name: 'asyncify_stop_unwind', type: typeOf([], ['i32']), code: [...setState(0), ...check, 0x23, ...sp, 0x24, ...saved!, 0x23, ...sp] },
    {
      name: 'asyncify_start_rewind',
      type: typeOf(['i32'], []),
      code: sp === null ? startRewind : [0x23, ...saved!, 0x24, ...sp, ...startRewind],
    },
    { name: 'asyncify_stop_rewind', type: typeOf([], []), code: [...setState(0), ...check] },
    { name: 'asyncify_get_state', type: typeOf([], ['i32']), code: [0x23, ...leb(state)] },
    { name: null, type: typeOf([], []), code: [0x23, ...leb(data), 0x28, 2, 0, 0x23, ...leb(data), 0x28, 2, 4, 0x4b, 0x04, 0x40, 0x00, 0x0b] },
  ]
}
