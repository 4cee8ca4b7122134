/*
 * Asyncify is given our call graph's decision as its only-list: an indirect
 * call makes its caller suspend only when a function of its signature that
 * the module can put into a table (element segments, `ref.func`, exports)
 * can suspend. These tests run each rule, including the ways a function gets
 * into a table after instantiation, on the run's engine.
 */
import { readFileSync } from 'node:fs'
import { asyncifyWasm } from 'unplugin-asyncify/transform'
import { describe, expect, it } from 'vitest'
import { prepareJspiWithoutBinaryen } from '../../src/transform/jspi-fast.js'
import { suspendingByCallGraph } from '../../src/transform/call-graph.js'
import type { ModuleFacts } from '../../src/transform/analyse.js'
import { listable } from '../../src/transform/instrument.js'
import { asyncified, later } from '../helpers/engine.js'
import { wat } from '../helpers/wat.js'

const bytes = wat(readFileSync(new URL('../fixtures/reference-types/indirect-reach.wat', import.meta.url), 'utf8'), ['ReferenceTypes', 'BulkMemory'])
const transform = { imports: ['env.wait'], filename: 'indirect-reach.wasm' }
const suspendingExports = ['apply', 'exported_slow', 'four', 'outer', 'three']

describe('indirect calls reach what the module can put into a table, of their signature', () => {
  it('only exports that can reach the async import return Promises, on both paths and in the dev path', async () => {
    const { report, jspi } = await asyncifyWasm(bytes, transform)
    expect([...report.suspendingExports].sort()).toEqual(suspendingExports)
    expect([...jspi!.metadata.suspendingExports].sort()).toEqual(suspendingExports)
    expect([...prepareJspiWithoutBinaryen(bytes, transform)!.report.suspendingExports].sort()).toEqual(suspendingExports)
    // slow, exported_slow, hidden and the four suspending callers; not fast, add, combine or install.
    // `three` counts as suspending only because exported_slow is exported: a driver other than
    // ours, which hands out raw exports, lets JavaScript put it into the exported table.
    expect(report.functions).toEqual({ instrumented: 7, total: 11 })
  })

  it('report.why gives each instrumented function the chain that made it suspend, and the bytes it added', async () => {
    const { report } = await asyncifyWasm(bytes, transform)
    const chains = Object.fromEntries(report.why.map((entry) => [entry.name, entry.chain]))
    expect(chains).toEqual({
      slow: ['slow', 'env.wait'],
      hidden: ['hidden', 'env.wait'],
      exported_slow: ['exported_slow', 'env.wait'],
      apply: ['apply', 'call_indirect (i32 -> i32)', 'slow', 'env.wait'],
      three: ['three', 'call_indirect (i32 i32 i32 -> i32)', 'exported_slow', 'env.wait'],
      four: ['four', 'call_indirect (i32 i32 i32 i32 -> i32)', 'hidden', 'env.wait'],
      outer: ['outer', 'apply', 'call_indirect (i32 -> i32)', 'slow', 'env.wait'],
    })
    const added = report.why.map((entry) => entry.addedBytes!)
    expect(added.every((n) => n > 0)).toBe(true)
    expect(added).toEqual([...added].sort((a, b) => b - a))
  })

  it('each suspends where it can and runs synchronously where it cannot', async () => {
    const { exports } = await asyncified(bytes, transform, { env: { wait: (x: number) => later(x * 10) } })
    expect(exports.combine(2, 5)).toBe(10)
    await expect(exports.apply(0, 4)).resolves.toBe(40)
    await expect(exports.outer(3)).resolves.toBe(30)
    // A function only the module takes a reference to, put into the table by its own code.
    exports.install(6)
    await expect(exports.four(6, 3)).resolves.toBe(33)
    // Overlapping calls through the same indirect call each get their own state.
    await expect(Promise.all([exports.apply(0, 1), exports.four(6, 2), exports.apply(0, 2)])).resolves.toEqual([10, 22, 20])
  })
})

describe('the call-graph rule', () => {
  const facts = (indirect: ModuleFacts['indirect']): ModuleFacts => ({
    functions: ['viaRef', 'viaTable', 'slow', 'plain'],
    imports: [],
    exports: [],
    calls: new Map([['slow', new Set(['wait'])]]),
    expressionKinds: new Map(),
    indirect,
  })

  it('a call_ref may reach any function the module can put into a table', () => {
    const byCaller: ModuleFacts['indirect']['byCaller'] = new Map<string, Set<string> | 'any'>([['viaRef', 'any'], ['viaTable', new Set(['i32 -> i32'])]])
    expect(suspendingByCallGraph(facts({ byCaller, targets: new Map([['f64 -> f64', ['slow']]]) }), ['wait'], new Set())).toEqual(
      new Set(['slow', 'viaRef']),
    )
    expect(suspendingByCallGraph(facts({ byCaller, targets: new Map([['i32 -> i32', ['plain']]]) }), ['wait'], new Set())).toEqual(new Set(['slow']))
  })

  it('when the module cannot tell what indirect calls reach, every one may suspend', () => {
    const byCaller: ModuleFacts['indirect']['byCaller'] = new Map([['viaTable', new Set(['i32 -> i32'])]])
    expect(suspendingByCallGraph(facts({ byCaller, targets: null }), [], new Set())).toEqual(new Set(['viaTable']))
  })

  it('an async import in a table makes the indirect calls of its signature suspend', () => {
    const byCaller: ModuleFacts['indirect']['byCaller'] = new Map([['viaTable', new Set(['i32 -> i32'])]])
    expect(suspendingByCallGraph(facts({ byCaller, targets: new Map([['i32 -> i32', ['wait']]]) }), ['wait'], new Set())).toEqual(
      new Set(['slow', 'viaTable']),
    )
  })

  it('runtime functions neither suspend nor pass it on', () => {
    const byCaller: ModuleFacts['indirect']['byCaller'] = new Map([['viaTable', new Set(['i32 -> i32'])]])
    expect(suspendingByCallGraph(facts({ byCaller, targets: new Map([['i32 -> i32', ['slow']]]) }), ['wait'], new Set(['slow']))).toEqual(new Set())
  })

  it('names Asyncify would read differently are not put in its lists', () => {
    expect(['main', '$12', 'fimport$3', '_ZN4core3fmt5write17h', 'std::vector<int>::push_back'].every(listable)).toBe(true)
    expect(['foo(int, char)', 'a b', 'glob*', 'back\\slash', 'ünï'].some(listable)).toBe(false)
  })
})
