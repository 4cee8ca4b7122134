import type { Random } from './random.js'
import { assemble, Code, VALUE_TYPES, type FuncType, type MemoryOp, type ModuleSpec, type Simple, type ValType } from './wat-module.js'

/*
 * A seeded generator of wasm modules written instruction by instruction, for
 * the shapes that Asyncify without flattening (the direct engine) must get
 * right and that translate-to-fuzz and clang rarely put around a call that
 * suspends:
 *   - `if`s whose condition is a pure expression of locals, whose arm then
 *     writes one of those locals and calls an import (which may suspend): a
 *     rewind that computed the condition again would take the other arm;
 *     likewise loops whose back edge reads a local the body wrote;
 *   - values left on the operand stack below calls (`local.get; call; add`),
 *     `local.tee` in call arguments, blocks, ifs and loops with results,
 *     `br_if` carrying a value, `br_table`, `select`, `return` anywhere;
 *   - direct calls between the functions (recursion included), and
 *     `call_indirect` through a table of one signature;
 *   - loads, stores and mutable globals (all exported), so side effects show;
 *   - in some modules, legacy exception handling: `try` blocks (with results
 *     too) around calls, whose handlers (`catch` of the module's one tag,
 *     whose value they keep in a local, and `catch_all`) read and write
 *     locals, branch, `rethrow` or return; `delegate`; `throw` under a
 *     condition anywhere. Handlers call nothing: a call that may suspend in
 *     a handler is what no Asyncify build can resume (refused at build time,
 *     or trapping where the untouched module runs on).
 * Imports are `env.a0`..`env.aN`, all made async by the planner.
 * Termination: the `fuel` global, which the `reset` export sets before every
 * top-level call, is spent at every function entry and every loop iteration;
 * without fuel, functions and loops return at once. Every way back into a
 * loop also checks its counter against a constant bound. No traps: divisors are forced positive, addresses are
 * masked into the first KiB, table indices taken modulo the table's size,
 * and floats become integers only by reinterpretation.
 */

const FUEL = 60
export const RESET_EXPORT = 'reset'
const FUEL_GLOBAL = 0
/** Addresses are 8-aligned in the first KiB, where stores and loads meet often. */
const ADDRESS_MASK = 0x3f8
/** Initialized bytes: up to the largest address, plus the largest offset (8) and access (8). */
const DATA_BYTES = ADDRESS_MASK + 16

export interface WatModule {
  wasm: Uint8Array
  /** The module as WAT, instruction for instruction. */
  text: string
}

export function generateWat(random: Random): WatModule {
  const module = assemble(new Generator(random).module())
  if (!WebAssembly.validate(module.wasm as BufferSource)) {
    let reason = ''
    try {
      new WebAssembly.Module(module.wasm as BufferSource)
    } catch (error) {
      reason = (error as Error).message
    }
    // A bad module is a bug here, never a finding: stop the campaign rather than count it.
    throw new Error(`generate-wat.ts made an invalid module (generator seed ${random.seed}): ${reason}; fix the generator`)
  }
  return module
}

interface Callee {
  index: number
  name: string
  type: FuncType
}

interface Local {
  index: number
  type: ValType
  /** Loop counters are read anywhere but written only by their loop, which keeps its bound. */
  writable: boolean
}

interface Label {
  /** What a branch to it carries (a loop's carries nothing). */
  carries: ValType | null
  /** A loop's counter, which every branch back to it checks against the loop's bound. */
  loop: { counter: Local; bound: number } | null
  /** A try whose handler is being written: a `rethrow` may name it. */
  caught?: boolean
}

/** The one exception tag of a module that uses exceptions: it carries an i32. */
const TAG = 0

class Generator {
  private readonly types: FuncType[] = []
  private readonly imports: Callee[] = []
  /** The module's functions, `reset` aside. */
  private readonly functions: Callee[] = []
  private table: Callee[] = []
  private tableType = -1
  private readonly globals: ModuleSpec['globals']
  // The function being generated (`current`: its position in `functions`).
  private current = 0
  private code = new Code()
  private locals: Local[] = []
  private declared: ValType[] = []
  private type: FuncType = { params: [], result: null }
  private labels: Label[] = []
  private result: ValType | null = null
  /** Structured statements and inner expressions left; past it, only leaves. */
  private budget = 0
  /** Whether the module uses exceptions (a tag, try, throw). */
  private readonly exceptions: boolean
  /** Handlers being written around the code now: it calls nothing. */
  private handlers = 0

  constructor(private readonly random: Random) {
    this.exceptions = random.chance(0.35)
    this.globals = [
      { name: 'fuel', type: 'i32', init: 0 },
      // Odd: a global never looks like clang's 16-aligned stack pointer to the transform.
      { name: 'g0', type: 'i32', init: random.range(-500, 500) * 2 + 1 },
      { name: 'g1', type: 'i64', init: BigInt(random.range(-100000, 100000)) },
      { name: 'g2', type: 'f64', init: random.range(-999, 999) / 8 },
    ]
  }

  module(): ModuleSpec {
    const { random } = this
    const imports = Array.from({ length: random.range(2, 5) }, (_, i) => ({ name: `a${i}`, type: this.signature(0, 3, 0.75) }))
    imports.forEach((entry, index) => this.imports.push({ index, name: entry.name, type: this.types[entry.type]! }))
    this.tableType = this.signature(1, 3, 0.8)
    const tags = this.exceptions ? [this.typeIndex({ params: ['i32'], result: null })] : []
    const count = random.range(2, 6)
    const defined: { callee: Callee; type: number }[] = []
    for (let i = 0; i < count; i++) {
      const type = i > 0 && random.chance(0.35) ? this.tableType : this.signature(0, 3, 0.8)
      defined.push({ callee: { index: imports.length + i, name: `f${i}`, type: this.types[type]! }, type })
    }
    this.functions.push(...defined.map((entry) => entry.callee))
    this.table = defined.filter((entry) => entry.type === this.tableType).map((entry) => entry.callee)

    const functions: ModuleSpec['functions'] = defined.map(({ callee, type }, index) => {
      this.current = index
      return { name: callee.name, type, ...this.body(callee.type) }
    })
    const reset = new Code()
    reset.constant('i32', FUEL)
    reset.global('set', FUEL_GLOBAL, 'fuel')
    functions.push({ name: RESET_EXPORT, type: this.typeIndex({ params: [], result: null }), locals: [], code: reset })
    const exports = defined.filter((_, i) => i === 0 || random.chance(0.4)).map((entry) => entry.callee.index)
    return {
      types: this.types,
      imports,
      functions,
      table: this.table.map((callee) => callee.index),
      data: random.bytes(DATA_BYTES),
      globals: this.globals,
      exports: [...exports, imports.length + count],
      tags,
    }
  }

  private signature(minParams: number, maxParams: number, resultChance: number): number {
    const { random } = this
    const params = Array.from({ length: random.range(minParams, maxParams) }, () => this.valueType())
    return this.typeIndex({ params, result: random.chance(resultChance) ? this.valueType() : null })
  }

  private typeIndex(type: FuncType): number {
    const key = JSON.stringify(type)
    const found = this.types.findIndex((known) => JSON.stringify(known) === key)
    if (found >= 0) return found
    this.types.push(type)
    return this.types.length - 1
  }

  private valueType(): ValType {
    return this.random.weighted({ i32: 3, i64: 1, f64: 1 })
  }

  private body(type: FuncType): { locals: ValType[]; code: Code } {
    const { random } = this
    this.type = type
    this.code = new Code()
    this.locals = type.params.map((param, index) => ({ index, type: param, writable: true }))
    this.declared = []
    for (let i = 0, n = random.range(2, 6); i < n; i++) this.addLocal(this.valueType(), true)
    this.labels = [{ carries: type.result, loop: null }]
    this.result = type.result
    this.budget = random.range(25, 70)
    this.spendFuel()
    const ended = this.statements(3, random.range(2, 6), [])
    if (!ended && type.result) this.expression(type.result, 3)
    return { locals: this.declared, code: this.code }
  }

  /** A new local; a `hidden` one is left out of `locals`, so that no code but its own writer and readers touches it. */
  private addLocal(type: ValType, writable: boolean, hidden = false): Local {
    const local = { index: this.type.params.length + this.declared.length, type, writable }
    if (!hidden) this.locals.push(local)
    this.declared.push(type)
    return local
  }

  /** `if (fuel <= 0) return; fuel--`, at function entry and loop heads. */
  private spendFuel(): void {
    const { code } = this
    code.global('get', FUEL_GLOBAL, 'fuel')
    code.constant('i32', 0)
    code.simple('i32.le_s')
    this.within('if', null, () => {
      if (this.result) code.constant(this.result, 0)
      code.simple('return')
    })
    code.global('get', FUEL_GLOBAL, 'fuel')
    code.constant('i32', 1)
    code.simple('i32.sub')
    code.global('set', FUEL_GLOBAL, 'fuel')
  }

  /** A block, loop or if around `body`, its label open while `body` runs. */
  private within(kind: 'block' | 'loop' | 'if', result: ValType | null, body: () => void, loop: Label['loop'] = null): void {
    this.code.open(kind, result)
    this.labels.push({ carries: loop ? null : result, loop })
    body()
    this.labels.pop()
    this.code.close()
  }

  /** Relative depth of the label at `index` in `labels`. */
  private depthOf(index: number): number {
    return this.labels.length - 1 - index
  }

  /**
   * `count` statements; first, often, one that writes a `hot` local (which
   * the enclosing condition read) and a call right after it. Returns whether
   * they end in a branch or return (the rest of the block is then unreachable).
   */
  private statements(depth: number, count: number, hot: Local[]): boolean {
    const { random } = this
    if (hot.length > 0 && random.chance(0.7)) {
      this.assign(random.pick(hot), depth)
      if (this.handlers === 0) this.callStatement(depth)
    }
    for (let i = 0; i < count; i++) this.statement(depth)
    if (!random.chance(0.12)) return false
    this.terminal(depth)
    return true
  }

  private statement(depth: number): void {
    const structured = depth > 0 && this.budget > 0 ? 1 : 0
    if (structured) this.budget--
    const exceptions = this.exceptions ? 1 : 0
    this.statementOf(
      this.random.weighted({
        assign: 4,
        store: 2,
        global: 1,
        call: this.handlers === 0 ? 5 : 0,
        if: 4 * structured,
        block: 1 * structured,
        loop: 2 * structured,
        switch: 1 * structured,
        branch: 2,
        try: 3 * structured * exceptions,
        throw: 1 * exceptions,
      }),
      depth,
    )
  }

  private statementOf(kind: 'assign' | 'store' | 'global' | 'call' | 'if' | 'block' | 'loop' | 'switch' | 'branch' | 'try' | 'throw', depth: number): void {
    const { random } = this
    switch (kind) {
      case 'assign':
        return this.assign(random.pick(this.locals.filter((local) => local.writable)), depth)
      case 'store':
        return this.store(depth)
      case 'global': {
        const index = random.range(1, this.globals.length - 1)
        const global = this.globals[index]!
        this.expression(global.type, depth)
        return this.code.global('set', index, global.name)
      }
      case 'call':
        return this.callStatement(depth)
      case 'if':
        return this.conditional(depth, null)
      case 'block':
        return this.block(depth, null)
      case 'loop':
        return this.loop(depth, null)
      case 'switch':
        return this.switch(depth)
      case 'branch':
        return this.branchIf(depth)
      case 'try':
        return this.attempt(depth, null)
      case 'throw':
        return this.throwIf(depth)
    }
  }

  /**
   * A try around statements (its result computed last); then a `delegate` to
   * some label outside it, or handlers: a `catch` of the tag, which keeps its
   * value in a local or drops it, and a `catch_all`, or either alone.
   */
  private attempt(depth: number, result: ValType | null): void {
    const { random, code } = this
    const outside = this.labels.length
    // Often a local only the handlers read (as a C++ landing pad reads what its destructors need), set from a
    // global, which no rewind computes again: only the record can give it back to a handler that runs after a resume.
    const kept = this.handlers === 0 && random.chance(0.5) ? this.addLocal(this.valueType(), false, true) : null
    if (kept !== null) {
      const global = this.globalOf(kept.type)
      this.expression(kept.type, depth - 1)
      code.global('get', global.index, global.name)
      code.simple(`${kept.type}.add` as Simple)
      code.local('set', kept.index)
    }
    code.open('try', result)
    const label: Label = { carries: result, loop: null }
    this.labels.push(label)
    // Often a call (which may suspend) with a throw after it: the handler then runs after a resume, on restored locals.
    if (this.handlers === 0 && random.chance(0.6)) {
      this.callStatement(depth)
      if (random.chance(0.7)) this.throwIf(depth)
    }
    const ended = this.statements(depth - 1, random.range(1, 3), [])
    if (!ended && result) this.expression(result, depth - 1)
    if (random.chance(0.2)) {
      this.labels.pop()
      code.delegate(outside - 1 - random.int(outside))
      return
    }
    label.caught = true
    this.handlers++
    const kinds = random.weighted({ catch: 2, both: 1, all: 1 })
    if (kinds !== 'all') {
      code.handler(TAG)
      const keepers = this.locals.filter((local) => local.writable && local.type === 'i32')
      if (keepers.length > 0 && random.chance(0.7)) code.local('set', random.pick(keepers).index)
      else code.simple('drop')
      this.handlerBody(depth, result, kept)
    }
    if (kinds !== 'catch') {
      code.handler(null)
      this.handlerBody(depth, result, kept)
    }
    this.handlers--
    this.labels.pop()
    code.close()
  }

  /** A handler's code: statements and its result, or a rethrow of what some open handler caught; `kept`, when set, stored first. */
  private handlerBody(depth: number, result: ValType | null, kept: Local | null): void {
    if (kept !== null && this.random.chance(0.8)) {
      const global = this.globalOf(kept.type)
      this.code.local('get', kept.index)
      this.code.global('set', global.index, global.name)
    }
    const caught = this.labels.map((label, index) => ({ label, index })).filter(({ label }) => label.caught)
    if (this.random.chance(0.2)) return this.code.rethrow(this.depthOf(this.random.pick(caught).index))
    // Often what the handler makes of the locals goes where the comparison sees it.
    if (this.random.chance(0.6)) this.statementOf('global', depth)
    const ended = this.statements(depth - 1, this.random.range(0, 3), [])
    if (!ended && result) this.expression(result, depth - 1)
  }

  /** A global of `type` other than the fuel, with its index. */
  private globalOf(type: ValType): { index: number; name: string } {
    const index = this.globals.findIndex((global, k) => k > 0 && global.type === type)
    return { index, name: this.globals[index]!.name }
  }

  /** `if (condition) throw tag(value)`. */
  private throwIf(depth: number): void {
    this.condition(depth)
    this.within('if', null, () => {
      this.expression('i32', depth - 1)
      this.code.throw(TAG)
    })
  }

  private assign(local: Local, depth: number): void {
    this.expression(local.type, depth)
    this.code.local('set', local.index)
  }

  private store(depth: number): void {
    const type = this.valueType()
    this.address(depth)
    this.expression(type, depth)
    const ops: Record<ValType, MemoryOp[]> = { i32: ['i32.store', 'i32.store8'], i64: ['i64.store', 'i64.store32'], f64: ['f64.store'] }
    this.code.memory(this.random.pick(ops[type]), this.random.pick([0, 8]))
  }

  private address(depth: number): void {
    this.expression('i32', depth - 1)
    this.code.constant('i32', ADDRESS_MASK)
    this.code.simple('i32.and')
  }

  private callStatement(depth: number): void {
    const callee = this.callee(() => true)
    this.call(callee, depth)
    if (callee.type.result) this.code.simple('drop')
  }

  /**
   * Something to call that `fits` (there must be one): mostly an import;
   * else mostly a function later in the module, sometimes any (recursion,
   * cycles). Call trees that grow in every direction spend the fuel in most
   * top-level calls (about half still do: 60 units, 80 import calls).
   */
  private callee(fits: (callee: Callee) => boolean): Callee {
    const pools = {
      import: this.imports.filter(fits),
      later: this.functions.filter((callee, index) => index > this.current && fits(callee)),
      any: this.functions.filter(fits),
    }
    const weight = (pool: Callee[], weight: number) => (pool.length > 0 ? weight : 0)
    const chosen = this.random.weighted({ import: weight(pools.import, 6), later: weight(pools.later, 3), any: weight(pools.any, 0.5) })
    return this.random.pick(pools[chosen])
  }

  /** A call; its arguments often tee a local. */
  private call(callee: Callee, depth: number): void {
    for (const type of callee.type.params) {
      const writable = this.locals.filter((local) => local.writable && local.type === type)
      this.expression(type, depth - 1)
      if (writable.length > 0 && this.random.chance(0.25)) this.code.local('tee', this.random.pick(writable).index)
    }
    this.code.call(callee.index, callee.name)
  }

  /** An if (with an else when it has a result); its arms often write what its condition read, then call. */
  private conditional(depth: number, result: ValType | null): void {
    const hot = this.condition(depth)
    this.within('if', result, () => {
      this.arm(depth, hot, result)
      if (result !== null || this.random.chance(0.6)) {
        this.code.otherwise()
        this.arm(depth, hot, result)
      }
    })
  }

  private arm(depth: number, hot: Local[], result: ValType | null): void {
    const ended = this.statements(depth - 1, this.random.range(0, 3), hot)
    if (!ended && result) this.expression(result, depth - 1)
  }

  /** An i32 condition; returns the locals it read when it is a pure expression of them. */
  private condition(depth: number): Local[] {
    if (this.random.chance(0.35)) {
      this.expression('i32', depth - 1)
      return []
    }
    const { random, code } = this
    const first = this.localCondition()
    if (!random.chance(0.25)) return [first]
    const second = this.localCondition()
    code.simple(random.pick(['i32.and', 'i32.or', 'i32.xor'] as const))
    return [first, second]
  }

  /** A condition computed from one writable local alone. */
  private localCondition(local = this.random.pick(this.locals.filter((candidate) => candidate.writable))): Local {
    const { random, code } = this
    code.local('get', local.index)
    if (local.type === 'i32') {
      const form = random.int(4)
      if (form === 1) code.simple('i32.eqz')
      else if (form === 2) {
        code.constant('i32', random.range(-3, 20))
        code.simple('i32.lt_s')
      } else if (form === 3) {
        code.constant('i32', 1)
        code.simple('i32.and')
      }
    } else if (local.type === 'i64') {
      if (random.chance(0.5)) code.simple('i64.eqz')
      else {
        code.constant('i64', random.range(-3, 20))
        code.simple('i64.gt_s')
      }
    } else {
      code.constant('f64', random.range(-3, 20) / 2)
      code.simple(random.pick(['f64.lt', 'f64.ge'] as const))
    }
    return local
  }

  private block(depth: number, result: ValType | null): void {
    this.within('block', result, () => {
      const ended = this.statements(depth - 1, this.random.range(1, 4), [])
      if (!ended && result) this.expression(result, depth - 1)
    })
  }

  /**
   * A loop bounded by the fuel and by its own counter, which counts the
   * iterations begun; its back edge often also reads a local its body wrote
   * (after a call, often).
   */
  private loop(depth: number, result: ValType | null): void {
    const { random, code } = this
    const bound = { counter: this.addLocal('i32', false), bound: random.range(2, 4) }
    code.constant('i32', 0)
    code.local('set', bound.counter.index)
    const hot = random.chance(0.6) ? [random.pick(this.locals.filter((local) => local.writable))] : []
    this.within(
      'loop',
      result,
      () => {
        this.spendFuel()
        code.local('get', bound.counter.index)
        code.constant('i32', 1)
        code.simple('i32.add')
        code.local('set', bound.counter.index)
        if (this.statements(depth - 1, random.range(1, 4), hot)) return
        this.belowBound(bound)
        if (hot.length > 0) {
          this.localCondition(hot[0])
          code.simple('i32.and')
        }
        code.branch('br_if', 0)
        if (result) this.expression(result, depth - 1)
      },
      bound,
    )
  }

  /** `counter < bound`: a loop whose every way back checks it runs at most `bound` times, however its conditions fall. */
  private belowBound({ counter, bound }: NonNullable<Label['loop']>): void {
    this.code.local('get', counter.index)
    this.code.constant('i32', bound)
    this.code.simple('i32.lt_u')
  }

  /** Nested blocks left by a `br_table`, each followed by its case. */
  private switch(depth: number): void {
    const { random, code } = this
    const cases = random.range(1, 3)
    const exit = this.labels.length
    for (let i = 0; i <= cases; i++) {
      code.open('block', null)
      this.labels.push({ carries: null, loop: null })
    }
    this.expression('i32', depth - 1)
    // Mostly this switch's own cases; sometimes an enclosing block that takes no value (never a loop, which it could not bound).
    const targets = () =>
      random.chance(0.8)
        ? this.depthOf(exit + random.int(cases + 1))
        : this.depthOf(random.pick(this.labels.map((label, index) => ({ label, index })).filter(({ label }) => label.carries === null && !label.loop)).index)
    code.branchTable(Array.from({ length: random.range(1, 4) }, targets), targets())
    for (let i = 0; i < cases; i++) {
      this.labels.pop()
      code.close()
      if (!this.statements(depth - 1, random.range(0, 2), []) && random.chance(0.5)) code.branch('br', this.depthOf(exit))
    }
    this.labels.pop()
    code.close()
  }

  /** `br_if` to any label (a loop's: continue, within its bound), its value dropped when it carries one. */
  private branchIf(depth: number): void {
    const target = this.random.int(this.labels.length)
    const { carries, loop } = this.labels[target]!
    if (carries) this.expression(carries, depth - 1)
    this.condition(depth)
    if (loop) {
      this.belowBound(loop)
      this.code.simple('i32.and')
    }
    this.code.branch('br_if', this.depthOf(target))
    if (carries) this.code.simple('drop')
  }

  /** A `br` out of some enclosing block (never back to a loop, which it could not bound), or a `return`. */
  private terminal(depth: number): void {
    const { random, code } = this
    const targets = this.labels.map((label, index) => ({ label, index })).filter(({ label }) => !label.loop)
    if (random.chance(0.3)) {
      if (this.result) this.expression(this.result, depth - 1)
      code.simple('return')
      return
    }
    const { label, index } = random.pick(targets)
    if (label.carries) this.expression(label.carries, depth - 1)
    code.branch('br', this.depthOf(index))
  }

  /** Code that pushes one value of `type`. */
  private expression(type: ValType, depth: number): void {
    if (depth <= 0 || this.budget <= 0) return this.leaf(type)
    this.budget--
    const { random, code } = this
    const returns = (callee: Callee) => callee.type.result === type
    const callable = this.handlers === 0 && (this.imports.some(returns) || this.functions.some(returns))
    const branchable = this.labels.map((label, index) => ({ label, index })).filter(({ label }) => label.carries === type)
    const indirect = this.handlers === 0 && this.table.length > 0 && this.types[this.tableType]!.result === type
    switch (
      random.weighted({
        leaf: 3,
        tee: 2,
        unary: 1,
        binary: 4,
        stacked: callable ? 2 : 0,
        compare: type === 'i32' ? 2 : 0,
        convert: 1,
        select: 1,
        load: 1,
        call: callable ? 4 : 0,
        indirect: indirect ? 1 : 0,
        block: 1,
        if: 2,
        loop: 0.5,
        branch: branchable.length > 0 ? 1 : 0,
        try: this.exceptions ? 1 : 0,
      })
    ) {
      case 'leaf':
        return this.leaf(type)
      case 'tee': {
        const writable = this.locals.filter((local) => local.writable && local.type === type)
        if (writable.length === 0) return this.leaf(type)
        this.expression(type, depth - 1)
        return code.local('tee', random.pick(writable).index)
      }
      case 'unary':
        this.expression(type, depth - 1)
        return code.simple(random.pick(UNARY[type]))
      case 'binary':
        this.expression(type, depth - 1)
        return this.binaryWith(type, () => this.expression(type, depth - 1))
      case 'stacked': {
        // A local's value under a call's result: the call may suspend with it on the stack.
        const readable = this.locals.filter((local) => local.type === type)
        if (readable.length === 0) return this.leaf(type)
        code.local('get', random.pick(readable).index)
        return this.binaryWith(type, () => this.call(this.callee(returns), depth))
      }
      case 'compare': {
        const operand = this.valueType()
        this.expression(operand, depth - 1)
        this.expression(operand, depth - 1)
        return code.simple(random.pick(COMPARE[operand]))
      }
      case 'convert': {
        const from = random.pick(VALUE_TYPES.filter((candidate) => candidate !== type))
        this.expression(from, depth - 1)
        for (const op of random.pick(CONVERT[`${from}->${type}`]!)) code.simple(op)
        return
      }
      case 'select':
        this.expression(type, depth - 1)
        this.expression(type, depth - 1)
        this.condition(depth)
        return code.simple('select')
      case 'load': {
        this.address(depth)
        const ops: Record<ValType, MemoryOp[]> = { i32: ['i32.load', 'i32.load8_u', 'i32.load16_s'], i64: ['i64.load', 'i64.load32_u'], f64: ['f64.load'] }
        return code.memory(random.pick(ops[type]), random.pick([0, 8]))
      }
      case 'call':
        return this.call(this.callee(returns), depth)
      case 'indirect': {
        for (const param of this.types[this.tableType]!.params) this.expression(param, depth - 1)
        this.expression('i32', depth - 1)
        code.constant('i32', this.table.length)
        code.simple('i32.rem_u')
        return code.callIndirect(this.tableType)
      }
      case 'block':
        return this.block(depth, type)
      case 'if':
        return this.conditional(depth, type)
      case 'loop':
        return this.loop(depth, type)
      case 'try':
        return this.attempt(depth, type)
      case 'branch': {
        const { index } = random.pick(branchable)
        this.expression(type, depth - 1)
        this.condition(depth)
        return code.branch('br_if', this.depthOf(index))
      }
    }
  }

  /** A binary operation whose first operand is on the stack; divisors are made positive, so nothing traps. */
  private binaryWith(type: ValType, second: () => void): void {
    const { random, code } = this
    const op = random.pick(BINARY[type])
    second()
    if (/\.(div|rem)_/.test(op)) {
      code.constant(type, 0x7fff)
      code.simple(`${type}.and` as Simple)
      code.constant(type, 1)
      code.simple(`${type}.or` as Simple)
    }
    code.simple(op)
  }

  private leaf(type: ValType): void {
    const { random, code } = this
    const locals = this.locals.filter((local) => local.type === type)
    const globals = this.globals.map((global, index) => ({ global, index })).filter(({ global }) => global.type === type)
    switch (random.weighted({ constant: 2, local: locals.length > 0 ? 4 : 0, global: 1 })) {
      case 'constant':
        return code.constant(type, constant(random, type))
      case 'local':
        return code.local('get', random.pick(locals).index)
      case 'global': {
        const { global, index } = random.pick(globals)
        return code.global('get', index, global.name)
      }
    }
  }
}

const UNARY: Record<ValType, Simple[]> = {
  i32: ['i32.eqz', 'i32.clz', 'i32.ctz', 'i32.popcnt'],
  i64: ['i64.clz', 'i64.ctz', 'i64.popcnt'],
  f64: ['f64.abs', 'f64.neg', 'f64.ceil', 'f64.floor', 'f64.trunc', 'f64.nearest', 'f64.sqrt'],
}

const INTEGER_BINARY = ['add', 'sub', 'mul', 'and', 'or', 'xor', 'shl', 'shr_s', 'shr_u', 'rotl', 'rotr', 'div_s', 'div_u', 'rem_s', 'rem_u']
const BINARY: Record<ValType, Simple[]> = {
  i32: INTEGER_BINARY.map((op) => `i32.${op}` as Simple),
  i64: INTEGER_BINARY.map((op) => `i64.${op}` as Simple),
  f64: ['f64.add', 'f64.sub', 'f64.mul', 'f64.div', 'f64.min', 'f64.max', 'f64.copysign'],
}

const INTEGER_COMPARE = ['eq', 'ne', 'lt_s', 'lt_u', 'gt_s', 'gt_u', 'le_s', 'le_u', 'ge_s', 'ge_u']
const COMPARE: Record<ValType, Simple[]> = {
  i32: INTEGER_COMPARE.map((op) => `i32.${op}` as Simple),
  i64: INTEGER_COMPARE.map((op) => `i64.${op}` as Simple),
  f64: ['f64.eq', 'f64.ne', 'f64.lt', 'f64.gt', 'f64.le', 'f64.ge'],
}

/** Conversions that never trap: floats reach integers only through their bits. */
const CONVERT: Record<string, Simple[][]> = {
  'i64->i32': [['i32.wrap_i64']],
  'f64->i32': [['i64.reinterpret_f64', 'i32.wrap_i64']],
  'i32->i64': [['i64.extend_i32_s'], ['i64.extend_i32_u']],
  'f64->i64': [['i64.reinterpret_f64']],
  'i32->f64': [['f64.convert_i32_s'], ['f64.convert_i32_u']],
  'i64->f64': [['f64.convert_i64_s'], ['f64.convert_i64_u'], ['f64.reinterpret_i64']],
}

function constant(random: Random, type: ValType): number | bigint {
  if (type === 'i32') return random.pick([0, 1, -1, 2, 3, 7, 100, -77, 2147483647, -2147483648, random.range(-1000, 1000)])
  if (type === 'i64') return random.pick([0n, 1n, -1n, 5n, 4294967296n, 9223372036854775807n, BigInt(random.range(-100000, 100000))])
  return random.pick([0, -0, 0.5, 1.5, -2.75, 1e300, NaN, Infinity, random.range(-99999, 99999) / 8])
}
