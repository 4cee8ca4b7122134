import type { Random } from '../../scripts/fuzz/random.js'

/*
 * Random programs that drive Asyncify themselves, each written twice from
 * one seed. `driven`: functions that call `$pause` (the top of the module's
 * runtime: it unwinds into the buffer at 32 through `asyncify.start_unwind`,
 * and ends the rewind that brings it back) at random points, inside ifs,
 * loops, blocks and calls, direct and through a table, with i32, i64 and f64
 * locals live across each; `main` is the bottom of the runtime, which stops
 * each unwind, counts it and rewinds at once. `reference`: the same functions
 * untouched, where `$pause` only counts. Run untouched, the reference gives
 * what any Asyncify build of `driven` must: `main`'s result, the trace every
 * function folds into `$trace`, and the count of pauses (at most PAUSES).
 */

type Type = 'i32' | 'i64' | 'f64'
const TYPES: readonly Type[] = ['i32', 'i64', 'f64']

interface Fn {
  name: string
  params: Type[]
  result: Type
}

/** Pauses a program makes at most; past them `$pause` does nothing, so a build that never ends its rewinds stops too. */
const PAUSES = 1000

/** The indirect calls' one signature: what the table holds. */
const TABLE_TYPE: Fn = { name: '', params: ['i32', 'i64'], result: 'i64' }

export function randomCoroutineProgram(random: Random): { driven: string; reference: string } {
  const count = random.range(2, 7)
  const fns: Fn[] = Array.from({ length: count }, (_, i) =>
    i > 0 && random.chance(0.4)
      ? { ...TABLE_TYPE, name: `$f${i}` }
      : { name: `$f${i}`, params: Array.from({ length: random.range(1, 3) }, () => random.pick(TYPES)), result: random.pick(TYPES) },
  )
  const table = fns.filter((fn) => fn.params.join() === TABLE_TYPE.params.join() && fn.result === TABLE_TYPE.result)
  const bodies = fns.map((fn, i) => new Body(random, fn, fns.slice(i + 1), table, table.filter((entry) => fns.indexOf(entry) > i)).text())
  const entry = fns[0]!
  const args = entry.params.map((type, i) => convert(`(i32.add (local.get $seed) (i32.const ${i * 7}))`, 'i32', type)).join(' ')
  const enter = `(local.set $result ${convert(`(call ${entry.name} ${args})`, entry.result, 'i64')})`
  const common = `
  (type $indirect (func (param i32 i64) (result i64)))
  (memory (export "memory") 1 1)
  (global $trace (export "trace") (mut i64) (i64.const 0))
  (global $pauses (export "pauses") (mut i32) (i32.const 0))
  (global $rewinding (mut i32) (i32.const 0))
  (global $suspended (mut i32) (i32.const 0))
  (table ${Math.max(table.length, 1)} funcref)
  ${table.length ? `(elem (i32.const 0) ${table.map((fn) => fn.name).join(' ')})` : ''}
  (func $fold (param $value i64)
    (global.set $trace (i64.add (i64.mul (global.get $trace) (i64.const 31)) (local.get $value))))
  ${bodies.join('\n')}`
  const driven = `(module
  (import "asyncify" "start_unwind" (func $start_unwind (param i32)))
  (import "asyncify" "stop_unwind" (func $stop_unwind))
  (import "asyncify" "start_rewind" (func $start_rewind (param i32)))
  (import "asyncify" "stop_rewind" (func $stop_rewind))
  ${common}
  (func $pause
    (if (global.get $rewinding)
      (then (global.set $rewinding (i32.const 0)) (call $stop_rewind))
      (else
        (if (i32.lt_u (global.get $pauses) (i32.const ${PAUSES}))
          (then
            (global.set $suspended (i32.const 1))
            (i32.store (i32.const 16) (i32.const 32))
            (i32.store (i32.const 20) (i32.const 8192))
            (call $start_unwind (i32.const 16)))))))
  (func (export "main") (param $seed i32) (result i64) (local $result i64)
    ${enter}
    (loop $again
      (if (global.get $suspended)
        (then
          (call $stop_unwind)
          (global.set $suspended (i32.const 0))
          (global.set $pauses (i32.add (global.get $pauses) (i32.const 1)))
          (global.set $rewinding (i32.const 1))
          (call $start_rewind (i32.const 16))
          ${enter}
          (br $again))))
    (local.get $result)))`
  const reference = `(module
  ${common}
  (func $pause
    (if (i32.lt_u (global.get $pauses) (i32.const ${PAUSES}))
      (then (global.set $pauses (i32.add (global.get $pauses) (i32.const 1))))))
  (func (export "main") (param $seed i32) (result i64) (local $result i64)
    ${enter}
    (local.get $result)))`
  return { driven, reference }
}

/** `code` of type `from` as a value of type `to` (saturating from f64, so never a trap or a NaN). */
function convert(code: string, from: Type, to: Type): string {
  if (from === to) return code
  const table: Record<string, string> = {
    'i32>i64': 'i64.extend_i32_s',
    'i32>f64': 'f64.convert_i32_s',
    'i64>i32': 'i32.wrap_i64',
    'i64>f64': 'f64.convert_i64_s',
    'f64>i32': 'i32.trunc_sat_f64_s',
    'f64>i64': 'i64.trunc_sat_f64_s',
  }
  return `(${table[`${from}>${to}`]} ${code})`
}

class Body {
  private readonly locals: { name: string; type: Type }[]
  private readonly declared: string[] = []
  private budget: number
  private loops = 0

  constructor(
    private readonly random: Random,
    private readonly fn: Fn,
    /** Functions it may call directly: only later ones, so every call chain ends. */
    private readonly callees: Fn[],
    /** The table's entries, from slot 0, and those it may call through it (later ones, likewise). */
    private readonly table: Fn[],
    private readonly reachable: Fn[],
  ) {
    this.locals = fn.params.map((type, i) => ({ name: `$p${i}`, type }))
    for (let i = 0, n = random.range(1, 4); i < n; i++) this.local(random.pick(TYPES))
    this.budget = random.range(5, 12)
  }

  text(): string {
    const { fn } = this
    // Most functions call on: the entry reaches most of the program.
    const first = this.callees.length > 0 && this.random.chance(0.8) ? `${this.statement(2, 'call')}\n    ` : ''
    const statements = first + this.statements(2)
    const params = fn.params.map((type, i) => `(param $p${i} ${type})`).join(' ')
    return `(func ${fn.name} ${params} (result ${fn.result}) ${this.declared.join(' ')}
    ${statements}
    ${this.expression(fn.result, 2)})`
  }

  private local(type: Type): string {
    const name = `$l${this.declared.length}`
    this.declared.push(`(local ${name} ${type})`)
    this.locals.push({ name, type })
    return name
  }

  private statements(depth: number): string {
    const out: string[] = []
    for (let n = this.random.range(1, 4); n > 0 && this.budget > 0; n--) {
      this.budget--
      out.push(this.statement(depth))
    }
    return out.join('\n    ')
  }

  private statement(depth: number, chosen?: 'call'): string {
    const { random } = this
    const kind =
      chosen ?? random.weighted({ set: 4, pause: 3, fold: 2, call: 3, if: depth > 0 ? 2 : 0, loop: depth > 0 && this.loops < 2 ? 1 : 0, block: depth > 0 ? 1 : 0 })
    switch (kind) {
      case 'set': {
        const local = random.pick(this.locals)
        return `(local.set ${local.name} ${this.expression(local.type, 2)})`
      }
      case 'pause':
        return '(call $pause)'
      case 'fold':
        return `(call $fold ${this.expression('i64', 2)})`
      case 'call': {
        const local = random.pick(this.locals)
        return `(local.set ${local.name} ${convert(this.call(), this.lastCallType, local.type)})`
      }
      case 'if':
        return `(if ${this.condition()} (then ${this.statements(depth - 1)}) (else ${this.statements(depth - 1)}))`
      case 'loop': {
        // A counter of its own, which only the loop writes: every loop ends.
        this.loops++
        const counter = this.local('i32')
        this.locals.pop()
        const label = `$loop${this.loops}`
        return `(local.set ${counter} (i32.const 0))
    (loop ${label}
      ${this.statements(depth - 1)}
      (local.set ${counter} (i32.add (local.get ${counter}) (i32.const 1)))
      (br_if ${label} (i32.lt_u (local.get ${counter}) (i32.const ${random.range(1, 4)}))))`
      }
      default:
        return `(block ${this.statements(depth - 1)} (br_if 0 ${this.condition()}) ${this.statements(depth - 1)})`
    }
  }

  /** The type of what `call` wrote last. */
  private lastCallType: Type = 'i64'

  /** A call of a later function, direct or through the table (a pause may happen inside either); a constant when there is none. */
  private call(): string {
    const { random } = this
    if (this.reachable.length > 0 && random.chance(0.4)) {
      const target = random.pick(this.reachable)
      this.lastCallType = target.result
      return `(call_indirect (type $indirect) ${this.expression('i32', 1)} ${this.expression('i64', 1)} (i32.const ${this.table.indexOf(target)}))`
    }
    if (this.callees.length === 0) {
      this.lastCallType = 'i64'
      return '(i64.const 7)'
    }
    const callee = random.pick(this.callees)
    this.lastCallType = callee.result
    return `(call ${callee.name} ${callee.params.map((type) => this.expression(type, 1)).join(' ')})`
  }

  private condition(): string {
    return `(i32.and ${this.expression('i32', 1)} (i32.const ${this.random.range(1, 7)}))`
  }

  private expression(type: Type, depth: number): string {
    const { random } = this
    const same = this.locals.filter((local) => local.type === type)
    if (depth === 0 || random.chance(0.35)) {
      if (same.length > 0 && random.chance(0.75)) return `(local.get ${random.pick(same).name})`
      return constant(type, random.range(-50, 50))
    }
    if (random.chance(0.2)) {
      const from = random.pick(TYPES)
      return convert(this.expression(from, depth - 1), from, type)
    }
    const op = random.pick(type === 'f64' ? ['add', 'sub', 'mul', 'min', 'max'] : ['add', 'sub', 'mul', 'xor', 'and', 'or', 'rotl'])
    return `(${type}.${op} ${this.expression(type, depth - 1)} ${this.expression(type, depth - 1)})`
  }
}

function constant(type: Type, value: number): string {
  return type === 'f64' ? `(f64.const ${value / 4})` : `(${type}.const ${value})`
}
