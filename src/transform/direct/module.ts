/*
 * Asyncify a whole module without Binaryen: the listed functions are
 * instrumented (instrument.ts), and the module gets Asyncify's globals and
 * its five exports (and a function they share), and with shared records the
 * helpers that write and read them (frame-records.ts), appended so that no
 * index changes, and branch hints for the code it added. At optimize 3,
 * empty functions appended last keep the input's share of small functions,
 * from which V8 sizes its inlining budget (small-functions.ts).
 */
import { concatBytes, encodeName, leb, section, vector } from '../../runtime-shim/wasm-writer.js'
import { scanModule } from '../scan.js'
import { signatureKey } from '../scan-facts.js'
import { WasmReader } from '../wasm-reader.js'
import { functionNamesPlaced } from './function-names.js'
import { moduleTypesOf } from './module-types.js'
import { DecodeUnsupported, ReferenceSaved, SuspensionInHandler, type DecodedBody, type FuncType, type ModuleTypes, type ValType } from './body.js'
import { decodeBody, encodeBody, typeBytes } from './decode.js'
import type { CodeAddresses } from './addresses.js'
import { BodyInstrumenter, type AsyncifyGlobals, type Sites } from './instrument.js'
import { FrameRecords, type AppendedFunction } from './frame-records.js'
import { ArgumentsAgain } from './arguments-again.js'
import { EMPTY_BODY, MAX_FUNCTIONS, emptyFunctionsForShare } from './small-functions.js'
import { BRANCH_HINTS, CODE_METADATA_PREFIX, RARELY_TAKEN, codeMetadataKept, codeMetadataSection, readCodeMetadata, type CodeMetadataEntry } from '../code-metadata.js'
import { codeContents, customSectionPayloads } from '../wasm-sections.js'
import { declaredFeatures } from '../features.js'
import type { AsyncifyApiName } from './api-imports.js'

export interface DirectPlan {
  /** The C stack pointer's global, which the API also saves and restores (see `apiFunctions`); null: none. */
  stackPointer: number | null
  /** Function indices (imports included) whose calls may unwind: async imports and instrumented functions. */
  unwinding: Set<number>
  /** Defined functions to instrument, by function index. */
  instrument: Set<number>
  /** Records written by helpers the functions share (frame-records.ts; optimize 's' or 'z'), not in place. */
  sharedRecords: boolean
  /**
   * Each instrumented function whose forward body checks the state less
   * often goes out twice (optimize 3): the body every call and table names
   * runs forward without the code only a rewind needs, and hands a rewind to
   * a copy appended with it (`BodyInstrumenter.forward` decides). Not with
   * shared records.
   */
  rewindCopies?: boolean
  /**
   * Instrumented functions that only instrumented functions call, and only
   * directly (none is in a table, exported, or referenced): their callers
   * can pass them, on a rewind, the arguments of the first run, so that the
   * parameters that keep their arguments need no saving. Those whose callers
   * need save nothing more for it take their arguments so (`ArgumentsAgain`):
   * a smaller record, and none (nor a check at their entry) when that was all
   * it held. Each with the functions that call it.
   */
  argumentsAgain: Map<number, Set<number>>
  /** Defined functions that stand for the module's own imports of the API (api-imports.ts), by index: their bodies are written here. */
  apiImports?: Map<number, AsyncifyApiName>
  /**
   * Empty functions appended so that V8 sees the input's share of small
   * functions and sizes its inlining budget as for the input
   * (small-functions.ts; optimize 3).
   */
  smallFunctionShare?: boolean
}

const signature = (type: FuncType) => `${type.params.join(',')}->${type.results.join(',')}`

/** Section ids in the order a module must have them (the tag section sits between memory and global). */
const ORDER = [1, 2, 3, 4, 5, 13, 6, 7, 8, 9, 12, 10, 11]

export interface DirectOutput {
  wasm: Uint8Array
  /** Features the output uses that the input may not have: `multivalue` when a frame-record helper returns several values. */
  features: string[]
  /** The rewind copies (optimize 3): each appended function `copy` runs function `of`'s code on a rewind (indices among the defined functions). */
  copies: { copy: number; of: number }[]
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
  const moduleTypes = moduleTypesOf(scanned, bytes)
  const { types, functions } = moduleTypes
  const imported = scanned.functions.filter((fn) => fn.imported !== null).length
  const state = scanned.globals.length
  const data = state + 1
  // After them the C stack pointer's saved value (with one), then the Asyncify stack's position and end (instrument.ts).
  const cur = data + (plan.stackPointer === null ? 1 : 2)
  const globals = { state, cur, end: cur + 1 }
  // By the scan's signatures, which read every typed reference as one kind: two types written apart may be
  // the same type (equal definitions are), so an indirect call may reach more than the exact types say. Under
  // subtyping a call may reach other signatures too: every indirect call may unwind then, as the call graph has it.
  const unwindingSignatures = new Set([...plan.unwinding].map((index) => signatureKey(scanned.functions[index]!.type)))
  const sites = {
    call: (func: number) => plan.unwinding.has(func),
    indirect: (typeIndex: number) => scanned.subtyping || unwindingSignatures.has(signatureKey(scanned.types[typeIndex]!)),
    argumentsAgain: (func: number) => plan.argumentsAgain.has(func),
  }

  const { added: addedTypes, index: typeOf } = appendedTypes(scanned.subtyping ? [] : types, scanned.types.length)
  const functionCount = scanned.functions.length
  const api = apiFunctions(globals, data, plan.stackPointer, typeOf, functionCount)
  const records = plan.sharedRecords ? new FrameRecords(functionCount + api.length, globals, typeOf, multiValueAllowed(bytes, types)) : null
  // First: the helpers it appends are known once every body is instrumented, and their types and functions are declared before the code.
  // The input's branch hints stay true (moved with their instructions in the bodies instrumented), and ours join
  // them; a build for size writes none of its own.
  const apiBodies = plan.apiImports && apiImportBodies(globals, data, functionCount)
  const replaced = new Map([...(plan.apiImports ?? [])].map(([index, name]) => [index, apiBodies![name]]))
  if (plan.rewindCopies && records !== null) throw new Error('rewind copies and shared records do not go together')
  const copies: RewindCopies | null = plan.rewindCopies ? { first: functionCount + api.length, typeOf, functions: [], of: [] } : null
  const { code, appended, hints } = codeSection(bytes, codeContents(bytes)!, imported, plan, functions, moduleTypes, sites, globals, records, api, replaced, addresses, copies, {
    own: !plan.sharedRecords,
    input: inputBranchHints(bytes),
  }, plan.smallFunctionShare ? typeOf([], []) : null)
  const hintSection = codeMetadataSection(BRANCH_HINTS, hints)

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
  const globalsAdded = () => Array.from({ length: globals.end + 1 - state }, () => [0x7f, 1, 0x41, 0, 0x0b])
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
    const appendedTo = (items: (Uint8Array | number[])[]) => {
      const inner = new WasmReader(bytes, contents)
      const count = inner.u32()
      return concatBytes(leb(count + items.length), bytes.subarray(inner.offset, end), ...items)
    }
    switch (id) {
      case 1:
        seen.add(1)
        parts.push(section(1, appendedTo(addedTypes)))
        break
      case 3:
        seen.add(3)
        parts.push(section(3, appendedTo(appended.map((entry) => leb(entry.type)))))
        break
      case 6:
        seen.add(6)
        parts.push(section(6, appendedTo(globalsAdded())))
        break
      case 7:
        seen.add(7)
        parts.push(section(7, appendedTo(exportsAdded())))
        break
      case 10:
        // Engines read code metadata only before the code section.
        if (hintSection !== null) parts.push(hintSection)
        parts.push(section(10, code))
        break
      case 0: {
        const named = new WasmReader(bytes, contents)
        const name = named.name()
        if (name === 'name' && copies !== null && copies.of.length > 0) parts.push(namesWithCopies(bytes, named.offset, start, end, imported, copies))
        else if (!name.startsWith(CODE_METADATA_PREFIX)) parts.push(bytes.subarray(start, end))
        // Written before the code section, with ours.
        else if (name === BRANCH_HINTS) break
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
  return {
    wasm: concatBytes(...parts),
    features: records?.multiValue ? ['multivalue'] : [],
    copies: copies?.of.map(({ i }, k) => ({ copy: copies.first + k - imported, of: i })) ?? [],
  }
}

/** The code section, and the functions appended to it: the API's, then the rewind copies or the helpers its records needed, then any empty functions for the share of small ones. */
function codeSection(
  bytes: Uint8Array,
  { start: contents, end }: { start: number; end: number },
  imported: number,
  plan: DirectPlan,
  functions: FuncType[],
  moduleTypes: ModuleTypes,
  sites: Sites,
  globals: AsyncifyGlobals,
  records: FrameRecords | null,
  api: AppendedFunction[],
  replaced: Map<number, Uint8Array>,
  addresses: CodeAddresses | undefined,
  copies: RewindCopies | null,
  branchHints: { own: boolean; input: Map<number, CodeMetadataEntry[]> | null },
  /** The type `() -> ()`, when empty functions keep the input's share of small ones (`DirectPlan.smallFunctionShare`); else null. */
  emptyType: number | null,
): { code: Uint8Array; appended: AppendedFunction[]; hints: Map<number, CodeMetadataEntry[]> } {
  const reader = new WasmReader(bytes, contents)
  const count = reader.u32()
  const extents: { entry: number; start: number; size: number }[] = []
  for (let i = 0; i < count; i++) {
    const entry = reader.offset - contents
    const size = reader.u32()
    extents.push({ entry, start: reader.offset, size })
    reader.offset += size
  }
  if (reader.offset !== end) throw new Error('code section size mismatch')
  const instrumenter = (i: number) => {
    const type = functions[imported + i]!
    const { start, size } = extents[i]!
    const decoded = decodeBody(bytes.subarray(start, start + size), type.params, moduleTypes)
    // At optimize 's' or 'z' (shared records) size comes first: an entry test costs 4 bytes (SQLite 1.5 KB, 0.11% more).
    return new BodyInstrumenter(decoded, type, sites, globals, records ? 'type' : 'index', records === null)
  }
  // Whether a function takes its arguments again is known once its callers are instrumented: the first
  // instrumentation of each body is in an order that has them first (`ArgumentsAgain.order`).
  const again = new ArgumentsAgain(plan.argumentsAgain, plan.instrument)
  /** Function `index` instrumented, taking its arguments again when `takes` says so; null when it has no site. */
  const instrumentedAs = (index: number, takes: (index: number, instrumented: BodyInstrumenter) => boolean) => {
    const instrumented = instrumenter(index - imported)
    let types: ValType[] | null
    try {
      types = instrumented.instrument()
    } catch (error) {
      if (error instanceof SuspensionInHandler) throw new SuspensionInHandler(error.callee, index)
      if (error instanceof ReferenceSaved) throw new ReferenceSaved(error.type, index, error.held)
      throw error
    }
    if (types === null) return null
    if (takes(index, instrumented)) instrumented.takeArgumentsAgain()
    return instrumented
  }
  const deciding = (index: number, instrumented: BodyInstrumenter) => again.takes(index, instrumented)
  // Shared helpers pay only for record types several functions use, so with them every body is instrumented once
  // to count its record's types first, and again when it is written. Keeping every first instrumentation until
  // then took the peak memory of a transform of QuickJS from 91 to 123 MB (SQLite 108 to 165 MB); instrumenting
  // twice takes 91-106 MB (SQLite 122 MB) and a third more time.
  if (records) {
    for (const index of again.order) {
      const instrumented = instrumentedAs(index, deciding)
      if (instrumented !== null) records.count(instrumented.types)
    }
  }
  // The output's branch hints, by function index.
  const hints = new Map<number, CodeMetadataEntry[]>()
  /** Function `i`'s body `decoded`, encoded: where the input's instructions went in it (when asked), and its branch hints. */
  const encoded = (i: number, decoded: DecodedBody, instrumented: BodyInstrumenter) => {
    const body = bytes.subarray(extents[i]!.start, extents[i]!.start + extents[i]!.size)
    const theirs = branchHints.input?.get(imported + i) ?? []
    const placed: { at: number; offset: number }[] = []
    const rarely = branchHints.own ? { nodes: instrumented.unlikely, offsets: [] as number[] } : undefined
    const placing = addresses !== undefined || theirs.length > 0
    const code = encodeBody(decoded, placing ? (at, offset) => placed.push({ at, offset }) : undefined, rarely)
    const entries: CodeMetadataEntry[] = (rarely?.offsets ?? []).map((offset) => ({ offset, data: RARELY_TAKEN }))
    entries.push(...movedHints(theirs, placed, body, code))
    return { code, placed, hints: entries }
  }
  /** An instrumented body written, where its instructions went (input offset to output offset) when asked, and its branch hints. */
  const write = (i: number, instrumented: BodyInstrumenter): Written => {
    const finished = instrumented.finish(records)
    // With rewind copies, the finished body is appended (with its lines and hints) and the index keeps the forward one (when they differ).
    const forward = copies && instrumented.forward(copies.first + copies.functions.length)
    if (copies && forward) {
      const type = functions[imported + i]!
      const copy = encoded(i, finished, instrumented)
      hints.set(copies.first + copies.functions.length, copy.hints)
      copies.functions.push({ type: copies.typeOf(type.params, type.results), body: copy.code })
      copies.of.push({ i, placed: copy.placed })
    }
    const { code, placed, hints: entries } = encoded(i, forward ?? finished, instrumented)
    const size = leb(code.length)
    return { sized: concatBytes(size, code), start: size.length, placed, hints: entries }
  }
  // Instrumented bodies, written in the order that decides (without shared records) or by index.
  const written = new Map<number, Written>()
  for (const index of records ? again.order.slice().sort((a, b) => a - b) : again.order) {
    const instrumented = instrumentedAs(index, records ? (decided) => again.taken.has(decided) : deciding)
    if (instrumented === null) continue
    try {
      written.set(index, write(index - imported, instrumented))
    } catch (error) {
      if (error instanceof ReferenceSaved) throw new ReferenceSaved(error.type, index, error.held)
      throw error
    }
  }
  const bodies: Uint8Array[] = []
  // Output offsets from the end of the count (known once the helpers are), then shifted into the section's contents.
  let output = 0
  for (let i = 0; i < count; i++) {
    const { entry, start, size } = extents[i]!
    const done = written.get(imported + i) ?? null
    const theirs = branchHints.input?.get(imported + i) ?? []
    if (done !== null) hints.set(imported + i, done.hints)
    else if (theirs.length > 0) hints.set(imported + i, theirs)
    const placed = done === null ? null : done.placed
    // A body left as it was goes out as the input's own bytes, its size included: a view, not a copy.
    const sized = done?.sized ?? replaced.get(imported + i) ?? bytes.subarray(contents + entry, start + size)
    if (addresses) {
      const bodyOutput = output + (done === null ? start - contents - entry : done.start)
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
  addresses?.add(end - contents, output, 'exact')
  const appended = [...api, ...(copies?.functions ?? []), ...(records?.functions ?? [])]
  if (emptyType !== null) {
    // Each body written is its size, then that many bytes.
    const sizes = bodies.map((sized) => new WasmReader(sized, 0).u32())
    const empty = emptyFunctionsForShare(
      extents.map(({ size }) => size),
      [...sizes, ...appended.map(({ body }) => body.length)],
      MAX_FUNCTIONS - (imported + count + appended.length),
    )
    appended.push(...Array.from({ length: empty }, () => ({ type: emptyType, body: EMPTY_BODY })))
  }
  /** Where each appended body starts (its size first). */
  const appendedAt: number[] = []
  for (const entry of appended) {
    appendedAt.push(output)
    const sized = concatBytes(leb(entry.body.length), entry.body)
    bodies.push(sized)
    output += sized.length
  }
  if (addresses && copies) {
    // The copies' lines, on anchors of their own: the input's code went there a second time.
    const second = addresses.second()
    const placedCopies = copies.of.map((copy, k) => ({ ...copy, entry: appendedAt[api.length + k]!, size: copies.functions[k]!.body.length }))
    for (const { i, placed, entry, size } of placedCopies.sort((a, b) => a.i - b.i)) {
      const { start, size: inputSize } = extents[i]!
      const bodyOutput = entry + leb(size).length
      second.add(extents[i]!.entry, entry, 'exact')
      second.add(start - contents, bodyOutput, 'forward')
      second.instrumented(entry)
      for (const { at, offset } of placed.sort((a, b) => a.at - b.at)) second.add(start - contents + at, bodyOutput + offset, 'exact')
      second.add(start - contents + inputSize, bodyOutput + size, 'end')
    }
  }
  const total = leb(count + appended.length)
  addresses?.shift(total.length)
  return { code: concatBytes(total, ...bodies), appended, hints }
}

/** The rewind copies (optimize 3): appended from function index `first` on, each a copy of defined function `of[k].i`. */
interface RewindCopies {
  first: number
  typeOf: (params: ValType[], results: ValType[]) => number
  functions: AppendedFunction[]
  /** What each copies, and where the input's instructions went in it (offsets in the body). */
  of: { i: number; placed: { at: number; offset: number }[] }[]
}

/**
 * The name section (`bytes[start, end)`, its contents from `contents`) with
 * each copy named as the function it copies, its locals and labels too: a
 * stack trace through a rewound frame names the program's function. As it
 * was when its subsections cannot be read.
 */
function namesWithCopies(bytes: Uint8Array, contents: number, start: number, end: number, imported: number, copies: RewindCopies): Uint8Array {
  const copyOf = new Map(copies.of.map(({ i }, k) => [imported + i, copies.first + k]))
  const names = functionNamesPlaced(bytes, contents, end, (index) => {
    const copy = copyOf.get(index)
    return copy === undefined ? [index] : [index, copy]
  })
  return names === null ? bytes.subarray(start, end) : section(0, concatBytes(encodeName('name'), names))
}

/** An instrumented body encoded, where its input's instructions went (offsets in the body), and its branch hints. */
interface Written {
  /** The body's size, then the body. */
  sized: Uint8Array
  /** Where the body starts in `sized`. */
  start: number
  placed: { at: number; offset: number }[]
  hints: CodeMetadataEntry[]
}

/** The input's branch hints, by function index; null when it has none, or none that can be read (they are dropped). */
function inputBranchHints(bytes: Uint8Array): Map<number, CodeMetadataEntry[]> | null {
  const payloads = customSectionPayloads(bytes, BRANCH_HINTS)
  return payloads.length === 1 ? readCodeMetadata(payloads[0]!, 0, payloads[0]!.length) : null
}

/**
 * An instrumented body's branch hints from the input's: each at the offset
 * its instruction went to (`positions`: input offset to output offset, once
 * per copy written). A hint goes only where the output has the instruction's
 * opcode, so that it never lands on another one; a hint whose instruction
 * was not written (dead code) goes with it.
 */
function movedHints(theirs: CodeMetadataEntry[], positions: { at: number; offset: number }[], input: Uint8Array, output: Uint8Array): CodeMetadataEntry[] {
  if (theirs.length === 0) return []
  const moved = new Map<number, number[]>()
  for (const { at, offset } of positions) {
    let offsets = moved.get(at)
    if (!offsets) moved.set(at, (offsets = []))
    offsets.push(offset)
  }
  return theirs.flatMap((entry) => (moved.get(entry.offset) ?? []).filter((offset) => output[offset] === input[entry.offset]).map((offset) => ({ offset, data: entry.data })))
}

/**
 * The types of the functions appended: the module's own where it has one of
 * the same signature (not in a module with subtyping, where equal signatures
 * may be distinct types), else appended after its `count` types.
 */
function appendedTypes(types: (FuncType | null)[], count: number): { added: number[][]; index: (params: ValType[], results: ValType[]) => number } {
  const added: number[][] = []
  const found = new Map(types.flatMap((type, index) => (type === null ? [] : [[signature(type), index] as const])).reverse())
  return {
    added,
    index(params, results) {
      const key = signature({ params, results })
      let index = found.get(key)
      if (index === undefined) {
        index = count + added.length
        const encode = (list: ValType[]) => [...leb(list.length), ...list.flatMap(typeBytes)]
        added.push([0x60, ...encode(params), ...encode(results)])
        found.set(key, index)
      }
      return index
    },
  }
}

/**
 * Binaryen's five API exports over the state and data globals, appended as
 * functions `first` to `first + 4`, and after them the bound check three of
 * them share (a call instead of 9 bytes each). Starting an unwind or a rewind
 * copies `{ cur, end }` at `data` into their globals, and stopping one copies
 * `cur` back, so memory holds them whenever no unwind or rewind runs. Binaryen's
 * `asyncify_stop_unwind` traps when `cur` is past `end`; this one does not, so
 * that the runtime can read how far past it went (never written: a frame's
 * record is written only where it fits), and the next `asyncify_start_rewind`
 * traps instead for any runtime that goes on. With a C stack pointer,
 * `asyncify_stop_unwind` also saves it (in the global after `data`) and
 * returns it, and `asyncify_start_rewind` puts it back: the runtime reads the
 * pointer after every unwind and sets it before every resume, and each call
 * into wasm this saves is about 10 ns of a suspension in Chromium 156. Any
 * other runtime sees Binaryen's signatures, and the pointer back where the
 * last unwind left it: where it stays unless JavaScript moved it meanwhile.
 */
function apiFunctions(
  globals: AsyncifyGlobals,
  data: number,
  stackPointer: number | null,
  typeOf: (params: ValType[], results: ValType[]) => number,
  first: number,
): (AppendedFunction & { name: string | null })[] {
  const { state, cur, end, setState, start, stop, check } = apiSteps(globals, data, first)
  const startRewind = [...setState(2), ...start, ...check]
  const [sp, saved] = stackPointer === null ? [null, null] : [leb(stackPointer), leb(data + 1)]
  // No locals; the code, then `end`.
  const entry = (name: string | null, type: number, code: number[]) => ({ name, type, body: [0, ...code, 0x0b] })
  return [
    entry('asyncify_start_unwind', typeOf(['i32'], []), [...setState(1), ...start, ...check]),
    sp === null
      ? entry('asyncify_stop_unwind', typeOf([], []), [...setState(0), ...stop])
      : entry('asyncify_stop_unwind', typeOf([], ['i32']), [...setState(0), ...stop, 0x23, ...sp, 0x24, ...saved!, 0x23, ...sp]),
    entry('asyncify_start_rewind', typeOf(['i32'], []), sp === null ? startRewind : [0x23, ...saved!, 0x24, ...sp, ...startRewind]),
    entry('asyncify_stop_rewind', typeOf([], []), [...setState(0), ...stop, ...check]),
    entry('asyncify_get_state', typeOf([], ['i32']), [0x23, ...state]),
    entry(null, typeOf([], []), [0x23, ...cur, 0x23, ...end, 0x4b, 0x04, 0x40, 0x00, 0x0b]),
  ]
}

/** What the API's functions are made of; `first`: the index of the first of them (the bound check is the sixth). */
function apiSteps(globals: AsyncifyGlobals, data: number, first: number) {
  const [state, cur, end] = [leb(globals.state), leb(globals.cur), leb(globals.end)]
  const setState = (value: number) => [0x41, value, 0x24, ...state]
  return {
    state,
    cur,
    end,
    setState,
    // data = the argument; cur and end from memory there.
    start: [0x20, 0, 0x24, ...leb(data), 0x20, 0, 0x28, 2, 0, 0x24, ...cur, 0x20, 0, 0x28, 2, 4, 0x24, ...end],
    stop: [0x23, ...leb(data), 0x23, ...cur, 0x36, 2, 0],
    check: [0x10, ...leb(first + 5)],
  }
}

/**
 * The bodies (size included) of the functions that stand for a module's own
 * imports of the API (api-imports.ts), with Binaryen's signatures and
 * behaviour: the C stack pointer untouched (the module's scheduler owns it),
 * and `stop_unwind` trapping when the unwind ran past the buffer's end.
 */
function apiImportBodies(globals: AsyncifyGlobals, data: number, first: number): Record<AsyncifyApiName, Uint8Array> {
  const { setState, start, stop, check } = apiSteps(globals, data, first)
  const body = (code: number[]) => concatBytes(leb(code.length + 2), [0, ...code, 0x0b])
  return {
    start_unwind: body([...setState(1), ...start, ...check]),
    stop_unwind: body([...setState(0), ...stop, ...check]),
    start_rewind: body([...setState(2), ...start, ...check]),
    stop_rewind: body([...setState(0), ...stop, ...check]),
  }
}

/**
 * Whether the output may use multi-value, keeping to the input's features as
 * read.ts does: its `target_features` section says so, or, without one, it
 * already has a function type with several results.
 */
function multiValueAllowed(bytes: Uint8Array, types: (FuncType | null)[]): boolean {
  if (customSectionPayloads(bytes, 'target_features').length > 0) return declaredFeatures(bytes).includes('multivalue')
  return types.some((type) => type !== null && type.results.length > 1)
}
