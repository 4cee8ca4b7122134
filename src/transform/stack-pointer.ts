/*
 * Which global is the C shadow-stack pointer (clang's and Rust's
 * `__stack_pointer`). The runtime moves it for overlapping calls and puts it
 * back after every call, so a wrong answer resets an ordinary global behind
 * the program's back: never guess. In order:
 *   1. the `stackPointer` option (a global name or index, or `false`);
 *   2. the name `__stack_pointer` (name section, export or import name);
 *   3. the shape of the code: functions that allocate a frame by subtracting
 *      a multiple of 16 from the global and give it back by adding to it
 *      (clang's prologue and epilogue, at any optimization level), read from
 *      the bytes as the direct engine reads it (direct/stack-shape.ts), so
 *      that both engines decide alike; from Binaryen's expressions only when
 *      the bytes hold code that reading does not decode;
 * otherwise the pointer is not managed, and the report says so.
 */
import { AsyncifyError } from '../runtime-shim/errors.js'
import type binaryen from 'binaryen'
import type { Binaryen, BinaryenModule } from './binaryen.js'
import type { StackPointerOption } from './options.js'
import { indexNames, NAME_SUBSECTION } from './wasm-sections.js'
import { globalsShapedLikeStackPointer as globalsShapedInBytes } from './direct/stack-shape.js'
import { scanOrNull } from './scan.js'

export interface StackPointer {
  /** Binaryen's internal name of the global, or null when the runtime must leave the C stack alone. */
  name: string | null
  warnings: string[]
}

export const STACK_POINTER_NAME = '__stack_pointer'

interface GlobalCandidate {
  name: string
  index: number
  mutableI32: boolean
  imported: { module: string; base: string } | null
}

export function findStackPointer(
  binaryen: Binaryen,
  module: BinaryenModule,
  bytes: Uint8Array,
  option: StackPointerOption,
  filename: string,
): StackPointer {
  if (option === false) return { name: null, warnings: [] }
  const globals: GlobalCandidate[] = []
  for (let index = 0; index < module.getNumGlobals(); index++) {
    const info = binaryen.getGlobalInfo(module.getGlobalByIndex(index))
    globals.push({
      name: info.name,
      index,
      mutableI32: info.mutable && info.type === binaryen.i32,
      imported: info.module ? { module: info.module, base: info.base ?? '' } : null,
    })
  }
  const names = indexNames(bytes, NAME_SUBSECTION.global) ?? new Map<number, string>()
  const exportedAs = new Map<string, string>()
  for (let i = 0; i < module.getNumExports(); i++) {
    const entry = binaryen.getExportInfo(module.getExportByIndex(i))
    if (entry.kind === binaryen.ExternalGlobal) exportedAs.set(entry.value, entry.name)
  }
  const called = (global: GlobalCandidate, name: string) =>
    names.get(global.index) === name || exportedAs.get(global.name) === name || global.imported?.base === name

  if (option !== 'auto') {
    const chosen = globals.find((global) => (typeof option === 'number' ? global.index === option : called(global, option)))
    if (!chosen || !chosen.mutableI32) {
      throw new AsyncifyError(
        'ASYNCIFY_BAD_OPTIONS',
        `${filename}: stackPointer ${JSON.stringify(option)} ${chosen ? 'is not a mutable i32 global' : 'names no global of this module'}; ` +
          `give the name (name section, export or import name) or the index of the C stack pointer global, or false`,
      )
    }
    return { name: chosen.name, warnings: [] }
  }

  const named = globals.find((global) => called(global, STACK_POINTER_NAME))
  if (named) return { name: named.mutableI32 ? named.name : null, warnings: [] }

  const byShape = shapedInBytes(bytes, globals) ?? globalsShapedLikeStackPointer(binaryen, module, globals)
  if (byShape.length === 1) return { name: byShape[0]!, warnings: [] }
  const candidates = globals.filter((global) => global.mutableI32)
  return { name: null, warnings: candidates.length === 0 ? [] : [noStackPointerWarning(byShape.length)] }
}

/** Why the runtime leaves the C stack alone in a module with mutable i32 globals, `shaped` of them shaped like a stack pointer. */
export function noStackPointerWarning(shaped: number): string {
  return (
    `no global is known to be the C stack pointer (no "${STACK_POINTER_NAME}" name, ` +
    `${shaped === 0 ? 'no function allocates a stack frame from a global' : `${shaped} globals look like one`}), ` +
    `so the runtime leaves the C stack alone: overlapping calls that keep data on it would share it. ` +
    `Keep the name section (link without --strip-all / -s) or pass the stackPointer option (its global index or name; false to silence this)`
  )
}

/** The globals shaped like a stack pointer, by Binaryen's names, as the direct engine reads the bytes; null when it cannot. */
function shapedInBytes(bytes: Uint8Array, globals: GlobalCandidate[]): string[] | null {
  const scanned = scanOrNull(bytes)
  const shaped = scanned && globalsShapedInBytes(bytes, scanned)
  return shaped ? shaped.map((index) => globals[index]!.name) : null
}

/** How many statements at each end of a function body to look at: prologues and epilogues sit there. */
const WINDOW = 24
const STACK_ALIGN = 16

/**
 * Globals with a constant, 16-aligned initial value that at least one function
 * lowers by a multiple of 16 (a frame) and at least one function raises again
 * (or restores from a saved copy). A counter or a flag does not have both.
 * Binaryen's reading, for modules whose code the bytes' reading does not
 * decode: each edge's locals are known from its own window only.
 */
function globalsShapedLikeStackPointer(binaryen: Binaryen, module: BinaryenModule, globals: GlobalCandidate[]): string[] {
  const candidates = new Map<string, { lowered: boolean; raised: boolean }>()
  for (const global of globals) {
    if (!global.mutableI32 || global.imported) continue
    const init = inspect(binaryen, binaryen.getGlobalInfo(module.getGlobalByIndex(global.index)).init)
    if (init.id !== binaryen.ConstId) continue
    const value = (init as binaryen.ConstInfo).value as number
    if (value % STACK_ALIGN !== 0 || value <= 0) continue
    candidates.set(global.name, { lowered: false, raised: false })
  }
  if (candidates.size === 0) return []
  for (let i = 0; i < module.getNumFunctions(); i++) {
    const body = binaryen.getFunctionInfo(module.getFunctionByIndex(i)).body
    if (!body) continue
    for (const statement of edgeStatements(binaryen, body)) {
      const found = frameChange(binaryen, statement.expression, statement.locals)
      const evidence = found && candidates.get(found.global)
      if (!evidence) continue
      if (found.change === 'lower') evidence.lowered = true
      else evidence.raised = true
    }
  }
  return [...candidates].filter(([, evidence]) => evidence.lowered && evidence.raised).map(([name]) => name)
}

/** What a local holds, as far as a frame change is concerned. */
type Symbolic = { global: string; lowered: boolean } | { constant: number }

interface Statement {
  expression: number
  /** Locals set by the statements before it in the same window. */
  locals: Map<number, Symbolic>
}

/** The first and last statements of a body (flattening nested blocks), each with what earlier locals hold. */
function edgeStatements(binaryen: Binaryen, body: number): Statement[] {
  const flat: number[] = []
  const flatten = (expression: number) => {
    const info = inspect(binaryen, expression)
    if (info.id === binaryen.BlockId) for (const child of (info as binaryen.BlockInfo).children) flatten(child)
    else flat.push(expression)
  }
  flatten(body)
  const windows = flat.length <= 2 * WINDOW ? [flat] : [flat.slice(0, WINDOW), flat.slice(-WINDOW)]
  const statements: Statement[] = []
  for (const window of windows) {
    const locals = new Map<number, Symbolic>()
    for (const expression of window) {
      statements.push({ expression, locals: new Map(locals) })
      recordLocal(binaryen, expression, locals)
    }
  }
  return statements
}

function recordLocal(binaryen: Binaryen, expression: number, locals: Map<number, Symbolic>): void {
  const info = inspect(binaryen, expression)
  if (info.id === binaryen.GlobalSetId) {
    recordLocal(binaryen, (info as binaryen.GlobalSetInfo).value, locals)
    return
  }
  if (info.id !== binaryen.LocalSetId) return
  const set = info as binaryen.LocalSetInfo
  recordLocal(binaryen, set.value, locals)
  const value = evaluate(binaryen, set.value, locals)
  if (value) locals.set(set.index, value)
  else locals.delete(set.index)
}

function evaluate(binaryen: Binaryen, expression: number, locals: Map<number, Symbolic>): Symbolic | null {
  const info = inspect(binaryen, expression)
  switch (info.id) {
    case binaryen.ConstId: {
      const value = (info as binaryen.ConstInfo).value
      return typeof value === 'number' ? { constant: value } : null
    }
    case binaryen.GlobalGetId:
      return { global: (info as binaryen.GlobalGetInfo).name, lowered: false }
    case binaryen.LocalGetId:
      return locals.get((info as binaryen.LocalGetInfo).index) ?? null
    case binaryen.LocalSetId:
      return (info as binaryen.LocalSetInfo).isTee ? evaluate(binaryen, (info as binaryen.LocalSetInfo).value, locals) : null
    case binaryen.BinaryId: {
      const { op, left, right } = info as binaryen.BinaryInfo
      const base = evaluate(binaryen, left, locals)
      const amount = evaluate(binaryen, right, locals)
      if (!base || !('global' in base) || !amount || !('constant' in amount)) return null
      if (op === binaryen.SubInt32 && amount.constant > 0 && amount.constant % STACK_ALIGN === 0) {
        return { global: base.global, lowered: true }
      }
      // Frames with over-aligned locals round the lowered pointer down.
      if (op === binaryen.AndInt32 && base.lowered && amount.constant < 0 && amount.constant % STACK_ALIGN === 0) return base
      if (op === binaryen.AddInt32 && amount.constant > 0 && amount.constant % STACK_ALIGN === 0) {
        return { global: base.global, lowered: false }
      }
      return null
    }
    default:
      return null
  }
}

/**
 * `getExpressionInfo` for the expression kinds this file reads, else only the id:
 * binaryen.js throws on some kinds (`unreachable`), and the others are leaves here.
 */
function inspect(binaryen: Binaryen, expression: number): { id: number } {
  const id = binaryen.getExpressionId(expression)
  const read =
    id === binaryen.BlockId ||
    id === binaryen.ConstId ||
    id === binaryen.GlobalGetId ||
    id === binaryen.GlobalSetId ||
    id === binaryen.LocalGetId ||
    id === binaryen.LocalSetId ||
    id === binaryen.BinaryId
  return read ? binaryen.getExpressionInfo(expression) : { id }
}

/** `global.set $g` of a value derived from `$g`: a frame allocated (lowered) or given back (raised). */
function frameChange(
  binaryen: Binaryen,
  expression: number,
  locals: Map<number, Symbolic>,
): { global: string; change: 'lower' | 'raise' } | null {
  const info = inspect(binaryen, expression)
  if (info.id !== binaryen.GlobalSetId) return null
  const set = info as binaryen.GlobalSetInfo
  const value = evaluate(binaryen, set.value, locals)
  if (!value || !('global' in value) || value.global !== set.name) return null
  if (value.lowered) return { global: set.name, change: 'lower' }
  // Raising back: `$g = saved + n`, or `$g = saved` where saved is $g read at entry.
  return { global: set.name, change: 'raise' }
}
