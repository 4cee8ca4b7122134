/*
 * Asyncify a whole module without Binaryen: the listed functions are
 * instrumented (instrument.ts), and the module gets Asyncify's two globals and
 * its five exports (and a function they share), and the functions the
 * instrumented bodies share to save and restore their locals
 * (frame-copies.ts), appended so that no index changes.
 */
import { concatBytes, encodeName, leb, section, vector } from '../../runtime-shim/wasm-writer.js'
import { scanModule } from '../scan.js'
import { WasmReader } from '../wasm-reader.js'
import { DecodeUnsupported, type FuncType, type ModuleTypes, type ValType } from './body.js'
import { decodeBody, encodeCode, encodeLocals } from './decode.js'
import type { AnchorKind, CodeAddresses } from './addresses.js'
import { FrameCopyFunctions } from './frame-copies.js'
import { frameCode, frameRuns, type AsyncifyGlobals, type SavedFrame } from './frame.js'
import { BodyInstrumenter } from './instrument.js'
import { VALUE } from './value-types.js'

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

export interface DirectOutput {
  wasm: Uint8Array
  /** Whether it has functions with several results (frame-copies.ts), which a `target_features` section must name. */
  multiValue: boolean
}

/**
 * The module asyncified, or null when it holds what this engine does not
 * handle (Binaryen's pass then runs). `addresses`, when given, learns where
 * the input's code went (for line tables).
 */
export function directAsyncify(bytes: Uint8Array, plan: DirectPlan, addresses?: CodeAddresses): DirectOutput | null {
  try {
    return asyncifyDirectly(bytes, plan, addresses)
  } catch (error) {
    if (error instanceof DecodeUnsupported) return null
    throw error
  }
}

function asyncifyDirectly(bytes: Uint8Array, plan: DirectPlan, addresses: CodeAddresses | undefined): DirectOutput {
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
  const copies = new FrameCopyFunctions(functionCount + api.length, typeOf)
  // The code first: the functions it shares are appended, and their types, in the sections before it.
  const code = sectionBounds(bytes, 10)!
  const codePayload = codeSection(bytes, code.contents, code.end, imported, plan, functions, moduleTypes, sites, { state, data }, copies, addresses)
  const appended = [...api, ...copies.functions]
  const prefix = leb(codePayload.count + appended.length)
  codePayload.place(prefix.length)
  const codeWithAppended = concatBytes(prefix, codePayload.bodies, ...appended.map(encodeAppended))

  const reader = new WasmReader(bytes, 8)
  const parts: Uint8Array[] = [bytes.subarray(0, 8)]
  const seen = new Set<number>()
  const add = (id: number, payload: Uint8Array) => parts.push(section(id, payload))
  const ensure = (id: number) => {
    // Sections the module lacks but the additions need, in their place.
    const rank = ORDER.indexOf(id)
    if (rank > ORDER.indexOf(1) && !seen.has(1)) { seen.add(1); add(1, vector(addedTypes)) }
    if (rank > ORDER.indexOf(3) && !seen.has(3)) { seen.add(3); add(3, vector(appended.map((entry) => leb(entry.type)))) }
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
    const withAppended = (items: (Uint8Array | number[])[]) => {
      const inner = new WasmReader(bytes, contents)
      const count = inner.u32()
      return concatBytes(leb(count + items.length), bytes.subarray(inner.offset, end), ...items)
    }
    switch (id) {
      case 1:
        seen.add(1)
        parts.push(section(1, withAppended(addedTypes)))
        break
      case 3:
        seen.add(3)
        parts.push(section(3, withAppended(appended.map((entry) => leb(entry.type)))))
        break
      case 6:
        seen.add(6)
        parts.push(section(6, withAppended(globalsAdded())))
        break
      case 7:
        seen.add(7)
        parts.push(section(7, withAppended(exportsAdded())))
        break
      case 10:
        parts.push(section(10, codeWithAppended))
        break
      default:
        parts.push(bytes.subarray(start, end))
    }
  }
  return { wasm: concatBytes(...parts), multiValue: copies.multiValue }
}

/** Where section `id`'s contents are. */
function sectionBounds(bytes: Uint8Array, id: number): { contents: number; end: number } | null {
  const reader = new WasmReader(bytes, 8)
  while (reader.offset < bytes.length) {
    const found = reader.byte()
    const size = reader.u32()
    if (found === id) return { contents: reader.offset, end: reader.offset + size }
    reader.offset += size
  }
  return null
}

function encodeAppended(entry: { code: number[] }): Uint8Array {
  const body = concatBytes([0], entry.code, [0x0b])
  return concatBytes(leb(body.length), body)
}

/**
 * The code section's bodies, instrumented where the plan says, without the
 * count before them: the functions appended after them are known only once
 * the bodies are made. Each instrumented body gets its two ends last
 * (frame.ts), once every frame of the module has said which runs of locals
 * it could share with others. `addresses` learns where the input's code
 * went once the count is written, through `place(prefix)`.
 */
function codeSection(
  bytes: Uint8Array,
  contents: number,
  end: number,
  imported: number,
  plan: DirectPlan,
  functions: FuncType[],
  moduleTypes: ModuleTypes,
  sites: { call(func: number): boolean; indirect(typeIndex: number): boolean },
  globals: AsyncifyGlobals,
  copies: FrameCopyFunctions,
  addresses: CodeAddresses | undefined,
): { count: number; bodies: Uint8Array; place(prefix: number): void } {
  const reader = new WasmReader(bytes, contents)
  const count = reader.u32()
  /** Each body as it was, or instrumented: its locals and code encoded, its frame still to be made. */
  const made: ({ entry: number; start: number; body: Uint8Array } | { entry: number; start: number; locals: Uint8Array; code: Uint8Array; frame: SavedFrame; placed: { at: number; offset: number }[] })[] = []
  for (let i = 0; i < count; i++) {
    const entry = reader.offset - contents
    const size = reader.u32()
    const start = reader.offset - contents
    const body = bytes.subarray(reader.offset, reader.offset + size)
    reader.offset += size
    const index = imported + i
    const instrumented = plan.instrument.has(index)
      ? new BodyInstrumenter(decodeBody(body, functions[index]!.params, moduleTypes), functions[index]!, sites, globals).instrument()
      : null
    if (instrumented === null) {
      made.push({ entry, start, body })
      continue
    }
    for (const run of frameRuns(instrumented.frame)) copies.note(run.type, run.count)
    const placed: { at: number; offset: number }[] = []
    const code = encodeCode([instrumented.code], addresses && ((at, offset) => placed.push({ at, offset })))
    made.push({ entry, start, locals: encodeLocals(instrumented.locals), code, frame: instrumented.frame, placed })
  }
  if (reader.offset !== end) throw new Error('code section size mismatch')

  const bodies: Uint8Array[] = []
  // Anchors at output offsets after the count, which place() adds.
  const anchors: { input: number; output: number; kind: AnchorKind | 'body' }[] = []
  let output = 0
  for (const body of made) {
    let encoded: Uint8Array
    if ('body' in body) {
      encoded = body.body
      anchors.push({ input: body.entry, output, kind: 'exact' })
      anchors.push({ input: body.start, output: output + leb(encoded.length).length, kind: 'verbatim' })
    } else {
      // block { prologue, code, return } epilogue
      const { prologue, epilogue } = frameCode(body.frame, globals, copies)
      encoded = concatBytes(body.locals, [0x02, 0x40], prologue, body.code, [0x0f, 0x0b], epilogue, [0x0b])
      const bodyOutput = output + leb(encoded.length).length
      const codeOutput = bodyOutput + body.locals.length + 2 + prologue.length
      anchors.push({ input: body.entry, output, kind: 'exact' })
      anchors.push({ input: body.start, output: bodyOutput, kind: 'forward' })
      anchors.push({ input: -1, output, kind: 'body' })
      for (const { at, offset } of body.placed.sort((a, b) => a.at - b.at)) anchors.push({ input: body.start + at, output: codeOutput + offset, kind: 'exact' })
    }
    const sized = concatBytes(leb(encoded.length), encoded)
    output += sized.length
    bodies.push(sized)
  }
  // The end of the last body (a line table's last end of sequence).
  anchors.push({ input: reader.offset - contents, output, kind: 'exact' })
  return {
    count,
    bodies: concatBytes(...bodies),
    place(prefix) {
      if (!addresses) return
      for (const anchor of anchors) {
        if (anchor.kind === 'body') addresses.instrumented(prefix + anchor.output)
        else addresses.add(anchor.input, prefix + anchor.output, anchor.kind)
      }
    },
  }
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
        const encode = (list: ValType[]) => [...leb(list.length), ...list.map((type) => VALUE[type])]
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
