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
      it(`${name} prints 1 2 3 after the transform at optimize ${optimize}`, async () => {
        const { wasm } = await asyncifyWasm(wat(fixture(name)), { optimize, filename: name })
        expect(await printed(wasm)).toEqual([1, 2, 3])
      })
    }
  }
})
