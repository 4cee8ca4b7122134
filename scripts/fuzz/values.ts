import type { Random } from './random.js'
import type { ValueType } from './signatures.js'

/*
 * Wasm values as text, so that plans and observations are plain JSON and
 * compare with `===`: i32 and i64 as decimal integers, floats as JavaScript
 * prints them (exact for every f64, "-0", "NaN", "Infinity"). JavaScript
 * cannot carry a NaN's payload through a number, so every NaN reads "NaN"
 * here; payload differences are visible only in memory and in integers that
 * reinterpret float bits (compare.ts looks for both).
 */

export function encodeValue(type: ValueType, value: unknown): string {
  if (type === 'i64') return String(value)
  if (type === 'i32') return String((value as number) | 0)
  if (type === 'f32' || type === 'f64') return Object.is(value, -0) ? '-0' : String(value)
  return `<${type}>`
}

export function decodeValue(type: ValueType, text: string): number | bigint {
  if (type === 'i64') return BigInt(text)
  return Number(text)
}

/** Encodes an export's or import's results: `""` for none, one value, or values joined with ",". */
export function encodeResults(types: ValueType[], value: unknown): string {
  if (types.length === 0) return ''
  if (types.length === 1) return encodeValue(types[0]!, value)
  return types.map((type, i) => encodeValue(type, (value as unknown[])[i])).join(',')
}

/** The JavaScript value an import returns for `results` (encoded, one per result type). */
export function resultsValue(types: ValueType[], results: string[]): unknown {
  const values = types.map((type, i) => decodeValue(type, results[i]!))
  return values.length === 0 ? undefined : values.length === 1 ? values[0] : values
}

const I32_EDGES = [0, 1, -1, 2, 7, 255, 65535, 0x7fffffff, -0x80000000, 1024, -100]
const I64_EDGES = [0n, 1n, -1n, 0x7fffffffffffffffn, -0x8000000000000000n, 0x100000000n, 4096n]
const FLOAT_EDGES = [0, -0, 1, -1, 0.5, 1e10, -3.25, NaN, Infinity, -Infinity, 2 ** 31, 2 ** 63]

/** A random value of `type`, often an edge case, encoded. */
export function drawValue(random: Random, type: ValueType): string {
  const edge = random.chance(0.3)
  switch (type) {
    case 'i32':
      return encodeValue(type, edge ? random.pick(I32_EDGES) : random.chance(0.5) ? random.range(-50, 50) : random.u32())
    case 'i64':
      return encodeValue(type, edge ? random.pick(I64_EDGES) : BigInt.asIntN(64, (BigInt(random.u32()) << 32n) | BigInt(random.u32())))
    case 'f32':
      return encodeValue(type, Math.fround(edge ? random.pick(FLOAT_EDGES) : (random.u32() - 2 ** 31) / random.range(1, 1000)))
    case 'f64':
      return encodeValue(type, edge ? random.pick(FLOAT_EDGES) : (random.u32() - 2 ** 31) / random.range(1, 1000))
    default:
      return `<${type}>`
  }
}
