import type { FuzzCase } from './fuzz-case.js'
import type { Observation } from './harness.js'

/*
 * Decides whether the asyncified run behaved like the reference run.
 *
 *   same      identical observations.
 *   nan       they differ only in NaN bit patterns: Binaryen's optimizer may
 *             fold a NaN-producing operation to a NaN with other payload bits,
 *             which the spec allows. JavaScript numbers cannot carry payloads,
 *             so these show up in memory bytes and in integers that
 *             reinterpret float bits.
 *   skip      the runs are not comparable, for a reason counted apart: the
 *             JavaScript stack ran out (frames are larger after Asyncify),
 *             the Asyncify stack overflowed or memory could not hold it
 *             (documented limits, reported as such by the runtime), or the
 *             program wrote into the pages the runtime reserved for itself
 *             (or read them: check.ts tells by a second reference run).
 *   mismatch  anything else.
 *
 * What is compared: the ordered log of import calls (arguments included) and
 * export outcomes (per top-level call when calls overlap, since only each
 * call's own order is defined then); each call's outcome; exported globals;
 * problems the asyncified run noticed (asyncifyStats not back to baseline,
 * rejections nobody handled); and the final memory. Memory is compared byte
 * for byte, except the pages the runtime reserved at instantiation (which the
 * reference grew too, left unused). In a clang program (`__data_end` and
 * `__heap_base` exported), when the runtime takes its memory from the
 * program's malloc, heap layouts and the allocator's own state (static data)
 * legitimately differ, so only the program's globals (`state`) are compared.
 * Otherwise static data is compared; the C stack when every call ran on the
 * program's own stack (no overlapping or re-entrant calls, which the runtime
 * moves to stacks of its own); the heap and the memory size when the runtime
 * grew no stacks either.
 */

export type Verdict =
  | { kind: 'same' }
  | { kind: 'nan'; differences: string[] }
  | { kind: 'skip'; reason: string }
  | { kind: 'mismatch'; differences: string[] }

export interface CompareContext {
  mode: FuzzCase['mode']
  /** The runtime takes its memory from the program's malloc. */
  usesMalloc: boolean
  /** The module has a C stack pointer the runtime manages. */
  hasStackPointer: boolean
  /** Exports the runtime wraps (which put the C stack pointer back when they return or throw). */
  suspendingExports: string[]
  state: FuzzCase['state']
}

const PAGE = 65536
const MAX_SHOWN = 6

export function compare(reference: Observation, asyncified: Observation, context: CompareContext): Verdict {
  const skip = skipReason(reference, asyncified)
  if (skip) return { kind: 'skip', reason: skip }
  const hard: string[] = []
  const nan: string[] = []
  const note = (differences: { text: string; nanOnly: boolean }[]) => {
    for (const difference of differences) (difference.nanOnly ? nan : hard).push(difference.text)
  }

  if (context.mode === 'overlap') {
    const calls = new Set([...reference.events, ...asyncified.events].map((event) => event.call))
    for (const call of calls) {
      const pick = (observation: Observation) => observation.events.filter((event) => event.call === call).map((event) => event.text)
      note(compareLines(`call ${call}`, pick(reference), pick(asyncified)))
    }
  } else {
    const texts = (observation: Observation) => observation.events.map((event) => `[${event.call}] ${event.text}`)
    note(compareLines('log', texts(reference), texts(asyncified)))
  }
  note(compareLines('outcomes', reference.outcomes, asyncified.outcomes))
  for (const problem of asyncified.problems) hard.push(problem)
  const leakedOutOfOrder = context.mode === 'overlap' && syncExportThrew(reference, context.suspendingExports)
  for (const name of new Set([...Object.keys(reference.globals), ...Object.keys(asyncified.globals)])) {
    // A synchronous export that throws leaves the C stack pointer below its abandoned frames
    // in both runs (nothing wraps it); where that lands depends on the order overlapping calls ran in.
    if (name === '__stack_pointer' && leakedOutOfOrder) continue
    note(compareLines(`global ${name}`, [reference.globals[name] ?? 'absent'], [asyncified.globals[name] ?? 'absent']))
  }

  if (context.mode === 'sequential') {
    const memory = compareMemory(reference, asyncified, context)
    if (typeof memory === 'string') return { kind: 'skip', reason: memory }
    note(memory)
  }

  if (hard.length > 0) return { kind: 'mismatch', differences: [...hard, ...nan].slice(0, MAX_SHOWN) }
  if (nan.length > 0) return { kind: 'nan', differences: nan.slice(0, MAX_SHOWN) }
  return { kind: 'same' }
}

function syncExportThrew(observation: Observation, suspendingExports: string[]): boolean {
  return observation.events.some((event) => {
    const match = /^(\S+) threw /.exec(event.text)
    return match !== null && match[1] !== 'init' && !suspendingExports.includes(match[1]!)
  })
}

function skipReason(reference: Observation, asyncified: Observation): string | null {
  const outcomes = [...reference.outcomes, ...asyncified.outcomes, ...reference.events.map((e) => e.text), ...asyncified.events.map((e) => e.text)]
  if (outcomes.some((text) => text.includes('RangeError: Maximum call stack size exceeded'))) return 'JavaScript stack exhausted'
  for (const code of ['ASYNCIFY_STACK_OVERFLOW', 'ASYNCIFY_MEMORY_EXHAUSTED']) {
    if (asyncified.outcomes.some((text) => text.includes(code)) || asyncified.events.some((e) => e.text.includes(code))) {
      return code === 'ASYNCIFY_STACK_OVERFLOW' ? 'Asyncify stack overflow (stackSize)' : 'memory exhausted for the runtime'
    }
  }
  return null
}

/** Differences between two logs, line by line; a line differs only in NaNs when every differing token is one. */
function compareLines(label: string, expected: string[], actual: string[]): { text: string; nanOnly: boolean }[] {
  const differences: { text: string; nanOnly: boolean }[] = []
  const length = Math.max(expected.length, actual.length)
  for (let i = 0; i < length; i++) {
    const want = expected[i]
    const got = actual[i]
    if (want === got) continue
    const nanOnly = want !== undefined && got !== undefined && differsOnlyInNaNs(want, got)
    differences.push({ text: `${label} #${i}: expected ${want ?? '(nothing)'}, got ${got ?? '(nothing)'}`, nanOnly })
    // Once the logs diverge, every later line differs too; the first difference is what matters.
    if (!nanOnly) break
  }
  return differences
}

function differsOnlyInNaNs(want: string, got: string): boolean {
  const a = want.split(/([\s,()[\]@]+)/)
  const b = got.split(/([\s,()[\]@]+)/)
  if (a.length !== b.length) return false
  return a.every((token, i) => token === b[i] || (isNaNBits(token) && isNaNBits(b[i]!)))
}

/** An integer token whose bits, as the float of its width, are a NaN (i32 as f32, i64 as f64). */
function isNaNBits(token: string): boolean {
  if (!/^-?\d+$/.test(token)) return false
  const view = new DataView(new ArrayBuffer(8))
  const value = BigInt(token)
  if (value >= -(2n ** 31n) && value < 2n ** 32n) {
    view.setUint32(0, Number(BigInt.asUintN(32, value)))
    return Number.isNaN(view.getFloat32(0))
  }
  view.setBigUint64(0, BigInt.asUintN(64, value))
  return Number.isNaN(view.getFloat64(0))
}

function compareMemory(
  reference: Observation,
  asyncified: Observation,
  context: CompareContext,
): { text: string; nanOnly: boolean }[] | string {
  const want = reference.memory
  const got = asyncified.memory
  if (!want || !got) return want === got ? [] : [{ text: `memory: ${want ? 'present' : 'absent'} in the reference only`, nanOnly: false }]
  const [declared, actual] = asyncified.pagesAtInstantiation ?? [0, 0]
  const reserved: [number, number] = [declared * PAGE, actual * PAGE]
  const reentered = reference.events.some((event) => event.text.startsWith('re-entrant '))
  // Re-entrant and overlapping calls run on C stacks of the runtime's own, grown or malloc'd as needed.
  const otherStacks = context.hasStackPointer && (context.mode === 'overlap' || reentered)
  const pagesComparable = !context.usesMalloc && !otherStacks
  const dataEnd = globalAddress(reference, '__data_end')
  const heapBase = globalAddress(reference, '__heap_base')
  const state = context.state && globalAddress(reference, context.state.export)
  const regions: [number, number][] = []
  if (dataEnd === null || heapBase === null) {
    regions.push([0, want.length])
  } else if (context.usesMalloc) {
    if (state !== null && context.state) regions.push([state, state + context.state.bytes])
  } else {
    regions.push([0, dataEnd])
    if (context.mode === 'sequential' && !reentered) regions.push([dataEnd, heapBase])
    if (pagesComparable) regions.push([heapBase, want.length])
  }
  if (pagesComparable) {
    if (reference.pages !== asyncified.pages) {
      return [{ text: `memory size: expected ${reference.pages} pages, got ${asyncified.pages}`, nanOnly: false }]
    }
    if (want.subarray(reserved[0], reserved[1]).some((byte) => byte !== 0)) return 'the program wrote into the pages the runtime reserved'
  }
  const differing: number[] = []
  for (const [start, end] of regions) {
    for (let i = start; i < Math.min(end, want.length, got.length); i++) {
      if (i >= reserved[0] && i < reserved[1]) continue
      if (want[i] !== got[i]) differing.push(i)
    }
  }
  if (differing.length === 0) return []
  const nanOnly = differing.every((at) => coveredByNaN(want, got, at))
  const shown = differing.slice(0, 8).map((at) => `@${at}: ${want[at]} -> ${got[at]}`)
  return [{ text: `memory: ${differing.length} bytes differ (${shown.join(', ')})`, nanOnly }]
}

function globalAddress(observation: Observation, name: string): number | null {
  const value = observation.globals[name]
  return value === undefined ? null : Number(value) >>> 0
}

/** Whether byte `at` lies in a 4- or 8-byte window that holds a NaN in both memories. */
function coveredByNaN(want: Uint8Array, got: Uint8Array, at: number): boolean {
  const a = new DataView(want.buffer, want.byteOffset, want.byteLength)
  const b = new DataView(got.buffer, got.byteOffset, got.byteLength)
  for (const width of [4, 8]) {
    for (let start = at - width + 1; start <= at; start++) {
      if (start < 0 || start + width > want.length || start + width > got.length) continue
      const read = (view: DataView) => (width === 4 ? view.getFloat32(start, true) : view.getFloat64(start, true))
      if (Number.isNaN(read(a)) && Number.isNaN(read(b))) return true
    }
  }
  return false
}
