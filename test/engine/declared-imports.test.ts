/*
 * Async imports a module declares itself with ASYNCIFY_IMPORT
 * (include/asyncify.h): with no `imports` option the transform takes exactly
 * those, warns about nothing, and both paths and the dev path agree.
 */
import { execFileSync } from 'node:child_process'
import { mkdtempSync, readFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join, resolve } from 'node:path'
import type { AsyncifyError } from 'unplugin-asyncify/runtime'
import { asyncifyWasm } from 'unplugin-asyncify/transform'
import { describe, expect, it } from 'vitest'
import { prepareJspiWithoutBinaryen } from '../../src/transform/jspi-fast.js'
import { withCustomSection } from '../../src/transform/wasm-sections.js'
import { compileC } from '../helpers/compile-c.js'
import { asyncified, later } from '../helpers/engine.js'

/** Debian's rustc, with the wasm32 standard library of libstd-rust-dev-wasm32 (scripts/ensure-system-deps.sh). */
const RUSTC = '/usr/bin/rustc'
const declared = () => compileC('declared.c')
const imports = (log: number[]) => ({
  env: { sleep: (ms: number) => later(ms), log: (value: number) => void log.push(value) },
  'host.io': { 'read.line': (buffer: number) => later(buffer * 100) },
})

describe('async imports declared in the module', () => {
  it('are the list when no imports option is given: no warning, and the plain import is left alone', async () => {
    const { report, jspi } = await asyncifyWasm(declared(), { filename: 'declared.wasm' })
    expect(report.asyncImports).toEqual(['env.sleep', 'host.io.read.line'])
    expect(report.warnings).toEqual([])
    expect(report.suspendingExports).toEqual(['run'])
    expect(jspi!.metadata.asyncImports.map((entry) => `${entry.module}/${entry.name}`)).toEqual(['env/sleep', 'host.io/read.line'])
    expect(prepareJspiWithoutBinaryen(declared(), { filename: 'declared.wasm' })!.report.asyncImports).toEqual(report.asyncImports)
  })

  it('run: the declared imports suspend, the plain one stays synchronous', async () => {
    const log: number[] = []
    const { exports } = await asyncified(declared(), {}, imports(log))
    exports._initialize?.()
    await expect(exports.run(3)).resolves.toBe(303)
    expect(exports.logged(5)).toBe(10)
    expect(log).toEqual([3, 5])
    // The plain import is not async: a Promise from it is refused by name.
    const refused = await asyncified(declared(), {}, { ...imports(log), env: { ...imports(log).env, log: () => later(0) } })
    const error = (await Promise.resolve()
      .then(() => refused.exports.run(1))
      .catch((e: unknown) => e)) as AsyncifyError
    expect(error.code).toBe('ASYNCIFY_UNLISTED_ASYNC_IMPORT')
    expect(error.message).toContain('env.log')
  })

  it('an imports option still wins', async () => {
    const { report } = await asyncifyWasm(declared(), { imports: ['env.sleep'], filename: 'declared.wasm' })
    expect(report.asyncImports).toEqual(['env.sleep'])
  })

  it('repeats (one per object file that declares the import) count once; a damaged section is a clear error', async () => {
    const pairs = (text: string) => new TextEncoder().encode(text)
    const twice = withCustomSection(declared(), 'asyncify.imports', pairs('env\0sleep\0env\0sleep\0'))
    expect((await asyncifyWasm(twice, {})).report.asyncImports).toEqual(['env.sleep', 'host.io.read.line'])
    const damaged = withCustomSection(compileC('loop.c'), 'asyncify.imports', pairs('env\0next'))
    const error = (await asyncifyWasm(damaged, { filename: 'damaged.wasm' }).catch((e: unknown) => e)) as AsyncifyError
    expect(error.code).toBe('ASYNCIFY_INVALID_WASM')
    expect(error.message).toMatch(/^damaged\.wasm: its "asyncify\.imports" custom section is not a list of import module and name pairs/)
  })

  it('from Rust, the same section written with #[link_section] declares them too', async () => {
    const out = join(mkdtempSync(join(tmpdir(), 'asyncify-rust-')), 'declared.wasm')
    const source = resolve(import.meta.dirname, '../fixtures/rust/declared.rs')
    execFileSync(RUSTC, ['--target', 'wasm32-unknown-unknown', '--crate-type', 'cdylib', '-C', 'opt-level=2', '-C', 'debuginfo=0', '-o', out, source])
    const bytes = new Uint8Array(readFileSync(out))
    const { report } = await asyncifyWasm(bytes, { filename: 'declared.wasm' })
    expect(report.asyncImports).toEqual(['env.sleep'])
    expect(report.warnings).toEqual([])
    const log: number[] = []
    const { exports } = await asyncified(bytes, {}, { env: { sleep: (ms: number) => later(ms * 2), log: (value: number) => void log.push(value) } })
    await expect(exports.run(4)).resolves.toBe(9)
    expect(log).toEqual([4])
  })
})
