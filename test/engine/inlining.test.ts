import binaryen from 'binaryen'
import { readFileSync } from 'node:fs'
import { asyncifyWasm, type OptimizeLevel } from 'unplugin-asyncify/transform'
import { instantiate } from 'unplugin-asyncify/runtime'
import { describe, expect, it } from 'vitest'
import { wat } from '../helpers/wat.js'

const fixture = (name: string) => readFileSync(new URL(`../fixtures/wat/${name}`, import.meta.url), 'utf8')

async function printed(wasm: Uint8Array): Promise<number[]> {
  const lines: number[] = []
  await instantiate(wasm, { spectest: { print: (x: number) => void lines.push(x) } })
  return lines
}

describe('Binaryen issue "Inlining breaks asyncify"', () => {
  it('plain Binaryen -O2 then Asyncify really does print 1 3 2 1 3 on the seed module', async () => {
    const module = binaryen.parseText(fixture('inlining.wat'))
    try {
      binaryen.setOptimizeLevel(2)
      module.optimize()
      module.runPasses(['asyncify'])
      const lines: number[] = []
      await WebAssembly.instantiate(module.emitBinary(), { spectest: { print: (x: number) => void lines.push(x) } })
      expect(lines).toEqual([1, 3, 2, 1, 3])
    } finally {
      module.dispose()
    }
  })

  for (const name of ['inlining.wat', 'inlining-one-call-site.wat']) {
    for (const optimize of [0, 1, 2, 3, 's', 'z'] as OptimizeLevel[]) {
      for (const preoptimize of [false, true]) {
        it(`${name} prints 1 2 3 after the transform at optimize ${optimize}${preoptimize ? ', whole module optimized first' : ''}`, async () => {
          const { wasm } = await asyncifyWasm(wat(fixture(name)), { optimize, preoptimize, filename: name })
          expect(await printed(wasm!)).toEqual([1, 2, 3])
        })
      }
    }
  }
})

describe('the runtime option', () => {
  it('runtime code that reaches the Asyncify API through helpers works once named in runtime', async () => {
    const bytes = wat(fixture('runtime-through-helper.wat'))
    for (const optimize of [0, 2] as OptimizeLevel[]) {
      const { wasm, report } = await asyncifyWasm(bytes, { optimize, preoptimize: true, runtime: ['runtime'], filename: 'helper.wasm' })
      expect(report.warnings.filter((w) => w.includes('runtime pattern'))).toEqual([])
      expect(await printed(wasm!)).toEqual([1, 2, 3])
    }
  })

  it('without it, Binaryen instruments that code and the program goes wrong', async () => {
    const { wasm } = await asyncifyWasm(wat(fixture('runtime-through-helper.wat')), { optimize: 0 })
    const outcome = await printed(wasm!).catch((error: unknown) => error)
    expect(outcome).not.toEqual([1, 2, 3])
  })

  it('a runtime pattern that matches no function is reported', async () => {
    const { report } = await asyncifyWasm(wat(fixture('inlining.wat')), { runtime: ['no_such_fn*'] })
    expect(report.warnings).toContainEqual(expect.stringMatching(/runtime pattern "no_such_fn\*" matches no function/))
  })
})

