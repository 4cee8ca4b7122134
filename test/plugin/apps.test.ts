import { readdirSync, readFileSync } from 'node:fs'
import { dirname, join } from 'node:path'
import { describe, expect, test } from 'vitest'
import { bundlerNames, bundlers } from './bundlers.js'
import { appOptions, expectedResult, fixtures, makeApp, runMain } from './helpers.js'

const wasmFiles = (file: string): string[] =>
  readdirSync(dirname(file), { recursive: true, encoding: 'utf8' }).filter((name) => name.endsWith('.wasm'))

describe.each(bundlerNames)('%s', (name) => {
  const build = bundlers[name]

  test('the fixture app runs its async wasm imports in Node, each module a hashed .wasm asset', async () => {
    const dir = makeApp(`app-${name}`)
    const bundle = await build(dir, 'main', appOptions())
    expect(wasmFiles(bundle)).toHaveLength(2)
    expect(await runMain(bundle)).toEqual(expectedResult())
    // No path of the build machine in the code (esbuild's module comments name them, like any module's).
    const code = readFileSync(bundle, 'utf8').split('\n').filter((line) => !line.trimStart().startsWith('//'))
    expect(code.join('\n')).not.toContain(dir)
  })

  test('with inline, the modules are embedded and no .wasm is emitted', async () => {
    const dir = makeApp(`inline-${name}`)
    const bundle = await build(dir, 'main', { ...appOptions(), inline: true })
    expect(wasmFiles(bundle)).toEqual([])
    expect(await runMain(bundle)).toEqual(expectedResult())
  })

  test('a .wasm that is not WebAssembly fails the build with a message naming the file', async () => {
    const dir = makeApp(`not-wasm-${name}`, {
      'not-wasm.wasm': readFileSync(join(fixtures, 'not-wasm.wasm')),
      'bad.js': "import init from './not-wasm.wasm?asyncify'\nexport const main = init\n",
    })
    await expect(build(dir, 'bad', appOptions())).rejects.toThrow(/not-wasm\.wasm: not a WebAssembly module/)
  })

  test('a module with a feature Asyncify cannot handle fails the build with a message naming the file', async () => {
    const dir = makeApp(`unsupported-${name}`, {
      'shared-memory.wasm': readFileSync(join(fixtures, 'shared-memory.wasm')),
      'bad.js': "import init from './shared-memory.wasm?asyncify'\nexport const main = init\n",
    })
    await expect(build(dir, 'bad', appOptions())).rejects.toThrow(/shared-memory\.wasm: the module uses a shared memory/)
  })
})
