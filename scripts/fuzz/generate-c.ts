import type { Random } from './random.js'

/*
 * A seeded generator of random C programs that always terminate, for clang to
 * compile into wasm32-wasi reactors. What they exercise under Asyncify:
 *   - locals of every type (int32_t, int64_t, float, double) live across
 *     import calls, which may suspend;
 *   - direct calls, bounded self-recursion, and indirect calls through a
 *     function-pointer table (cycles included);
 *   - stack arrays whose address goes to an import that fills them when its
 *     answer settles (`stack_<type>_<n>`), and malloc'd blocks live across
 *     suspensions, filled the same way (`heap_<type>_<n>`), then freed;
 *   - imports with i32/i64/f32/f64 parameters and results (`scalar_<n>`);
 *   - small out-of-line functions (`l<n>`) whose parameters are all they
 *     keep across their import call, called with plain variables: the direct
 *     engine's functions that take their arguments again on a rewind.
 * Termination: loops have constant bounds, and every function entry and
 * every import call spends one unit of the call's fuel (a struct on the
 * export's C stack frame, itself live across suspensions); with no fuel left
 * functions return at once and imports are skipped.
 * Every export takes the index of its call first and passes it to every
 * import, so the harness can tell overlapping calls apart. A `pure` program
 * never writes its globals, so its calls may overlap: each result depends on
 * its own arguments and answers only. Results fold every local and array in,
 * with NaNs mapped to a constant, so wrong state shows in the result while
 * NaN payloads (which Binaryen may legitimately change) do not.
 */

type CType = 'i32' | 'i64' | 'f32' | 'f64'
const TYPES: readonly CType[] = ['i32', 'i64', 'f32', 'f64']
const C_NAME: Record<CType, string> = { i32: 'int32_t', i64: 'int64_t', f32: 'float', f64: 'double' }
const ARRAY_LENGTH = 6
const FUEL = 48
/** Size of `struct fuzz_state`, the program's globals; clang checks it (_Static_assert). */
export const STATE_BYTES = 56
/** Export name of the program's globals (wasm-ld exports a data symbol as a global holding its address). */
export const STATE_EXPORT = 'fuzz_state'

export interface CProgram {
  source: string
  exports: string[]
  /** Whether the exports share no mutable state (calls may overlap). */
  pure: boolean
}

interface ImportDecl {
  name: string
  params: CType[]
  result: CType | null
  /** For buffer imports: where the buffer lives and its element type. */
  buffer: { kind: 'stack' | 'heap'; type: CType } | null
}

interface FunctionDecl {
  name: string
  params: CType[]
  result: CType
  /** Members of the function-pointer table share one signature. */
  inTable: boolean
}

const TABLE_SIGNATURE = { params: ['i32', 'f64'] as CType[], result: 'i64' as CType }

export function generateC(random: Random): CProgram {
  return new Generator(random).program()
}

class Generator {
  private readonly imports: ImportDecl[] = []
  private readonly functions: FunctionDecl[] = []
  private readonly leaves: FunctionDecl[] = []
  private readonly pure: boolean
  private out: string[] = []
  private indent = 1
  private unique = 0
  /** Variables in scope in the function being generated, by type. */
  private scope: Record<CType, string[]> = { i32: [], i64: [], f32: [], f64: [] }
  /** Loop counters: readable, never assigned (so every loop keeps its constant bound). */
  private counters: string[] = []
  private arrays: Partial<Record<CType, string>> = {}
  private current = -1

  constructor(private readonly random: Random) {
    this.pure = random.chance(0.5)
  }

  program(): CProgram {
    const { random } = this
    for (let i = 0, n = random.range(1, 4); i < n; i++) {
      this.imports.push({ name: `scalar_${i}`, params: this.types(0, 3), result: random.chance(0.8) ? random.pick(TYPES) : null, buffer: null })
    }
    for (const kind of ['stack', 'heap'] as const) {
      for (let i = 0, n = random.range(0, 2); i < n; i++) {
        const type = random.pick(TYPES)
        this.imports.push({ name: `${kind}_${type}_${i}`, params: [], result: random.chance(0.7) ? random.pick(TYPES) : null, buffer: { kind, type } })
      }
    }
    const count = random.range(2, 7)
    for (let i = 0; i < count; i++) {
      const inTable = i > 0 && random.chance(0.4)
      this.functions.push(
        inTable
          ? { name: `f${i}`, ...TABLE_SIGNATURE, inTable }
          : { name: `f${i}`, params: this.types(0, 3), result: random.pick(TYPES), inTable },
      )
    }
    for (let i = 0, n = random.range(0, 3); i < n; i++) {
      this.leaves.push({ name: `l${i}`, params: this.types(1, 3), result: random.pick(TYPES), inTable: false })
    }
    const exportCount = random.range(1, 4)
    const exports = Array.from({ length: exportCount }, (_, i) => ({
      name: `e${i}`,
      params: ['i32' as CType, ...this.types(0, 3)],
      result: random.pick(TYPES),
      inTable: false,
    }))

    const lines = [
      '#include <stdint.h>',
      '#include <stdlib.h>',
      '',
      'typedef struct { int32_t call; int32_t fuel; } ctx_t;',
      '',
      'static int64_t mixf(double x) { return x != x ? 12345 : (x > 1e15 || x < -1e15) ? 777 : (int64_t)x; }',
      '',
    ]
    for (const entry of this.imports) {
      const params = ['int32_t call', ...(entry.buffer ? [`${C_NAME[entry.buffer.type]} *buf`, 'int32_t n'] : entry.params.map((type, i) => `${C_NAME[type]} p${i}`))]
      lines.push(
        `__attribute__((import_module("env"), import_name("${entry.name}"))) ${entry.result ? C_NAME[entry.result] : 'void'} ${entry.name}(${params.join(', ')});`,
      )
    }
    lines.push('')
    // The program's globals live in one exported struct, the only static data compared when the
    // runtime takes memory from malloc (whose own state also lives in static data).
    lines.push(
      'struct fuzz_state { int64_t i64; double f64; int32_t i32; float f32; int32_t arr[8]; };',
      `_Static_assert(sizeof(struct fuzz_state) == ${STATE_BYTES}, "the harness compares ${STATE_BYTES} bytes of state");`,
      `${this.pure ? 'const ' : ''}struct fuzz_state fuzz_state = { -3, 0.25, 7, 1.5f, {1, 2, 3, 4, 5, 6, 7, 8} };`,
      '#define g_i32 fuzz_state.i32',
      '#define g_i64 fuzz_state.i64',
      '#define g_f32 fuzz_state.f32',
      '#define g_f64 fuzz_state.f64',
      '#define g_arr fuzz_state.arr',
    )
    lines.push('')
    for (const fn of this.functions) lines.push(this.declaration(fn))
    for (const leaf of this.leaves) lines.push(...this.leafBody(leaf), '')
    const table = this.functions.filter((fn) => fn.inTable)
    if (table.length > 0) {
      lines.push(`static int64_t (*const table[${table.length}])(ctx_t *, int32_t, double) = { ${table.map((fn) => fn.name).join(', ')} };`)
    }
    lines.push('')
    this.functions.forEach((fn, index) => lines.push(...this.functionBody(fn, index, false), ''))
    for (const fn of exports) lines.push(...this.functionBody(fn, this.functions.length, true), '')
    return { source: lines.join('\n'), exports: exports.map((fn) => fn.name), pure: this.pure }
  }

  private types(min: number, max: number): CType[] {
    return Array.from({ length: this.random.range(min, max) }, () => this.random.pick(TYPES))
  }

  /** Forward declaration of an internal function; some are kept out of line, so that call chains survive -O2. */
  private declaration(fn: FunctionDecl): string {
    const attributes = this.random.chance(0.3) ? '__attribute__((noinline)) ' : ''
    const params = fn.params.map((type, i) => `, ${C_NAME[type]} a${i}`).join('')
    return `static ${attributes}${C_NAME[fn.result]} ${fn.name}(ctx_t *cx${params});`
  }

  /**
   * A leaf: with fuel, maybe one import call whose value, with its
   * parameters, is the result, or is it alone (a call the leaf returns
   * from right away, so no state check need follow it). Nothing but the
   * parameters lives across the call, and nothing writes them.
   */
  private leafBody(leaf: FunctionDecl): string[] {
    const { random } = this
    this.scope = { i32: [], i64: [], f32: [], f64: [] }
    this.arrays = {}
    leaf.params.forEach((type, i) => this.scope[type].push(`b${i}`))
    const result = C_NAME[leaf.result]
    const entry = random.pick(this.imports.filter((candidate) => !candidate.buffer))
    const call = `${entry.name}(cx->call${entry.params.map((type) => `, ${this.expression(type, 1)}`).join('')})`
    const after = random.chance(0.3) ? null : this.expression(leaf.result, 2)
    const value = entry.result ? convert(entry.result, leaf.result, call) : null
    const suspended =
      value === null
        ? `{ ${call}; return (${result})(${after ?? '0'}); }`
        : `return ${after === null ? value : add(leaf.result, value, after)};`
    return [
      `static __attribute__((noinline)) ${result} ${leaf.name}(ctx_t *cx${leaf.params.map((type, i) => `, ${C_NAME[type]} b${i}`).join('')}) {`,
      '  if (cx->fuel-- <= 0) return 0;',
      `  if (${this.expression('i32', 1)} && cx->fuel-- > 0) ${suspended}`,
      `  return (${result})(${this.expression(leaf.result, 2)});`,
      '}',
    ]
  }

  private functionBody(fn: FunctionDecl, index: number, exported: boolean): string[] {
    const { random } = this
    this.out = []
    this.indent = 1
    this.current = exported ? -1 : index
    this.scope = { i32: [], i64: [], f32: [], f64: [] }
    this.arrays = {}
    const header = exported
      ? `${C_NAME[fn.result]} ${fn.name}(${fn.params.map((type, i) => `${C_NAME[type]} ${i === 0 ? 'call' : `a${i}`}`).join(', ')})`
      : `static ${C_NAME[fn.result]} ${fn.name}(ctx_t *cx${fn.params.map((type, i) => `, ${C_NAME[type]} a${i}`).join('')})`
    const lines = [`${header} {`]
    if (exported) {
      lines.push(`  ctx_t context = { call, ${FUEL} };`, '  ctx_t *cx = &context;')
    } else {
      lines.push(`  if (cx->fuel-- <= 0) return 0;`)
    }
    fn.params.forEach((type, i) => {
      if (!(exported && i === 0)) this.scope[type].push(`a${i}`)
    })
    for (const type of TYPES) {
      for (let i = 0, n = random.range(1, 2); i < n; i++) {
        const name = `v_${type}${i}`
        lines.push(`  ${C_NAME[type]} ${name} = ${this.expression(type, 1)};`)
        this.scope[type].push(name)
      }
      if (random.chance(0.6)) {
        const name = `arr_${type}`
        lines.push(`  ${C_NAME[type]} ${name}[${ARRAY_LENGTH}];`)
        lines.push(`  for (int i = 0; i < ${ARRAY_LENGTH}; i++) ${name}[i] = (${C_NAME[type]})(i * 3 + 1) + ${this.expression(type, 0)};`)
        this.arrays[type] = name
      }
    }
    for (let i = 0, n = random.range(3, 8); i < n; i++) this.statement(2)
    const folded = this.fold()
    lines.push(...this.out)
    lines.push(`  return (${C_NAME[fn.result]})(${folded});`, '}')
    return lines
  }

  /** An int64_t expression that depends on every variable and array element in scope (wrapping, never overflowing). */
  private fold(): string {
    const terms: string[] = []
    for (const type of TYPES) {
      for (const name of this.scope[type]) terms.push(type === 'f32' || type === 'f64' ? `(uint64_t)mixf(${name})` : `(uint64_t)${name}`)
    }
    let text = terms.reduce((acc, term) => `(${acc} * 31u + ${term})`, '(uint64_t)0')
    for (const [type, name] of Object.entries(this.arrays) as [CType, string][]) {
      const element = type === 'f32' || type === 'f64' ? `mixf(${name}[i])` : `${name}[i]`
      this.emit(`uint64_t sum_${name} = 0;`)
      this.emit(`for (int i = 0; i < ${ARRAY_LENGTH}; i++) sum_${name} = sum_${name} * 7u + (uint64_t)${element};`)
      text = `(${text} ^ sum_${name})`
    }
    return `(int64_t)${text}`
  }

  private emit(line: string): void {
    this.out.push(`${'  '.repeat(this.indent)}${line}`)
  }

  private statement(depth: number): void {
    const { random } = this
    const choices: Record<string, number> = {
      assign: 6,
      array: this.anyArray() ? 2 : 0,
      global: this.pure ? 0 : 2,
      block: depth > 0 ? 2 : 0,
      loop: depth > 0 ? 2 : 0,
      call: this.callableFunctions().length > 0 ? 3 : 0,
      leaf: this.leaves.length > 0 ? 3 : 0,
      indirect: this.functions.some((fn) => fn.inTable) ? 2 : 0,
      scalar: this.imports.some((entry) => !entry.buffer) ? 4 : 0,
      stack: this.imports.some((entry) => entry.buffer?.kind === 'stack' && this.arrays[entry.buffer.type]) ? 3 : 0,
      heap: this.imports.some((entry) => entry.buffer?.kind === 'heap') ? 2 : 0,
    }
    switch (random.weighted(choices)) {
      case 'assign': {
        const type = random.pick(TYPES)
        const target = random.pick(this.scope[type])
        const value = this.expression(type, 2)
        this.emit(random.chance(0.5) ? `${target} = ${value};` : `${target} = ${add(type, target, value)};`)
        break
      }
      case 'array': {
        const [type, name] = random.pick(Object.entries(this.arrays) as [CType, string][])
        this.emit(`${name}[(uint32_t)(${this.expression('i32', 1)}) % ${ARRAY_LENGTH}] = ${this.expression(type, 2)};`)
        break
      }
      case 'global': {
        if (random.chance(0.4)) this.emit(`g_arr[(uint32_t)(${this.expression('i32', 1)}) % 8] = ${this.expression('i32', 2)};`)
        else {
          const type = random.pick(TYPES)
          this.emit(`g_${type} = ${this.expression(type, 2)};`)
        }
        break
      }
      case 'block': {
        this.emit(`if (${this.expression('i32', 2)}) {`)
        this.nested(depth)
        if (random.chance(0.5)) {
          this.emit('} else {')
          this.nested(depth)
        }
        this.emit('}')
        break
      }
      case 'loop': {
        const counter = `k${this.unique++}`
        this.emit(`for (int32_t ${counter} = 0; ${counter} < ${random.range(1, 4)}; ${counter}++) {`)
        this.counters.push(counter)
        this.nested(depth)
        this.counters.pop()
        this.emit('}')
        break
      }
      case 'call': {
        const fn = random.pick(this.callableFunctions())
        this.accumulate(fn.result, `${fn.name}(cx${fn.params.map((type) => `, ${this.expression(type, 1)}`).join('')})`)
        break
      }
      case 'leaf': {
        // Plain variables mostly, which the caller keeps anyway: what lets a leaf take its arguments again.
        const leaf = random.pick(this.leaves)
        const variable = (type: CType) => {
          const names = type === 'i32' ? [...this.scope.i32, ...this.counters] : this.scope[type]
          return random.chance(0.8) ? random.pick(names) : this.expression(type, 1)
        }
        this.accumulate(leaf.result, `${leaf.name}(cx${leaf.params.map((type) => `, ${variable(type)}`).join('')})`)
        break
      }
      case 'indirect': {
        const table = this.functions.filter((fn) => fn.inTable).length
        this.accumulate('i64', `table[(uint32_t)(${this.expression('i32', 1)}) % ${table}](cx, ${this.expression('i32', 1)}, ${this.expression('f64', 1)})`)
        break
      }
      case 'scalar': {
        const entry = random.pick(this.imports.filter((candidate) => !candidate.buffer))
        const call = `${entry.name}(cx->call${entry.params.map((type) => `, ${this.expression(type, 1)}`).join('')})`
        this.importCall(entry, call)
        break
      }
      case 'stack': {
        const entry = random.pick(this.imports.filter((candidate) => candidate.buffer?.kind === 'stack' && this.arrays[candidate.buffer.type]))
        const length = random.range(1, ARRAY_LENGTH)
        this.importCall(entry, `${entry.name}(cx->call, ${this.arrays[entry.buffer!.type]}, ${length})`)
        break
      }
      case 'heap': {
        this.heapBlock(depth)
        break
      }
    }
  }

  private nested(depth: number): void {
    this.indent++
    for (let i = 0, n = this.random.range(1, 3); i < n; i++) this.statement(depth - 1)
    this.indent--
  }

  /** Functions this one may call directly: lower indices, and itself (bounded by fuel). */
  private callableFunctions(): FunctionDecl[] {
    return this.current < 0 ? this.functions : this.functions.slice(0, this.current + 1)
  }

  /** `call` (of type `from`) added to a random variable. */
  private accumulate(from: CType, call: string, prefix = ''): void {
    const type = this.random.pick(TYPES)
    const target = this.random.pick(this.scope[type])
    this.emit(`${prefix}${target} = ${add(type, target, convert(from, type, call))};`)
  }

  /** An import call, skipped once the fuel is spent. */
  private importCall(entry: ImportDecl, call: string): void {
    if (entry.result && this.random.chance(0.8)) this.accumulate(entry.result, call, 'if (cx->fuel-- > 0) ')
    else this.emit(`if (cx->fuel-- > 0) ${call};`)
  }

  /** A malloc'd block filled, kept across statements that may suspend, handed to a heap import, folded in, freed. */
  private heapBlock(depth: number): void {
    const { random } = this
    const entry = random.pick(this.imports.filter((candidate) => candidate.buffer?.kind === 'heap'))
    const type = entry.buffer!.type
    const name = `h${this.unique++}`
    const length = random.range(1, 24)
    this.emit(`{`)
    this.indent++
    this.emit(`${C_NAME[type]} *${name} = (${C_NAME[type]} *)malloc(${length} * sizeof(${C_NAME[type]}));`)
    this.emit(`if (${name}) {`)
    this.indent++
    this.emit(`for (int32_t i = 0; i < ${length}; i++) ${name}[i] = (${C_NAME[type]})(i * 5) + ${this.expression(type, 1)};`)
    if (depth > 0) this.statement(depth - 1)
    this.importCall(entry, `${entry.name}(cx->call, ${name}, ${random.range(1, length)})`)
    if (depth > 0 && random.chance(0.5)) this.statement(depth - 1)
    const sink = random.pick(this.scope.i64)
    const element = type === 'f32' || type === 'f64' ? `mixf(${name}[i])` : `${name}[i]`
    this.emit(`for (int32_t i = 0; i < ${length}; i++) ${sink} = (int64_t)((uint64_t)${sink} * 3u + (uint64_t)${element});`)
    this.emit(`free(${name});`)
    this.indent--
    this.emit('}')
    this.indent--
    this.emit('}')
  }

  private anyArray(): boolean {
    return Object.keys(this.arrays).length > 0
  }

  /** A side-effect-free expression of `type`. */
  private expression(type: CType, depth: number): string {
    const { random } = this
    const variables = type === 'i32' ? [...this.scope.i32, ...this.counters] : this.scope[type]
    const choices: Record<string, number> = {
      constant: 2,
      variable: variables.length > 0 ? 4 : 0,
      global: 1,
      array: this.arrays[type] ? 1 : 0,
      cast: depth > 0 ? 2 : 0,
      binary: depth > 0 ? 4 : 0,
      compare: depth > 0 && type === 'i32' ? 1 : 0,
      select: depth > 0 ? 1 : 0,
    }
    const name = C_NAME[type]
    switch (random.weighted(choices)) {
      case 'constant':
        return constant(random, type)
      case 'variable':
        return random.pick(variables)
      case 'global': {
        if (random.chance(0.3)) return `(${name})g_arr[${random.int(8)}]`
        const from = random.pick(TYPES)
        return convert(from, type, `g_${from}`)
      }
      case 'array':
        return `${this.arrays[type]}[(uint32_t)(${this.expression('i32', depth - 1)}) % ${ARRAY_LENGTH}]`
      case 'cast': {
        const from = random.pick(TYPES)
        return convert(from, type, this.expression(from, depth - 1))
      }
      case 'binary': {
        const a = this.expression(type, depth - 1)
        const b = this.expression(type, depth - 1)
        if (type === 'i32' || type === 'i64') {
          const unsigned = type === 'i32' ? 'uint32_t' : 'uint64_t'
          const bits = type === 'i32' ? 31 : 63
          switch (random.int(6)) {
            case 0:
              return `(${name})((${unsigned})${a} + (${unsigned})${b})`
            case 1:
              return `(${name})((${unsigned})${a} * (${unsigned})${b})`
            case 2:
              return `(${name})((${unsigned})${a} - (${unsigned})${b})`
            case 3:
              return `(${a} ${random.pick(['&', '|', '^'])} ${b})`
            case 4:
              return `(${name})((${unsigned})${a} ${random.pick(['<<', '>>'])} ((${unsigned})${b} & ${bits}))`
            default:
              return `(${a} / (${name})(((${unsigned})${b} & 15) + 1))`
          }
        }
        return `(${a} ${random.pick(['+', '-', '*', '/'])} ${b})`
      }
      case 'compare': {
        const from = random.pick(TYPES)
        return `(${this.expression(from, depth - 1)} ${random.pick(['<', '<=', '==', '!=', '>'])} ${this.expression(from, depth - 1)})`
      }
      default:
        return `(${this.expression('i32', depth - 1)} ? ${this.expression(type, depth - 1)} : ${this.expression(type, depth - 1)})`
    }
  }
}

/** `target + value` in `type`, wrapping for integers (signed overflow is undefined behaviour in C). */
function add(type: CType, target: string, value: string): string {
  if (type === 'i32') return `(int32_t)((uint32_t)${target} + (uint32_t)(${value}))`
  if (type === 'i64') return `(int64_t)((uint64_t)${target} + (uint64_t)(${value}))`
  return `${target} + ${value}`
}

/**
 * `value` of type `from` converted to `to`. A float outside an integer type's
 * range is undefined behaviour in C, so floats become integers through mixf.
 */
function convert(from: CType, to: CType, value: string): string {
  const float = (type: CType) => type === 'f32' || type === 'f64'
  return float(from) && !float(to) ? `(${C_NAME[to]})mixf(${value})` : `(${C_NAME[to]})(${value})`
}

function constant(random: Random, type: CType): string {
  switch (type) {
    case 'i32':
      return String(random.pick([0, 1, -1, 3, 100, -77, 2147483647, random.range(-1000, 1000)]))
    case 'i64':
      return `${random.pick(['0', '1', '-5', '4294967296', '9223372036854775807', String(random.range(-100000, 100000))])}LL`
    case 'f32':
      return `${random.pick(['0.0', '1.5', '-2.25', '1e30', '3.0e-5', `${random.range(-999, 999)}.5`])}f`
    case 'f64':
      return random.pick(['0.0', '-0.0', '1.5', '-2.75', '1e300', '6.25e-3', `${random.range(-99999, 99999)}.125`])
  }
}
