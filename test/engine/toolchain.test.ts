import { existsSync, mkdtempSync, readFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join, resolve } from 'node:path'
import { describe, expect, it } from 'vitest'
import { compileWasm } from '../../scripts/clang-env.js'
import { compilePrograms } from '../../scripts/playground/compile.js'
import { compileC } from '../helpers/compile-c.js'

const sections = (bytes: Uint8Array, name: string) =>
  WebAssembly.Module.customSections(new WebAssembly.Module(bytes as Uint8Array<ArrayBuffer>), name)

/*
 * Debian's `binaryen` package puts wasm-opt in /usr/bin, where clang's driver
 * finds it after an optimized link whatever PATH the scripts clean up.
 */
describe('C compiled for the tests and the playground', () => {
  it('an optimized test fixture keeps its name section', () => {
    expect(sections(compileC('loop.c'), 'name')).toHaveLength(1)
  })

  it('every playground program keeps its name section', () => {
    for (const output of compilePrograms()) expect(sections(readFileSync(output), 'name'), output).toHaveLength(1)
  })

  it('a link that loses the name section fails, naming the file', () => {
    const dir = mkdtempSync(join(tmpdir(), 'clang-'))
    const source = resolve(import.meta.dirname, '../fixtures/c/loop.c')
    const output = join(dir, 'loop.wasm')
    expect(() =>
      compileWasm({ source, output, compileFlags: ['-O2'], linkFlags: ['-mexec-model=reactor', '-Wl,--strip-all'] }),
    ).toThrow(/loop\.c: the linked module has no name section/)
    expect(existsSync(output)).toBe(false)
  })

  it('refuses -O among the link flags', () => {
    expect(() => compileWasm({ source: 'x.c', output: 'x.wasm', linkFlags: ['-O2'] })).toThrow(/must not hold -O/)
  })
})
