import { concatBytes, encodeName, leb, section, sleb, vector } from '../../src/runtime-shim/wasm-writer.js'

/*
 * The wat generator's modules written out twice from one description: as a
 * binary, instruction for instruction as the generator emitted it (a text
 * round trip through Binaryen would rebuild the bodies as its IR and lose
 * the shapes the generator aims at), and as a flat WAT listing of the same
 * instructions, which a reproducer keeps for reading.
 */

export type ValType = 'i32' | 'i64' | 'f64'
export const VALUE_TYPES: readonly ValType[] = ['i32', 'i64', 'f64']
const TYPE_CODE: Record<ValType, number> = { i32: 0x7f, i64: 0x7e, f64: 0x7c }

export interface FuncType {
  params: ValType[]
  result: ValType | null
}

export interface ModuleSpec {
  types: FuncType[]
  /** Function imports, module `env`; they come first in the function index space. */
  imports: { name: string; type: number }[]
  functions: { name: string; type: number; locals: ValType[]; code: Code }[]
  /** Function indices in the table, from slot 0 (no table when empty). */
  table: number[]
  /** Bytes at address 0 of the one-page memory, exported as `memory`. */
  data: Uint8Array
  /** Mutable globals, each exported under its name. */
  globals: { name: string; type: ValType; init: number | bigint }[]
  /** Function indices exported under their names. */
  exports: number[]
  /** Exception tags, by type index (legacy exception handling; none when empty). */
  tags: number[]
}

const OPCODES = {
  else: 0x05, end: 0x0b, return: 0x0f, drop: 0x1a, select: 0x1b,
  'i32.eqz': 0x45, 'i32.eq': 0x46, 'i32.ne': 0x47, 'i32.lt_s': 0x48, 'i32.lt_u': 0x49, 'i32.gt_s': 0x4a, 'i32.gt_u': 0x4b,
  'i32.le_s': 0x4c, 'i32.le_u': 0x4d, 'i32.ge_s': 0x4e, 'i32.ge_u': 0x4f,
  'i64.eqz': 0x50, 'i64.eq': 0x51, 'i64.ne': 0x52, 'i64.lt_s': 0x53, 'i64.lt_u': 0x54, 'i64.gt_s': 0x55, 'i64.gt_u': 0x56,
  'i64.le_s': 0x57, 'i64.le_u': 0x58, 'i64.ge_s': 0x59, 'i64.ge_u': 0x5a,
  'f64.eq': 0x61, 'f64.ne': 0x62, 'f64.lt': 0x63, 'f64.gt': 0x64, 'f64.le': 0x65, 'f64.ge': 0x66,
  'i32.clz': 0x67, 'i32.ctz': 0x68, 'i32.popcnt': 0x69, 'i32.add': 0x6a, 'i32.sub': 0x6b, 'i32.mul': 0x6c,
  'i32.div_s': 0x6d, 'i32.div_u': 0x6e, 'i32.rem_s': 0x6f, 'i32.rem_u': 0x70, 'i32.and': 0x71, 'i32.or': 0x72, 'i32.xor': 0x73,
  'i32.shl': 0x74, 'i32.shr_s': 0x75, 'i32.shr_u': 0x76, 'i32.rotl': 0x77, 'i32.rotr': 0x78,
  'i64.clz': 0x79, 'i64.ctz': 0x7a, 'i64.popcnt': 0x7b, 'i64.add': 0x7c, 'i64.sub': 0x7d, 'i64.mul': 0x7e,
  'i64.div_s': 0x7f, 'i64.div_u': 0x80, 'i64.rem_s': 0x81, 'i64.rem_u': 0x82, 'i64.and': 0x83, 'i64.or': 0x84, 'i64.xor': 0x85,
  'i64.shl': 0x86, 'i64.shr_s': 0x87, 'i64.shr_u': 0x88, 'i64.rotl': 0x89, 'i64.rotr': 0x8a,
  'f64.abs': 0x99, 'f64.neg': 0x9a, 'f64.ceil': 0x9b, 'f64.floor': 0x9c, 'f64.trunc': 0x9d, 'f64.nearest': 0x9e, 'f64.sqrt': 0x9f,
  'f64.add': 0xa0, 'f64.sub': 0xa1, 'f64.mul': 0xa2, 'f64.div': 0xa3, 'f64.min': 0xa4, 'f64.max': 0xa5, 'f64.copysign': 0xa6,
  'i32.wrap_i64': 0xa7, 'i64.extend_i32_s': 0xac, 'i64.extend_i32_u': 0xad,
  'f64.convert_i32_s': 0xb7, 'f64.convert_i32_u': 0xb8, 'f64.convert_i64_s': 0xb9, 'f64.convert_i64_u': 0xba,
  'i64.reinterpret_f64': 0xbd, 'f64.reinterpret_i64': 0xbf,
} as const
export type Simple = keyof typeof OPCODES

/** Memory accesses: opcode and natural alignment (log2). */
const MEMORY_OPS = {
  'i32.load': [0x28, 2], 'i64.load': [0x29, 3], 'f64.load': [0x2b, 3], 'i32.load8_u': [0x2d, 0], 'i32.load16_s': [0x2e, 1],
  'i64.load32_u': [0x35, 2], 'i32.store': [0x36, 2], 'i64.store': [0x37, 3], 'f64.store': [0x39, 3], 'i32.store8': [0x3a, 0],
  'i64.store32': [0x3e, 2],
} as const
export type MemoryOp = keyof typeof MEMORY_OPS

/** One function body's instructions, as bytes and as indented WAT lines. */
export class Code {
  readonly bytes: number[] = []
  readonly lines: string[] = []
  private depth = 0

  simple(name: Simple): void {
    this.emit(name, [OPCODES[name]])
  }

  constant(type: ValType, value: number | bigint): void {
    this.emit(constantText(type, value), constantBytes(type, value))
  }

  local(op: 'get' | 'set' | 'tee', index: number): void {
    this.emit(`local.${op} ${index}`, [{ get: 0x20, set: 0x21, tee: 0x22 }[op], ...leb(index)])
  }

  global(op: 'get' | 'set', index: number, name: string): void {
    this.emit(`global.${op} $${name}`, [op === 'get' ? 0x23 : 0x24, ...leb(index)])
  }

  memory(name: MemoryOp, offset: number): void {
    const [opcode, align] = MEMORY_OPS[name]
    this.emit(offset === 0 ? name : `${name} offset=${offset}`, [opcode, align, ...leb(offset)])
  }

  call(index: number, name: string): void {
    this.emit(`call $${name}`, [0x10, ...leb(index)])
  }

  callIndirect(type: number): void {
    this.emit(`call_indirect (type ${type})`, [0x11, ...leb(type), 0])
  }

  /** `br` or `br_if` to the label `depth` levels out. */
  branch(op: 'br' | 'br_if', depth: number): void {
    this.emit(`${op} ${depth}`, [op === 'br' ? 0x0c : 0x0d, ...leb(depth)])
  }

  branchTable(depths: number[], fallback: number): void {
    this.emit(`br_table ${[...depths, fallback].join(' ')}`, [0x0e, ...leb(depths.length), ...depths.flatMap((d) => leb(d)), ...leb(fallback)])
  }

  open(kind: 'block' | 'loop' | 'if' | 'try', result: ValType | null): void {
    this.emit(result ? `${kind} (result ${result})` : kind, [{ block: 0x02, loop: 0x03, if: 0x04, try: 0x06 }[kind], result ? TYPE_CODE[result] : 0x40])
    this.depth++
  }

  otherwise(): void {
    this.depth--
    this.simple('else')
    this.depth++
  }

  /** A try's handler for `tag` (its values on the stack), or for any exception (`catch_all`, with none). */
  handler(tag: number | null): void {
    this.depth--
    if (tag === null) this.emit('catch_all', [0x19])
    else this.emit(`catch ${tag}`, [0x07, ...leb(tag)])
    this.depth++
  }

  /** Ends a try body by handing its exceptions to the label `depth` levels out of the try. */
  delegate(depth: number): void {
    this.depth--
    this.emit(`delegate ${depth}`, [0x18, ...leb(depth)])
  }

  throw(tag: number): void {
    this.emit(`throw ${tag}`, [0x08, ...leb(tag)])
  }

  /** Throws again the exception caught by the try `depth` levels out, from one of its handlers. */
  rethrow(depth: number): void {
    this.emit(`rethrow ${depth}`, [0x09, ...leb(depth)])
  }

  close(): void {
    this.depth--
    this.simple('end')
  }

  private emit(text: string, bytes: number[]): void {
    this.bytes.push(...bytes)
    this.lines.push(`${'  '.repeat(this.depth + 2)}${text}`)
  }
}

export function assemble(spec: ModuleSpec): { wasm: Uint8Array; text: string } {
  return { wasm: binary(spec), text: listing(spec) }
}

function binary(spec: ModuleSpec): Uint8Array {
  const valueTypes = (types: ValType[]) => vector(types.map((type) => [TYPE_CODE[type]]))
  const functionNames = [...spec.imports, ...spec.functions].map((entry) => entry.name)
  const atZero = [...constantBytes('i32', 0), 0x0b]
  const parts = [
    section(1, vector(spec.types.map((type) => concatBytes([0x60], valueTypes(type.params), valueTypes(type.result ? [type.result] : []))))),
    section(2, vector(spec.imports.map((entry) => concatBytes(encodeName('env'), encodeName(entry.name), [0], leb(entry.type))))),
    section(3, vector(spec.functions.map((fn) => leb(fn.type)))),
  ]
  if (spec.table.length > 0) parts.push(section(4, vector([[0x70, 0, ...leb(spec.table.length)]])))
  parts.push(section(5, vector([[0, 1]])))
  if (spec.tags.length > 0) parts.push(section(13, vector(spec.tags.map((type) => [0, ...leb(type)]))))
  parts.push(section(6, vector(spec.globals.map(({ type, init }) => [TYPE_CODE[type], 1, ...constantBytes(type, init), 0x0b]))))
  parts.push(
    section(
      7,
      vector([
        concatBytes(encodeName('memory'), [2, 0]),
        ...spec.globals.map((global, index) => concatBytes(encodeName(global.name), [3], leb(index))),
        ...spec.exports.map((index) => concatBytes(encodeName(functionNames[index]!), [0], leb(index))),
      ]),
    ),
  )
  if (spec.table.length > 0) parts.push(section(9, vector([concatBytes([0], atZero, vector(spec.table.map((index) => leb(index))))])))
  parts.push(
    section(
      10,
      vector(
        spec.functions.map((fn) => {
          const content = concatBytes(vector(fn.locals.map((type) => [1, TYPE_CODE[type]])), fn.code.bytes, [0x0b])
          return concatBytes(leb(content.length), content)
        }),
      ),
    ),
  )
  parts.push(section(11, vector([concatBytes([0], atZero, leb(spec.data.length), spec.data)])))
  // Names make a reproducer readable once Binaryen has rewritten it, and tell no global for clang's stack pointer.
  const names = (id: number, list: string[]) => {
    const map = vector(list.map((name, index) => concatBytes(leb(index), encodeName(name))))
    return concatBytes([id], leb(map.length), map)
  }
  parts.push(section(0, concatBytes(encodeName('name'), names(1, functionNames), names(7, spec.globals.map((global) => global.name)))))
  return concatBytes([0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00], ...parts)
}

function listing(spec: ModuleSpec): string {
  const signature = (type: FuncType) =>
    `${type.params.length > 0 ? ` (param ${type.params.join(' ')})` : ''}${type.result ? ` (result ${type.result})` : ''}`
  const functionNames = [...spec.imports, ...spec.functions].map((entry) => entry.name)
  const lines = ['(module']
  spec.types.forEach((type, index) => lines.push(`  (type (;${index};) (func${signature(type)}))`))
  for (const entry of spec.imports) lines.push(`  (import "env" "${entry.name}" (func $${entry.name} (type ${entry.type})))`)
  if (spec.table.length > 0) lines.push(`  (table ${spec.table.length} funcref)`)
  lines.push('  (memory (export "memory") 1)')
  spec.tags.forEach((type, index) => lines.push(`  (tag (;${index};) (type ${type}))`))
  for (const { name, type, init } of spec.globals) lines.push(`  (global $${name} (export "${name}") (mut ${type}) (${constantText(type, init)}))`)
  for (const index of spec.exports) lines.push(`  (export "${functionNames[index]}" (func $${functionNames[index]}))`)
  if (spec.table.length > 0) lines.push(`  (elem (i32.const 0) func ${spec.table.map((index) => `$${functionNames[index]}`).join(' ')})`)
  for (const fn of spec.functions) {
    lines.push(`  (func $${fn.name} (type ${fn.type})${signature(spec.types[fn.type]!)}`)
    if (fn.locals.length > 0) lines.push(`    (local ${fn.locals.join(' ')})`)
    lines.push(...fn.code.lines, '  )')
  }
  lines.push(`  (data (i32.const 0) "${[...spec.data].map((byte) => `\\${byte.toString(16).padStart(2, '0')}`).join('')}")`, ')', '')
  return lines.join('\n')
}

function constantBytes(type: ValType, value: number | bigint): number[] {
  if (type === 'i32') return [0x41, ...sleb(Number(value) | 0)]
  if (type === 'i64') return [0x42, ...sleb64(BigInt(value))]
  const bytes = new Uint8Array(8)
  new DataView(bytes.buffer).setFloat64(0, Number(value), true)
  return [0x44, ...bytes]
}

function constantText(type: ValType, value: number | bigint): string {
  if (type !== 'f64') return `${type}.const ${value}`
  const number = Number(value)
  if (Number.isNaN(number)) return 'f64.const nan'
  if (Math.abs(number) === Infinity) return `f64.const ${number < 0 ? '-' : ''}inf`
  return `f64.const ${Object.is(number, -0) ? '-0' : number}`
}

/** A signed LEB128 of a 64-bit value (wasm-writer's sleb takes numbers, exact only to 2^53). */
function sleb64(value: bigint): number[] {
  const out: number[] = []
  for (;;) {
    const byte = Number(value & 0x7fn)
    value >>= 7n
    if ((value === 0n && !(byte & 0x40)) || (value === -1n && byte & 0x40)) return [...out, byte]
    out.push(byte | 0x80)
  }
}
