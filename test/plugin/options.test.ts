import { describe, expect, it } from 'vitest'
import { resolveOptions } from '../../src/plugin/options.js'

describe('plugin options', () => {
  it('features reaches each module\'s transform, overrides included', () => {
    const resolved = resolveOptions({ features: ['sign-ext'], overrides: { 'mvp.wasm': { features: [] } } })
    expect(resolved.transformFor('/app/prog.wasm', '/app', false).features).toEqual(['sign-ext'])
    expect(resolved.transformFor('/app/mvp.wasm', '/app', false).features).toEqual([])
  })

  it("mode reaches each module's transform, overrides included", () => {
    const resolved = resolveOptions({ mode: 'asyncify', overrides: { 'jspi/*.wasm': { mode: 'jspi' } } })
    expect(resolved.transformFor('/app/prog.wasm', '/app', false).mode).toBe('asyncify')
    expect(resolved.transformFor('/app/jspi/prog.wasm', '/app', false).mode).toBe('jspi')
    // Unset, it is left to the transform, whose default is 'auto'.
    expect(resolveOptions({}).transformFor('/app/prog.wasm', '/app', false).mode).toBeUndefined()
  })

  it('an unknown mode fails when the config loads, with the option named', () => {
    expect(() => resolveOptions({ mode: 'fast' as never })).toThrow(/^asyncify\(\) options: mode must be one of "auto", "asyncify", "jspi"; got "fast"/)
    expect(() => resolveOptions({ overrides: { 'x.wasm': { mode: 'both' as never } } })).toThrow(/overrides: \{ "x\.wasm" \}.*mode must be one of/)
  })

  it('an unknown feature fails when the config loads, with the option named', () => {
    expect(() => resolveOptions({ features: ['simd' as never] })).toThrow(/^asyncify\(\) options: features: unknown feature "simd"/)
    expect(() => resolveOptions({ asyncImports: ['env.get'] } as never)).toThrow(/^asyncify\(\): unknown option "asyncImports"; the options are imports, .*, cacheDir$/)
    expect(() => resolveOptions({ overrides: { 'x.wasm': { include: 'y.wasm' } as never } })).toThrow(
      /^asyncify\(\): overrides: \{ "x\.wasm" \}: unknown option "include"; the options are imports, .*, debug$/,
    )
  })

  it("debug 'auto' (the default) is on in a dev server and off in builds; true and false hold everywhere", () => {
    const debugOf = (options: Parameters<typeof resolveOptions>[0], serve: boolean) => resolveOptions(options).transformFor('/app/prog.wasm', '/app', serve).debug
    expect([debugOf({}, true), debugOf({}, false)]).toEqual([true, false])
    expect([debugOf({ debug: true }, false), debugOf({ debug: false }, true)]).toEqual([true, false])
    const resolved = resolveOptions({ debug: false, overrides: { 'dbg/*.wasm': { debug: 'auto' } } })
    expect(resolved.transformFor('/app/dbg/x.wasm', '/app', true).debug).toBe(true)
    expect(() => resolveOptions({ debug: 'yes' as never })).toThrow(/^asyncify\(\): debug must be true, false or "auto"; got "yes"/)
  })
})
