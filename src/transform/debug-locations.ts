/*
 * The input's DWARF line information, attached to Binaryen's IR expression by
 * expression, so that Binaryen carries it through Asyncify and its optimizer
 * and writes a source map of the code it emits. binaryen.js cannot read DWARF
 * into its IR itself, nor tell where in the binary an expression came from,
 * so each function's IR is lined up with the instructions the scanner found
 * in its body: Binaryen reads one expression per instruction, in the order
 * its writer would emit them again (operands first; a block's instruction
 * before its contents; an `if` after its condition), and adds only blocks
 * and `pop`s of its own. Any other difference means the two cannot be lined
 * up with certainty, and that function gets no line at all: never a wrong one.
 */
import type { Binaryen, BinaryenModule } from './binaryen.js'
import type { LineRow } from './dwarf-lines.js'
import type { LineTable } from './line-table.js'
import { ScanError, scanModule } from './scan.js'
import { embedSourceMap, withoutDebugSections, type SourceMapWithoutSources } from './source-map.js'
import { codeContentsStart } from './wasm-sections.js'

export interface AttachedLines {
  /** Defined functions with code the line tables describe. */
  described: number
  /** Of those, the ones whose IR could not be lined up with the input: they have no lines. */
  unmapped: string[]
}

/**
 * Attaches the line of each instruction of `input` (from `table`, its line
 * table) to the expression Binaryen read it as: `module` was read from
 * `input`, or from `input` with functions appended. Null when the scanner
 * cannot decode a body of `input`.
 */
export function attachLineLocations(binaryen: Binaryen, module: BinaryenModule, input: Uint8Array, table: LineTable): AttachedLines | null {
  const codeStart = codeContentsStart(input)
  if (codeStart === null) return null
  let scanned
  try {
    scanned = scanModule(input, { instructions: true })
  } catch (error) {
    if (error instanceof ScanError) return null
    throw error
  }
  const imported = scanned.functions.filter((fn) => fn.imported !== null).length
  // The module read may have functions added after the input's (fibers.ts).
  if (module.getNumFunctions() < scanned.functions.length) return null
  const lines = new LineLookup(table.rows, codeStart)
  const files = new Map<string, number>()
  const fileIndex = (file: string) => {
    let index = files.get(file)
    if (index === undefined) files.set(file, (index = module.addDebugInfoFileName(file)))
    return index
  }
  const result: AttachedLines = { described: 0, unmapped: [] }
  const kinds = irKinds(binaryen)
  scanned.bodies.forEach((body, ordinal) => {
    const located = body.instructions!.map((offset) => lines.at(offset))
    if (located.every((row) => row === null)) return
    result.described++
    const fn = module.getFunctionByIndex(imported + ordinal)
    const pairs = lineUp(binaryen, kinds, binaryen.getFunctionInfo(fn).body, input, body.instructions!)
    if (pairs === null) {
      result.unmapped.push(binaryen.getFunctionInfo(fn).name)
      return
    }
    for (const [expression, instruction] of pairs) {
      const row = located[instruction]
      if (row) module.setDebugLocation(fn, expression, fileIndex(row.file), row.line, Math.max(0, row.column - 1))
    }
  })
  return result
}

/**
 * The module as Binaryen writes it with the lines attached above, and the
 * source map Binaryen makes of them embedded in it (source-map.ts). Binaryen
 * writes its `sourceMappingURL` section last, so replacing it moves no code.
 */
export function emitWithSourceMap(module: BinaryenModule, contents: ReadonlyMap<string, string>): Uint8Array {
  const { binary, sourceMap } = module.emitBinary(SOURCE_MAP_PLACEHOLDER)
  if (!sourceMap) return withoutDebugSections(binary)
  const map = JSON.parse(sourceMap) as SourceMapWithoutSources
  return embedSourceMap(binary, { version: 3, sources: map.sources, names: map.names ?? [], mappings: map.mappings }, contents)
}

const SOURCE_MAP_PLACEHOLDER = 'asyncified.wasm.map'

/** The row in effect at each code offset: the last one at or before it, unless that ends a sequence. */
class LineLookup {
  constructor(
    private readonly rows: LineRow[],
    private readonly codeStart: number,
  ) {}

  at(offset: number): LineRow | null {
    const address = offset - this.codeStart
    let low = 0
    let high = this.rows.length
    while (low < high) {
      const middle = (low + high) >>> 1
      if (this.rows[middle]!.address <= address) low = middle + 1
      else high = middle
    }
    const row = this.rows[low - 1]
    return row && !row.endSequence && row.line !== 0 ? row : null
  }
}

/** Instructions that close or divide a construct: Binaryen reads no expression for them. */
const DIVIDERS = new Set([0x05, 0x07, 0x0b, 0x18, 0x19])

class Misaligned extends Error {}

/**
 * Pairs of (expression, index into `instructions`) for `body`, or null when
 * the IR cannot be lined up with the instructions.
 */
function lineUp(
  binaryen: Binaryen,
  { operands, constructs }: IrKinds,
  body: number,
  bytes: Uint8Array,
  instructions: number[],
): [number, number][] | null {
  const queue = instructions.map((offset, index) => ({ opcode: bytes[offset]!, index })).filter((entry) => !DIVIDERS.has(entry.opcode))
  const pairs: [number, number][] = []
  let next = 0
  const take = (expression: number, accepts: (opcode: number) => boolean) => {
    const instruction = queue[next]
    if (!instruction || !accepts(instruction.opcode)) throw new Misaligned()
    pairs.push([expression, instruction.index])
    next++
  }
  const visit = (expression: number): void => {
    if (expression === 0) return
    const id = binaryen.getExpressionId(expression)
    const kind = operands.get(id)
    if (!kind && !constructs.has(id)) throw new Misaligned()
    // A `pop` is Binaryen's own, for the value a `catch` receives.
    if (id === binaryen.PopId) return
    // binaryen.js has no info for some leaves (unreachable), and leaves need none.
    const info = kind?.[0].length === 0 ? {} : (binaryen.getExpressionInfo(expression) as unknown as Record<string, unknown>)
    const children = (...names: string[]) => {
      for (const name of names) {
        const child = info[name]
        if (Array.isArray(child)) child.forEach((entry) => visit(entry as number))
        else visit(child as number)
      }
    }
    switch (id) {
      case binaryen.BlockId:
        // Binaryen makes blocks of its own (a function body, an arm of an `if`) with no instruction.
        if (queue[next]?.opcode === 0x02) take(expression, () => true)
        return children('children')
      case binaryen.LoopId:
        take(expression, (op) => op === 0x03)
        return children('body')
      case binaryen.IfId:
        children('condition')
        take(expression, (op) => op === 0x04)
        return children('ifTrue', 'ifFalse')
      case binaryen.TryId:
        take(expression, (op) => op === 0x06)
        return children('body', 'catchBodies')
    }
    children(...kind![0])
    take(expression, kind![1])
  }
  try {
    visit(body)
  } catch (error) {
    if (error instanceof Misaligned) return null
    throw error
  }
  // The function's closing `end` is a divider; anything else left over was read as nothing.
  return next === queue.length ? pairs : null
}

type Accepts = (opcode: number) => boolean

const one = (...opcodes: number[]): Accepts => (op) => opcodes.includes(op)
const NUMERIC: Accepts = (op) => (op >= 0x45 && op <= 0xc4) || op === 0xfc || op === 0xfd
const SIMD = one(0xfd)
const ATOMIC = one(0xfe)

interface IrKinds {
  /** Per expression kind other than the constructs: its operand fields in order, and its opcodes. */
  operands: Map<number, [string[], Accepts]>
  /** The kinds lineUp handles itself: blocks, loops, ifs, trys (and the `pop`s Binaryen adds in them). */
  constructs: Set<number>
}

/** The expression kinds lineUp knows; any other kind means the function is not lined up. */
function irKinds(binaryen: Binaryen): IrKinds {
  const constructs = new Set([binaryen.BlockId, binaryen.LoopId, binaryen.IfId, binaryen.TryId, binaryen.PopId])
  const operands = new Map<number, [string[], Accepts]>([
    [binaryen.BreakId, [['value', 'condition'], one(0x0c, 0x0d)]],
    [binaryen.SwitchId, [['value', 'condition'], one(0x0e)]],
    [binaryen.CallId, [['operands'], one(0x10, 0x12)]],
    [binaryen.CallIndirectId, [['operands', 'target'], one(0x11, 0x13)]],
    [binaryen.LocalGetId, [[], one(0x20)]],
    [binaryen.LocalSetId, [['value'], one(0x21, 0x22)]],
    [binaryen.GlobalGetId, [[], one(0x23)]],
    [binaryen.GlobalSetId, [['value'], one(0x24)]],
    [binaryen.LoadId, [['ptr'], (op) => (op >= 0x28 && op <= 0x35) || op === 0xfd || op === 0xfe]],
    [binaryen.StoreId, [['ptr', 'value'], (op) => (op >= 0x36 && op <= 0x3e) || op === 0xfd || op === 0xfe]],
    [binaryen.ConstId, [[], (op) => (op >= 0x41 && op <= 0x44) || op === 0xfd]],
    [binaryen.UnaryId, [['value'], NUMERIC]],
    [binaryen.BinaryId, [['left', 'right'], NUMERIC]],
    [binaryen.SelectId, [['ifTrue', 'ifFalse', 'condition'], one(0x1b, 0x1c)]],
    [binaryen.DropId, [['value'], one(0x1a)]],
    [binaryen.ReturnId, [['value'], one(0x0f)]],
    [binaryen.MemorySizeId, [[], one(0x3f)]],
    [binaryen.MemoryGrowId, [['delta'], one(0x40)]],
    [binaryen.NopId, [[], one(0x01)]],
    [binaryen.UnreachableId, [[], one(0x00)]],
    [binaryen.AtomicRMWId, [['ptr', 'value'], ATOMIC]],
    [binaryen.AtomicCmpxchgId, [['ptr', 'expected', 'replacement'], ATOMIC]],
    [binaryen.AtomicWaitId, [['ptr', 'expected', 'timeout'], ATOMIC]],
    [binaryen.AtomicNotifyId, [['ptr', 'notifyCount'], ATOMIC]],
    [binaryen.AtomicFenceId, [[], ATOMIC]],
    [binaryen.SIMDExtractId, [['vec'], SIMD]],
    [binaryen.SIMDReplaceId, [['vec', 'value'], SIMD]],
    [binaryen.SIMDShuffleId, [['left', 'right'], SIMD]],
    [binaryen.SIMDTernaryId, [['a', 'b', 'c'], SIMD]],
    [binaryen.SIMDShiftId, [['vec', 'shift'], SIMD]],
    [binaryen.SIMDLoadId, [['ptr'], SIMD]],
    [binaryen.SIMDLoadStoreLaneId, [['ptr', 'vec'], SIMD]],
    [binaryen.MemoryInitId, [['dest', 'offset', 'size'], one(0xfc)]],
    [binaryen.DataDropId, [[], one(0xfc)]],
    [binaryen.MemoryCopyId, [['dest', 'source', 'size'], one(0xfc)]],
    [binaryen.MemoryFillId, [['dest', 'value', 'size'], one(0xfc)]],
    [binaryen.RefNullId, [[], one(0xd0)]],
    [binaryen.RefIsNullId, [['value'], one(0xd1)]],
    [binaryen.RefFuncId, [[], one(0xd2)]],
    [binaryen.RefEqId, [['left', 'right'], one(0xd3)]],
    [binaryen.TableGetId, [['index'], one(0x25)]],
    [binaryen.TableSetId, [['index', 'value'], one(0x26)]],
    [binaryen.TableSizeId, [[], one(0xfc)]],
    [binaryen.TableGrowId, [['value', 'delta'], one(0xfc)]],
    [binaryen.ThrowId, [['operands'], one(0x08)]],
    [binaryen.RethrowId, [[], one(0x09)]],
  ])
  return { operands, constructs }
}
