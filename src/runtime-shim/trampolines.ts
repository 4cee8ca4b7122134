/*
 * Small wasm modules generated at run time for the JSPI path.
 *
 * Import trampolines. A `WebAssembly.Suspending` import always suspends, even
 * when its function returns a plain value (measured in Node 26: 110 ns, where
 * a plain import costs 17), and one that did suspend must not cost more than
 * a raw Suspending import (the extra call into JS that a "plain call first,
 * then wait" design makes cost 20-40 ns per suspension). So each async import
 * is replaced by a wasm function with two paths, picked by what the import
 * returned last time:
 *  - predicted Promise: one call of the Suspending import itself (`s<i>`),
 *    whose JavaScript does the driver's bookkeeping before handing the engine
 *    its Promise; a plain value then still costs one suspension, and turns the
 *    prediction off;
 *  - predicted plain value: a plain call (`p<i>`); when a Promise came back
 *    anyway, the JS side keeps it, puts the call's id in `signal` and turns
 *    the prediction on, and the trampoline calls the Suspending wait (`w<i>`).
 * The predicted path is taken only while a call from `instance.exports` is
 * running wasm directly (`current` is set and no import is between it and
 * here, `depth` = `currentDepth`), so a suspension elsewhere is still reported
 * by the plain path, with a code.
 *
 * On resume (a value or a rejection), the trampoline itself puts the C stack
 * pointer back to where the call left it (the pointer is a global the runtime
 * shares with the module when the build made it an import, else reached
 * through a table the runtime fills with its accessors once the instance
 * exists: two calls into another instance, 6-7% of a suspension) and records
 * in `resumed` which call runs again; the driver reads that cell the next
 * time it needs its list of running calls. An engine resumes a stack only
 * from a microtask, with no other call running, so nothing else can observe
 * the list in between. A synchronous throw of the Suspending import's
 * JavaScript (the import itself threw, or the driver refused) is not a
 * suspension: the JS side sets `threw` and the trampoline rethrows at once.
 *
 * Booked in wasm. A call that resumed and suspends again with nothing in
 * between (no other call, no JS that entered the driver: the common loop of
 * awaits) is booked by the trampoline itself: the pointer goes back to where
 * it rested when the call resumed, unless the call's own frames are what it
 * rested on (the call holds the program's stack), and the call is noted in
 * `booked`, which the driver reads the next time it needs its books (the
 * same call may be booked again meanwhile: the latest suspension is what
 * counts). Only one call waits there at a time; another call's suspension is
 * booked by the JS side as before, which first takes the waiting one in.
 * A booked suspension calls its own Suspending import (`b<i>`), whose
 * JavaScript only calls the import and hands the engine what it returned:
 * the import is not counted in `depth`, which only the gate and the driver's
 * suspension checks read, and with `current` cleared by the booking no
 * suspension under it can pass either. Whatever the import does (it
 * suspends, returns, or throws at once), the call runs on afterwards, so the
 * trampoline does what a resume does in every case. The common case, a call
 * that resumed where the pointer rested and suspends again at once, is tested
 * first and with one load (CELL.steady) in place of the booking's five.
 *
 * Moved by the import. The import's JavaScript may enter wasm and leave the
 * pointer moved (a synchronous export that traps leaves its frame): the
 * untouched program goes on from there, so the call must resume there too.
 * The plain path saves the pointer after the import returned: nothing to do.
 * The predicted path saves it before the Suspending import runs, so:
 *  - on the driver's path, the import's JS reads the pointer once the user's
 *    function returned; when it moved, the driver counts the call in `fixes`,
 *    and `resume` asks the driver (`t.f`) for the value to resume with;
 *  - a call booked where the pointer rests on its own frames (the loop of
 *    awaits) leaves the pointer where the import left it, and nothing reads it
 *    there: when it resumes before the driver took it in, the pointer has
 *    rested where the import left it and stays; once the driver took it in,
 *    the driver read where it rested (the pointer, or `restSp` when another
 *    call resumed since) and fixes the resume as above.
 *
 * Export trampolines. Each suspending export is wrapped in a wasm function
 * that calls it and then calls `exit`: the driver learns synchronously that
 * the call returned, inside the same stack switch, and puts the C stack
 * pointer back before any other code runs.
 */
import type { Signature, TypeSection, WasmValueType } from './metadata.js'
import { concatBytes, encodeName, fromBase64, functionBody, leb, section, sleb, vector } from './wasm-writer.js'

/**
 * The cells the import trampolines share with the JSPI driver (indices into
 * an Int32Array; byte offsets in wasm are four times these). `depth` must be
 * cell 0: it is the ImportDepth count.
 */
export const CELL = {
  /** Imports running now (ImportDepth). */
  depth: 0,
  /** Set by the plain path's JS to the id of the call that got a Promise. */
  signal: 1,
  /** Id of the innermost running call from `instance.exports` (0: none), and the import depth it runs at. */
  current: 2,
  currentDepth: 3,
  /** Id of the call that resumed last and that the driver has not listed yet (0: none). */
  resumed: 4,
  /** Set by the Suspending import's JS when it throws synchronously. */
  threw: 5,
  /** The stack pointer's value at the suspension the trampoline is making. */
  savedSp: 6,
  /**
   * A suspension the trampoline booked itself (see "Booked in wasm" above):
   * the call's id (0: none waiting for the driver), the import it suspended
   * at (its index, or the index's complement when the pointer went to rest
   * before the import ran), and the pointer value its trampoline saved.
   */
  booked: 7,
  bookedImport: 8,
  bookedSp: 9,
  /** At the last resume: the pointer's value then (where it rests while no call runs), and the value the call resumed with. */
  restSp: 10,
  resumeSp: 11,
  /**
   * Calls whose import's JavaScript left the pointer moved (see "Moved by the
   * import" above): while any waits to resume, `resume` asks the driver (`t.f`)
   * for the value a call resumes with.
   */
  fixes: 12,
  /**
   * Id of the call that resumed last, when a booking may take it again with
   * the pointer left where it is (it resumed where the pointer rested, and no
   * other call's booking waits), else 0. Set with `resumed` by a resume and
   * cleared wherever `resumed` is, so while it names a call nothing ran since.
   */
  steady: 13,
  /** Then one per async import: 1 while it is predicted to return a Promise. */
  predict: 14,
} as const

const VALUE_TYPE: Partial<Record<WasmValueType, number>> = {
  i32: 0x7f,
  i64: 0x7e,
  f32: 0x7d,
  f64: 0x7c,
  v128: 0x7b,
  funcref: 0x70,
  externref: 0x6f,
}

/** Whether a trampoline can be written for the signature: a typed reference only with the module's types (metadata `types`). */
export function canTrampoline(signature: Signature, types: TypeSection | undefined): boolean {
  return (signature.typed !== undefined && types !== undefined) || [...signature.params, ...signature.results].every((type) => VALUE_TYPE[type] !== undefined)
}

/** Each value type's encoding: a typed signature carries its own. */
function encodings(signature: Signature): { params: number[][]; results: number[][] } {
  const { typed } = signature
  if (typed) return { params: typed.params.map(fromHex), results: typed.results.map(fromHex) }
  const plain = (list: WasmValueType[]) => list.map((type) => [VALUE_TYPE[type]!])
  return { params: plain(signature.params), results: plain(signature.results) }
}

function fromHex(hex: string): number[] {
  const bytes: number[] = []
  for (let i = 0; i < hex.length; i += 2) bytes.push(parseInt(hex.slice(i, i + 2), 16))
  return bytes
}

/** A local that holds a value of type `encoding` from one block to another: non-null references cannot (0x64 -> 0x63). */
function nullable(encoding: number[]): number[] {
  return encoding[0] === REF ? [REF_NULL, ...encoding.slice(1)] : encoding
}

const SELECT = 0x1b
const LOCAL_GET = 0x20
const LOCAL_SET = 0x21
const LOCAL_TEE = 0x22
const GLOBAL_GET = 0x23
const GLOBAL_SET = 0x24
const I32_CONST = 0x41
const I32_LOAD = 0x28
const I32_STORE = 0x36
const I32_EQZ = 0x45
const I32_EQ = 0x46
const I32_NE = 0x47
const I32_AND = 0x71
const I32_OR = 0x72
const CALL = 0x10
const CALL_INDIRECT = 0x11
const RETURN = 0x0f
const IF_EMPTY = [0x04, 0x40]
const ELSE = 0x05
const TRY_EMPTY = [0x06, 0x40]
const CATCH_ALL = 0x19
const RETHROW = 0x09
const END = 0x0b
const FUNCREF = 0x70
const REF = 0x64
const REF_NULL = 0x63
const REF_AS_NON_NULL = 0xd4

/**
 * The trampoline module's types: the module's own first, when a signature
 * names them (so `(ref $t)` here is the module's `$t`), then the ones made here.
 */
class Types {
  private readonly indices = new Map<string, number>()
  private readonly encoded: Uint8Array[] = []
  private readonly module: Uint8Array
  private readonly first: number

  constructor(private readonly moduleTypes: TypeSection | undefined) {
    this.module = moduleTypes ? fromBase64(moduleTypes.section) : new Uint8Array()
    this.first = moduleTypes?.count ?? 0
  }

  /** The signature's type: the module's own for a typed one. */
  index(signature: Signature): number {
    return signature.typed && this.moduleTypes ? signature.typed.index : this.of(encodings(signature))
  }

  /** A function type made here. */
  of({ params, results }: { params: number[][]; results: number[][] }): number {
    const entry = concatBytes([0x60], vector(params), vector(results))
    const key = entry.join(',')
    let index = this.indices.get(key)
    if (index === undefined) {
      index = this.first + this.encoded.length
      this.indices.set(key, index)
      this.encoded.push(entry)
    }
    return index
  }

  section(): Uint8Array {
    return section(1, concatBytes(leb((this.moduleTypes?.entries ?? 0) + this.encoded.length), this.module, ...this.encoded))
  }
}

function importEntry(name: string, kind: number, description: number[]): Uint8Array {
  return concatBytes(encodeName('t'), encodeName(name), [kind], description)
}

function encodeModule(types: Types, imports: Uint8Array[], functions: number[], exports: Uint8Array[], bodies: Uint8Array[]): Uint8Array {
  return concatBytes(
    [0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00],
    types.section(),
    section(2, vector(imports)),
    section(3, vector(functions.map((type) => leb(type)))),
    section(7, vector(exports)),
    section(10, vector(bodies)),
  )
}

/**
 * Imports the cells' memory `t.m`, whose cells start at byte `base` (written
 * into the code: read from an imported global at each access, it cost 3% of
 * a suspension in Node 26), per signature `t.p<i>` (the plain call), `t.s<i>`
 * (the Suspending import, same signature), `t.w<i>` (the Suspending wait, no params) and
 * `t.b<i>` (the Suspending import of a booked suspension, same signature),
 * and `t.f` (token, saved) -> i32, the value a call whose pointer the import
 * moved resumes with; exports `f<i>`. The C stack pointer: with `sharedPointer`, the
 * global `t.g` (mutable i32) is the pointer itself; without, the exported
 * table `sp` holds its getter (slot 0) and setter (slot 1), do-nothing
 * functions until the runtime fills it.
 */
export function importTrampolines(signatures: Signature[], sharedPointer: boolean, base: number, moduleTypes?: TypeSection): Uint8Array {
  const types = new Types(moduleTypes)
  const getType = sharedPointer ? -1 : types.index({ params: [], results: ['i32'] })
  const setType = sharedPointer ? -1 : types.index({ params: ['i32'], results: [] })
  const resumeType = types.index({ params: ['i32', 'i32'], results: [] })
  const fixType = types.index({ params: ['i32', 'i32'], results: ['i32'] })
  const imports = [importEntry('m', 2, [0x00, 1])]
  if (sharedPointer) imports.push(importEntry('g', 3, [0x7f, 1]))
  signatures.forEach((signature, i) => {
    // The plain call answers a placeholder (null for a reference) when a Promise came back: its results are nullable.
    const { params, results } = encodings(signature)
    imports.push(importEntry(`p${i}`, 0, leb(types.of({ params, results: results.map(nullable) }))))
    imports.push(importEntry(`s${i}`, 0, leb(types.index(signature))))
    imports.push(importEntry(`w${i}`, 0, leb(types.of({ params: [], results }))))
    imports.push(importEntry(`b${i}`, 0, leb(types.index(signature))))
  })
  imports.push(importEntry('f', 0, leb(fixType)))
  const POINTER = 0
  const plain = (i: number) => 4 * i
  const suspending = (i: number) => 4 * i + 1
  const wait = (i: number) => 4 * i + 2
  const booked = (i: number) => 4 * i + 3
  const fix = 4 * signatures.length
  // Defined functions: with a table, its do-nothing getter and setter first; then `resume`, then the trampolines.
  const [noopGet, noopSet] = [fix + 1, fix + 2]
  const resume = fix + 1 + (sharedPointer ? 0 : 2)
  const resumeKept = resume + 1
  const firstTrampoline = resume + 2

  const address = [I32_CONST, 0]
  const load = (cell: number) => [...address, I32_LOAD, 2, ...leb(base + cell * 4)]
  const store = (cell: number, value: number[]) => [...address, ...value, I32_STORE, 2, ...leb(base + cell * 4)]
  const getSp = sharedPointer ? [GLOBAL_GET, POINTER] : [I32_CONST, 0, CALL_INDIRECT, ...leb(getType), 0]
  const setSp = (value: number[]) => (sharedPointer ? [...value, GLOBAL_SET, POINTER] : [...value, I32_CONST, 1, CALL_INDIRECT, ...leb(setType), 0])

  const keptType = types.index({ params: ['i32'], results: [] })
  const functions = sharedPointer ? [resumeType, keptType] : [getType, setType, resumeType, keptType]
  const bodies = [
    ...(sharedPointer ? [] : [functionBody([], [I32_CONST, 0]), functionBody([], [])]),
    // resume(token, saved): the pointer back to the call's, and the call recorded as running; steady when it
    // resumes where the pointer rested and no other call's booking waits.
    functionBody([], [
      ...load(CELL.fixes),
      ...IF_EMPTY,
      LOCAL_GET, 0,
      LOCAL_GET, 1,
      CALL, ...leb(fix),
      LOCAL_SET, 1,
      END,
      ...store(CELL.restSp, getSp),
      ...store(CELL.resumeSp, [LOCAL_GET, 1]),
      ...setSp([LOCAL_GET, 1]),
      ...store(CELL.current, [LOCAL_GET, 0]),
      ...store(CELL.currentDepth, load(CELL.depth)),
      ...store(CELL.resumed, [LOCAL_GET, 0]),
      ...store(CELL.steady, [
        LOCAL_GET, 0,
        I32_CONST, 0,
        ...load(CELL.restSp),
        LOCAL_GET, 1,
        I32_EQ,
        ...load(CELL.booked),
        I32_EQZ,
        ...load(CELL.booked),
        LOCAL_GET, 0,
        I32_EQ,
        I32_OR,
        I32_AND,
        SELECT,
      ]),
    ]),
    // resumeKept(token): the same for a call whose pointer stays where it rested (see "Moved by the import"),
    // taken only while its own booking is the one that waits: always steady.
    functionBody([[VALUE_TYPE.i32!]], [
      ...store(CELL.restSp, [...getSp, LOCAL_TEE, 1]),
      ...store(CELL.resumeSp, [LOCAL_GET, 1]),
      ...store(CELL.current, [LOCAL_GET, 0]),
      ...store(CELL.currentDepth, load(CELL.depth)),
      ...store(CELL.resumed, [LOCAL_GET, 0]),
      ...store(CELL.steady, [LOCAL_GET, 0]),
    ]),
  ]
  const exports = sharedPointer ? [] : [concatBytes(encodeName('sp'), [1, 0])]
  signatures.forEach((signature, i) => {
    functions.push(types.index(signature))
    exports.push(concatBytes(encodeName(`f${i}`), [0], leb(firstTrampoline + i)))
    const params = signature.params.flatMap((_, k) => [LOCAL_GET, ...leb(k)])
    const first = signature.params.length
    const results = signature.results.map((_, k) => first + k)
    const token = first + results.length
    const saved = token + 1
    const resultTypes = encodings(signature).results
    const setResults = [...results].reverse().flatMap((local) => [LOCAL_SET, ...leb(local)])
    const getResults = results.flatMap((local, k) => [LOCAL_GET, ...leb(local), ...(resultTypes[k]![0] === REF ? [REF_AS_NON_NULL] : [])])
    const saveSp = store(CELL.savedSp, [...getSp, LOCAL_TEE, ...leb(saved)])
    const resumed = [LOCAL_GET, ...leb(token), LOCAL_GET, ...leb(saved), CALL, ...leb(resume)]
    // A booked suspension, once the import returned or threw: in place and not yet taken in by the driver, the
    // pointer rested where the import left it, and stays.
    const resumedBooked = (inPlace: boolean) =>
      inPlace
        ? [...load(CELL.booked), LOCAL_GET, ...leb(token), I32_EQ, ...IF_EMPTY, LOCAL_GET, ...leb(token), CALL, ...leb(resumeKept), ELSE, ...resumed, END]
        : resumed
    // `call` (which leaves the import's results), then `after` whether it returned or threw.
    const always = (call: number[], after: number[]) => [...TRY_EMPTY, ...call, ...setResults, CATCH_ALL, ...after, RETHROW, 0, END, ...after]
    const book = (inPlace: boolean) => [
      ...store(CELL.bookedImport, [I32_CONST, ...sleb(inPlace ? i : ~i)]),
      ...store(CELL.bookedSp, [LOCAL_GET, ...leb(saved)]),
      ...store(CELL.booked, [LOCAL_GET, ...leb(token)]),
      ...store(CELL.resumed, [I32_CONST, 0]),
      ...store(CELL.steady, [I32_CONST, 0]),
      // No call runs now; the gate reads currentDepth only under a call.
      ...store(CELL.current, [I32_CONST, 0]),
      // Whether it suspended and resumed or threw at once (the import's JS threw), the call runs on.
      ...always([...params, CALL, ...leb(booked(i))], resumedBooked(inPlace)),
      ...getResults,
      RETURN,
    ]
    // The call the cell names (into `token`), when there is one and it runs at its own depth: opens two blocks.
    const underCall = (cell: number) => [
      ...load(cell),
      LOCAL_TEE, ...leb(token),
      ...IF_EMPTY,
      ...load(CELL.depth),
      ...load(CELL.currentDepth),
      I32_EQ,
      ...IF_EMPTY,
      ...getSp,
      LOCAL_SET, ...leb(saved),
    ]
    bodies.push(
      functionBody([...resultTypes.map(nullable), [VALUE_TYPE.i32!], [VALUE_TYPE.i32!]], [
        // Predicted Promise, under a call from instance.exports at its own depth.
        ...load(CELL.predict + i),
        ...IF_EMPTY,
        // Booked in place: the loop of awaits, with the fewest tests (CELL.steady).
        ...underCall(CELL.steady),
        ...book(true),
        END,
        END,
        ...underCall(CELL.current),
        // Booked with the pointer put back where it rested: it resumed and nothing ran since, no other booked call
        // waits, and its own frames are not where the pointer rested (then it is steady, above).
        ...load(CELL.resumed),
        LOCAL_GET, ...leb(token),
        I32_EQ,
        ...load(CELL.booked),
        I32_EQZ,
        ...load(CELL.booked),
        LOCAL_GET, ...leb(token),
        I32_EQ,
        I32_OR,
        I32_AND,
        ...load(CELL.restSp),
        ...load(CELL.resumeSp),
        I32_NE,
        I32_AND,
        ...IF_EMPTY,
        ...setSp(load(CELL.restSp)),
        ...book(false),
        END,
        ...store(CELL.savedSp, [LOCAL_GET, ...leb(saved)]),
        ...TRY_EMPTY,
        ...params,
        CALL, ...leb(suspending(i)),
        ...setResults,
        CATCH_ALL,
        ...load(CELL.threw),
        ...IF_EMPTY,
        ...store(CELL.threw, [I32_CONST, 0]),
        RETHROW, 1,
        END,
        ...resumed,
        RETHROW, 0,
        END,
        ...resumed,
        ...getResults,
        RETURN,
        END,
        END,
        END,
        // Plain call; the Suspending wait only when a Promise came back.
        ...params,
        CALL, ...leb(plain(i)),
        ...setResults,
        ...load(CELL.signal),
        LOCAL_TEE, ...leb(token),
        ...IF_EMPTY,
        ...store(CELL.signal, [I32_CONST, 0]),
        ...saveSp,
        ...always([CALL, ...leb(wait(i))], resumed),
        END,
        ...getResults,
      ]),
    )
  })
  return concatBytes(
    [0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00],
    types.section(),
    section(2, vector(imports)),
    section(3, vector(functions.map((type) => leb(type)))),
    sharedPointer ? [] : section(4, vector([[FUNCREF, 0x01, 2, 2]])),
    section(7, vector(exports)),
    // Table slots 0 and 1 start as the do-nothing getter and setter.
    sharedPointer ? [] : section(9, vector([concatBytes([0x00, I32_CONST, 0, END], vector([leb(noopGet), leb(noopSet)]))])),
    section(10, vector(bodies)),
  )
}

/** Imports `t.x` (exit) and per signature `t.r<i>` (the real export); exports `g<i>`. */
export function exportTrampolines(signatures: Signature[], moduleTypes?: TypeSection): Uint8Array {
  const types = new Types(moduleTypes)
  const imports = [importEntry('x', 0, leb(types.index({ params: [], results: [] })))]
  signatures.forEach((signature, i) => imports.push(importEntry(`r${i}`, 0, leb(types.index(signature)))))
  const functions: number[] = []
  const exports: Uint8Array[] = []
  const bodies: Uint8Array[] = []
  signatures.forEach((signature, i) => {
    functions.push(types.index(signature))
    exports.push(concatBytes(encodeName(`g${i}`), [0], leb(signatures.length + 1 + i)))
    bodies.push(
      functionBody([], [...signature.params.flatMap((_, k) => [LOCAL_GET, ...leb(k)]), CALL, ...leb(1 + i), CALL, 0]),
    )
  })
  return encodeModule(types, imports, functions, exports, bodies)
}
