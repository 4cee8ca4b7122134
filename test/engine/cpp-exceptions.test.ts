/*
 * A real C++ program (clang++ -fwasm-exceptions, legacy exception handling)
 * whose exceptions cross suspensions: thrown after a resume inside a try block
 * on both paths, and a suspension inside a catch block, which only JSPI can
 * resume (Asyncify refuses it at build time, by name).
 */
import type { AsyncifyError } from 'unplugin-asyncify/runtime'
import { instantiate } from 'unplugin-asyncify/runtime'
import { asyncifyWasm } from 'unplugin-asyncify/transform'
import { describe, expect, it } from 'vitest'
import { compileC } from '../helpers/compile-c.js'
import { asyncified, engine, later } from '../helpers/engine.js'

const jspiHere = 'Suspending' in WebAssembly && 'promising' in WebAssembly
const EH = ['-fwasm-exceptions']
// wait(x) settles with x after a delay that makes overlapping calls finish out of order.
const wait = (x: number) => later(x, Math.abs(x) % 4)

describe(`C++ exceptions across suspensions (${engine})`, () => {
  // At -O0 the Binaryen pipeline refused this module: its call graph has `__cxa_end_catch` suspending inside
  // run's catch block (through the exception's destructor, an indirect call), which the direct engine's
  // narrowing of indirect calls shows it cannot.
  it.each(['-O2', '-O0'])('an exception thrown after a resume is caught in its try block, with its value, in overlapping calls (%s)', async (level) => {
    const { exports, report } = await asyncified(compileC('exceptions.cpp', [...EH, '-DWITHOUT_RECOVER', level]), { imports: ['env.wait'] }, { env: { wait } })
    // Legacy exception handling is the direct engine's since 2026-11-24.
    expect(report.engine).toBe('direct')
    exports._initialize()
    await expect(exports.run(5)).resolves.toBe(6)
    await expect(exports.run(-3)).resolves.toBe(-30)
    await expect(Promise.all([exports.run(-1), exports.run(2), exports.run(-7), exports.run(3)])).resolves.toEqual([-10, 3, -70, 4])
  })

  // The direct engine refuses it itself since 2026-11-24 (and builds JSPI alone in auto without Binaryen); the pipeline alike.
  it.each(['direct', 'binaryen'] as const)('a suspension inside a catch block: refused by Asyncify naming the function, built for JSPI alone in auto (%s engine)', async (engine) => {
    const bytes = compileC('exceptions.cpp', EH)
    const refused = (await asyncifyWasm(bytes, { imports: ['env.wait'], mode: 'asyncify', filename: 'ex.wasm', engine }).catch((e: unknown) => e)) as AsyncifyError
    expect(refused.code).toBe('ASYNCIFY_UNSUPPORTED_FEATURE')
    expect(refused.message).toMatch(/^ex\.wasm: function "recover" calls "wait_for", which can suspend, inside a catch block/)

    const auto = await asyncifyWasm(bytes, { imports: ['env.wait'], filename: 'ex.wasm', engine })
    expect(auto.report.asyncifyUnsupported).toBe(refused.message)
    expect(auto.report.paths).toEqual(['jspi'])
    const loading = instantiate({ jspi: auto.jspi!.wasm }, { env: { wait } }, { name: 'ex.wasm' })
    if (!jspiHere) {
      const error = (await loading.catch((e: unknown) => e)) as AsyncifyError
      expect(error.code).toBe('ASYNCIFY_NO_JSPI')
      expect(error.message).toMatch(/^ex\.wasm: this module can only run with JSPI.*"recover".*inside a catch block/)
      return
    }
    const exports = (await loading).instance.exports as Record<string, (x?: number) => Promise<number>>
    exports._initialize!()
    // recover(-4): wait(-4) throws Failure{-4}; the handler awaits wait(4) and returns 400.
    await expect(exports.recover!(-4)).resolves.toBe(400)
    await expect(Promise.all([exports.recover!(-2), exports.run!(-5), exports.recover!(6)])).resolves.toEqual([200, -50, 7])
  })
})
