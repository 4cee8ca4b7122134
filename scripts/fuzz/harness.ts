import type { AsyncifyStats } from 'unplugin-asyncify/runtime'
import { AnswerStream, FuzzRejection, SUSPENDING_KINDS, type Answer, type Reentry } from './answers.js'
import type { CallSpec, FuzzCase } from './fuzz-case.js'
import type { ModuleSignatures, Signature, ValueType } from './signatures.js'
import { decodeValue, encodeResults, encodeValue } from './values.js'

/*
 * Runs one fuzz case against one target (the untouched module, or the
 * asyncified one) and writes down everything a program's user could observe:
 * every import call with its arguments, every export call's outcome, the
 * final memory and exported globals. Both targets go through this same code;
 * only instantiation and the delivery of answers differ.
 *
 * Import conventions of the C generator, recognised by name:
 *   `stack_<type>_<n>(call, pointer, length)` and `heap_<type>_<n>(...)` read
 *   `length` elements of <type> at `pointer` (logged) and store the answer's
 *   values there when the answer settles. A stack pointer is logged only
 *   where both runs must agree on it (sequential calls, not re-entrant); a
 *   heap pointer never is, because the runtime may take its own memory from
 *   the program's malloc. In overlapping mode every C import's first argument
 *   is the index of the top-level call it belongs to, which picks the answer
 *   stream, so answers do not depend on how the calls interleave.
 */

export interface Observation {
  /** In order: `call` is the top-level call the event belongs to. */
  events: { call: number; text: string }[]
  /** Outcome of each top-level call: `returned <values>` or `threw <error>`. */
  outcomes: string[]
  memory: Uint8Array | null
  pages: number | null
  globals: Record<string, string>
  /** Thenables handed to the runtime by async imports. */
  suspensions: number
  /** asyncifyStats not back at their starting values, unhandled rejections. */
  problems: string[]
  /** Memory pages before and after instantiation (the runtime may reserve pages for itself). */
  pagesAtInstantiation: [declared: number, actual: number] | null
}

export interface Loaded {
  exports: Record<string, unknown>
  /** `asyncifyStats` of the instance, or null for the untouched module. */
  stats(): AsyncifyStats | null
}

export interface Target {
  instantiate(imports: WebAssembly.Imports): Promise<Loaded>
  /** What an import returns for `answer`; `effects` stores the answer's values when it settles. */
  deliver(answer: Answer, signature: Signature, effects: () => void): unknown
  /**
   * Exports that put the C stack pointer (clang's `__stack_pointer`, when
   * exported) back to its value at entry when they return or throw, as the
   * runtime does for the exports it wraps; without it, an exception leaves
   * the pointer where the unwinding left it, below the abandoned frames, and
   * frames an import's JavaScript left behind stay when a frameless export
   * returns.
   */
  resetStackOnExit?: ReadonlySet<string>
}

const PAGE = 65536
const STACK_POINTER = '__stack_pointer'
const BUFFER_IMPORT = /^(stack|heap)_(i32|i64|f32|f64)_\d+$/
const MAX_BUFFER = 64
const ELEMENT_SIZE: Record<string, number> = { i32: 4, i64: 8, f32: 4, f64: 8 }

export async function observe(fuzzCase: FuzzCase, signatures: ModuleSignatures, target: Target): Promise<Observation> {
  const observation: Observation = {
    events: [],
    outcomes: [],
    memory: null,
    pages: null,
    globals: {},
    suspensions: 0,
    problems: [],
    pagesAtInstantiation: null,
  }
  const overlap = fuzzCase.mode === 'overlap'
  const asyncImports = new Set(fuzzCase.transform.imports)
  const reentry: Reentry = new Map(
    overlap ? [] : fuzzCase.calls.map((call) => [call.export, signatures.exports.get(call.export)!.params]),
  )
  const streams = new Map<string, AnswerStream>()
  const stream = (key: string) => {
    if (!streams.has(key)) streams.set(key, new AnswerStream(fuzzCase.seed, key, fuzzCase.temperament, reentry))
    return streams.get(key)!
  }
  let current = -1
  let depth = 0
  let instantiating = true
  let exports: Record<string, unknown> = {}
  const memory = () => (signatures.memoryExport ? (exports[signatures.memoryExport] as WebAssembly.Memory) : null)
  const record = (call: number, text: string) => observation.events.push({ call, text })

  /** Calls an export; the outcome is text, or a Promise of it when the export returned a thenable. */
  const invoke = (name: string, args: string[]): string | Promise<string> => {
    const signature = signatures.exports.get(name)!
    const stackPointer = target.resetStackOnExit?.has(name) ? (exports[STACK_POINTER] as WebAssembly.Global | undefined) : undefined
    const entry = stackPointer?.value
    const describe = (value: unknown) => {
      if (stackPointer) stackPointer.value = entry
      return `returned ${encodeResults(signature.results, value)}`
    }
    const threw = (error: unknown) => {
      if (stackPointer) stackPointer.value = entry
      return `threw ${describeError(error)}`
    }
    try {
      const result = (exports[name] as (...args: unknown[]) => unknown)(
        ...args.map((arg, i) => decodeValue(signature.params[i]!, arg)),
      )
      if (isThenable(result)) return Promise.resolve(result).then(describe, threw)
      return describe(result)
    } catch (error) {
      return threw(error)
    }
  }

  const onImport = (key: string, name: string, signature: Signature, args: unknown[]): unknown => {
    const call = overlap ? Number(args[0]) : current
    const buffer = readBuffer(name, args, memory(), !overlap && depth === 0)
    const answer = stream(overlap ? `call${call}` : 'run').next({
      signature,
      mayBeAsync: !instantiating && asyncImports.has(key),
      mayReenter: !overlap && depth === 0,
      buffer: buffer && { type: buffer.type, length: buffer.length },
    })
    const shown = args.map((arg, i) => (buffer && i === 1 ? buffer.shown : encodeValue(signature.params[i]!, arg)))
    record(call, `${key}(${shown.join(', ')}) ${answer.kind}`)
    if (asyncImports.has(key) && SUSPENDING_KINDS.has(answer.kind)) observation.suspensions++
    const effects = () => {
      if (buffer) writeBuffer(memory(), buffer, answer.writes)
    }
    if (answer.kind !== 'reenter') return target.deliver(answer, signature, effects)
    const nested = answer.reenter!
    depth++
    const outcome = invoke(nested.export, nested.args)
    const finish = (text: string) => {
      depth--
      record(call, `re-entrant ${nested.export}(${nested.args.join(', ')}) ${text}`)
      return target.deliver(answer, signature, effects)
    }
    if (typeof outcome === 'string') return finish(outcome)
    observation.suspensions++
    return outcome.then(finish)
  }

  const imports: Record<string, Record<string, unknown>> = {}
  for (const [key, signature] of signatures.imports) {
    const dot = key.indexOf('.')
    const module = key.slice(0, dot)
    const name = key.slice(dot + 1)
    imports[module] ??= {}
    imports[module][name] = (...args: unknown[]) => onImport(key, name, signature, args)
  }

  const loaded = await target.instantiate(imports as WebAssembly.Imports)
  exports = loaded.exports
  const startMemory = memory()
  if (startMemory && signatures.memoryInitial !== null) {
    observation.pagesAtInstantiation = [signatures.memoryInitial, startMemory.buffer.byteLength / PAGE]
  }
  for (const name of fuzzCase.init) {
    const outcome = invoke(name, [])
    record(-1, `init ${name} ${typeof outcome === 'string' ? outcome : await outcome}`)
  }
  instantiating = false
  const stackPointer = () => (exports[STACK_POINTER] as WebAssembly.Global | undefined)?.value as number | undefined
  const baseline = loaded.stats()
  /**
   * Nothing suspended and no Asyncify data held once calls settle; the stack
   * pointer the stats report is the program's own (which a synchronous export
   * that threw may have left lower, in both runs: the log compares it).
   */
  const checkStats = (when: string) => {
    const now = loaded.stats()
    if (!now || !baseline) return
    const expected = { ...baseline, stackPointer: stackPointer() ?? baseline.stackPointer }
    if (JSON.stringify(now) !== JSON.stringify(expected)) {
      observation.problems.push(`asyncifyStats ${when}: ${JSON.stringify(now)}, expected ${JSON.stringify(expected)}`)
    }
  }

  const topLevel = async (index: number, call: CallSpec) => {
    // Overlapping calls are known by the index they pass to every import, their first argument.
    const id = overlap ? Number(call.args[0]) : index
    current = id
    if (fuzzCase.reset) (exports[fuzzCase.reset] as () => void)()
    record(id, `call ${call.export}(${call.args.join(', ')})`)
    const outcome = await invoke(call.export, call.args)
    record(id, `${call.export} ${outcome}`)
    observation.outcomes[index] = outcome
    if (!overlap) {
      if (stackPointer() !== undefined) record(id, `stack pointer ${stackPointer()}`)
      checkStats(`after call ${index} (${call.export})`)
    }
  }
  if (overlap) {
    await Promise.all(fuzzCase.calls.map((call, index) => topLevel(index, call)))
  } else {
    for (const [index, call] of fuzzCase.calls.entries()) await topLevel(index, call)
  }
  checkStats('after every call settled')

  const finalMemory = memory()
  if (finalMemory) {
    observation.memory = new Uint8Array(finalMemory.buffer).slice()
    observation.pages = finalMemory.buffer.byteLength / PAGE
  }
  for (const name of signatures.globals) {
    try {
      const value = (exports[name] as WebAssembly.Global).value
      observation.globals[name] = typeof value === 'bigint' ? String(value) : encodeValue('f64', value)
    } catch {
      // A v128 global cannot be read from JavaScript.
    }
  }
  return observation
}

interface Buffer {
  type: ValueType
  pointer: number
  length: number
  /** How the pointer argument appears in the log: its contents, and the address where both runs agree on it. */
  shown: string
}

function readBuffer(name: string, args: unknown[], memory: WebAssembly.Memory | null, addressesAgree: boolean): Buffer | null {
  const match = BUFFER_IMPORT.exec(name)
  if (!match || !memory) return null
  const type = match[2] as ValueType
  const pointer = (args[1] as number) >>> 0
  const length = Math.max(0, Math.min(MAX_BUFFER, args[2] as number))
  const view = new DataView(memory.buffer)
  const size = ELEMENT_SIZE[type]!
  let contents: string
  if (pointer + length * size > view.byteLength) {
    contents = 'out of bounds'
  } else {
    const values: string[] = []
    for (let i = 0; i < length; i++) values.push(encodeValue(type, load(view, type, pointer + i * size)))
    contents = values.join(' ')
  }
  const address = match[1] === 'stack' && addressesAgree ? `@${pointer}` : '@*'
  return { type, pointer, length, shown: `${address}[${contents}]` }
}

function writeBuffer(memory: WebAssembly.Memory | null, buffer: Buffer, values: string[]): void {
  if (!memory) return
  const view = new DataView(memory.buffer)
  const size = ELEMENT_SIZE[buffer.type]!
  if (buffer.pointer + values.length * size > view.byteLength) return
  values.forEach((value, i) => store(view, buffer.type, buffer.pointer + i * size, decodeValue(buffer.type, value)))
}

function load(view: DataView, type: ValueType, at: number): number | bigint {
  if (type === 'i32') return view.getInt32(at, true)
  if (type === 'i64') return view.getBigInt64(at, true)
  if (type === 'f32') return view.getFloat32(at, true)
  return view.getFloat64(at, true)
}

function store(view: DataView, type: ValueType, at: number, value: number | bigint): void {
  if (type === 'i32') view.setInt32(at, value as number, true)
  else if (type === 'i64') view.setBigInt64(at, value as bigint, true)
  else if (type === 'f32') view.setFloat32(at, value as number, true)
  else view.setFloat64(at, value as number, true)
}

function isThenable(value: unknown): value is PromiseLike<unknown> {
  return (
    value !== null &&
    (typeof value === 'object' || typeof value === 'function') &&
    typeof (value as { then?: unknown }).then === 'function'
  )
}

/**
 * An error as both runs must agree on it: which import answer failed, a trap,
 * or which runtime error code. Which trap is not compared: wasm has one kind
 * of trap, and Binaryen's optimizer may legitimately reorder two operations
 * that would trap differently (-Os alone turns an out-of-bounds load into an
 * `unreachable` in some ttf modules); Binaryen's own fuzzer compares traps
 * the same way. Messages of the runtime's own errors name files and sizes, so
 * only their code counts.
 */
export function describeError(error: unknown): string {
  if (error instanceof FuzzRejection) return `rejection ${error.id}`
  if (error instanceof WebAssembly.RuntimeError) return 'trap'
  if (error instanceof Error) {
    const code = (error as { code?: unknown }).code
    if (typeof code === 'string' && code.startsWith('ASYNCIFY_')) return `${error.name} ${code}`
    return `${error.name}: ${error.message}`
  }
  return `non-error ${String(error)}`
}
