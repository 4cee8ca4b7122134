/*
 * A switch that clang compiles to a br_table into a nest of blocks (each
 * case's code starts after the end of the next block in) puts every frame of
 * the nest first in the frame around it. Each such frame hands its dispatch
 * on to the block it starts with (instrument.ts, `Handoff`), so the frame
 * that does not start with one decides for them all: one state check on
 * the way to the switch where there was one per case, and a rewind still
 * reaches a case deep in the nest. `bytecode.c`'s interpreter runs a program
 * whose loop goes through 17 cases that call async imports each turn.
 */
import binaryen from 'binaryen'
import { describe, expect, it } from 'vitest'
import { compileC } from '../helpers/compile-c.js'
import { asyncified, later } from '../helpers/engine.js'
import { functionText } from '../helpers/wat.js'
import { scanModule } from '../../src/transform/scan.js'

const OP = { PUSH: 0, ADD: 1, SUB: 2, MUL: 3, NEG: 5, DUP: 6, SWAP: 7, OVER: 8, DROP: 9, JZ: 10, JMP: 11, DEC: 12, READ: 13, WRITE: 14, XOR: 15, SHL: 16, SHR: 17, AND: 18, OR: 19, MOD: 20, LT: 21, HALT: 22 }

/** Where the loop leaves to, and what it runs there. 30 is no opcode: the default case writes it, negated. */
const HALT_AT = 40
const TAIL = [OP.PUSH, 42, OP.PUSH, 50, OP.LT, OP.DROP, 30, OP.HALT]

/** Counts n down from 6; each turn reads a value, mixes it through most of the cases, and writes it (two output calls); then halts. */
const PROGRAM = [
  [OP.PUSH, 6],
  // 2: the loop
  [OP.DUP, OP.JZ, HALT_AT, OP.READ, 2, OP.OVER, OP.MUL, OP.PUSH, 13, OP.MOD],
  [OP.PUSH, 3, OP.SHL, OP.PUSH, 1, OP.SHR, OP.NEG, OP.NEG, OP.PUSH, 255, OP.AND, OP.PUSH, 256, OP.OR],
  [OP.PUSH, 5, OP.SWAP, OP.SUB, OP.PUSH, 9, OP.XOR, OP.PUSH, 4, OP.ADD],
  [OP.WRITE, OP.DEC, OP.JMP, 2],
].flat()

/** Loads the program, runs it and returns its result (a Promise from the asyncified build). */
function interpret(exports: Record<string, any>): number | Promise<number> {
  const code = [...PROGRAM, ...new Array<number>(HALT_AT - PROGRAM.length).fill(OP.JMP), ...TAIL]
  code.forEach((op, at) => exports.load(at, op))
  return exports.run(1000)
}

/** The name Binaryen's text gives Asyncify's state global: what the module's `asyncify_get_state` returns. */
function stateGlobal(wasm: Uint8Array): string {
  const module = binaryen.readBinary(wasm)
  try {
    for (let k = 0; k < module.getNumExports(); k++) {
      const { name, value } = binaryen.getExportInfo(module.getExportByIndex(k))
      if (!name.endsWith('asyncify_get_state')) continue
      const body = binaryen.getFunctionInfo(module.getFunction(value)).body
      return `$${(binaryen.getExpressionInfo(body) as binaryen.GlobalGetInfo).name}`
    }
    throw new Error('the build exports no asyncify_get_state')
  } finally {
    module.dispose()
  }
}

/** `note` answers every other call at once (no suspension), so a rewind comes both ways into a case. */
function imports(suspend: boolean, written: number[]) {
  let notes = 0
  return {
    env: {
      input: (slot: number) => (suspend ? later(slot * 7 + written.length) : slot * 7 + written.length),
      output: (value: number) => {
        written.push(value)
        return suspend ? later(undefined) : undefined
      },
      note: (op: number, top: number) => {
        written.push(op * 1_000_000 + top)
        return suspend && notes++ % 2 === 0 ? later(undefined) : undefined
      },
    },
  }
}

describe('a switch compiled to a nest of blocks', () => {
  const bytes = compileC('bytecode.c')

  it('runs its cases as the untouched module does, suspending in most of them every turn', async () => {
    const expectedWrites: number[] = []
    const plain = new WebAssembly.Instance(new WebAssembly.Module(bytes as Uint8Array<ArrayBuffer>), imports(false, expectedWrites))
    const expected = await interpret(plain.exports)
    expect(expected).toBeGreaterThan(0)
    // 6 turns of 15 notes and two outputs, then the last turn's note and the default case's output.
    expect(expectedWrites.length).toBe(6 * 17 + 2)

    const written: number[] = []
    const { exports } = await asyncified(bytes, { imports: ['env.input', 'env.output', 'env.note'] }, imports(true, written))
    await expect(interpret(exports)).resolves.toBe(expected)
    expect(written).toEqual(expectedWrites)
  })

  it('checks the state once on the way to the switch, not once per case', async () => {
    const { wasm } = await asyncified(bytes, { imports: ['env.input', 'env.output', 'env.note'], engine: 'direct' }, imports(true, []), undefined, 'asyncify')
    const text = functionText(wasm, 'run')
    const checks = text.split(`(global.get ${stateGlobal(wasm)})`).length - 1
    const sites = text.split(/\(call \$(?:input|output|note)\b/).length - 1
    expect(sites).toBeGreaterThanOrEqual(17)
    // One check after each call site, and six more: the prologue's, three before the loop, the loop's first
    // segment's and the dispatcher's. With a dispatcher per level of the nest there were 22 more.
    expect(checks).toBeLessThanOrEqual(sites + 6)
  })
})

describe('at optimize 3, a forward copy of each function without what only a rewind runs', () => {
  const bytes = compileC('bytecode.c')
  const transform = { imports: ['env.input', 'env.output', 'env.note'], engine: 'direct', optimize: 3 } as const

  it('runs the interpreter as the untouched module does, suspending in most of its cases every turn', async () => {
    // Twice in one instance: the first run rewinds into the copies of `run` and of what it calls, and the second
    // goes forward again in their first bodies.
    const expectedWrites: number[] = []
    const plain = new WebAssembly.Instance(new WebAssembly.Module(bytes as Uint8Array<ArrayBuffer>), imports(false, expectedWrites))
    const expected = [await interpret(plain.exports), await interpret(plain.exports)]
    const written: number[] = []
    const { exports } = await asyncified(bytes, transform, imports(true, written), undefined, 'asyncify')
    expect([await interpret(exports), await interpret(exports)]).toEqual(expected)
    expect(written).toEqual(expectedWrites)
  })

  it('checks the state only after calls and once on entry going forward', async () => {
    const { wasm } = await asyncified(bytes, transform, imports(true, []), undefined, 'asyncify')
    const text = functionText(wasm, 'run')
    const checks = text.split(`(global.get ${stateGlobal(wasm)})`).length - 1
    const sites = text.split(/\(call \$(?:input|output|note)\b/).length - 1
    expect(sites).toBeGreaterThanOrEqual(17)
    // The entry's check hands a rewind to the copy, which has the dispatchers and guards.
    expect(checks).toBe(sites + 1)
    const { wasm: single } = await asyncified(bytes, { ...transform, optimize: 2 }, imports(true, []), undefined, 'asyncify')
    expect(new WebAssembly.Module(wasm as Uint8Array<ArrayBuffer>)).toBeDefined()
    expect(wasm.length).toBeGreaterThan(single.length)
  })
})

describe('at optimize 3, which functions take a copy', () => {
  const bytes = compileC('copies.c')
  const transform = { imports: ['env.fetch'], engine: 'direct', optimize: 3 } as const
  const fetch = (key: number) => (key * 37 + 11) & 0xff

  it('only those whose code going forward checks the state less often without what only a rewind needs: one such check in a loop, or more than one in a function without loops', async () => {
    const { wasm } = await asyncified(bytes, transform, { env: { fetch: (key: number) => later(fetch(key)) } }, undefined, 'asyncify')
    const names = scanModule(wasm, { code: false }).functions.map((fn) => fn.name)
    const copied = ['buffered', 'counted', 'twice', 'then_loop', 'looped', 'run'].filter((name) => names.filter((other) => other === name).length === 2)
    // A buffered read's fast path runs the one check fused into its test; counted has one check either way;
    // then_loop's and run's checks are outside their loops, which do the work of a call.
    expect(copied).toEqual(['twice', 'looped'])
  })

  it('each function gives what the untouched module gives, suspending at every call', async () => {
    const plain = new WebAssembly.Instance(new WebAssembly.Module(bytes as Uint8Array<ArrayBuffer>), { env: { fetch } }).exports as Record<string, () => number>
    const { exports } = await asyncified(bytes, transform, { env: { fetch: (key: number) => later(fetch(key)) } }, undefined, 'asyncify')
    for (const key of [3, 250]) {
      await expect(exports.run(key)).resolves.toBe((plain.run as (key: number) => number)(key))
    }
    expect(exports.count()).toBe(plain.count!())
  })
})
