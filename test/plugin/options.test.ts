import { describe, expect, it } from 'vitest'
import { resolveOptions, type BundleTarget } from '../../src/plugin/options.js'

const build: BundleTarget = { serve: false, server: false }
const server: BundleTarget = { serve: false, server: true }

describe('plugin options', () => {
  it('features reaches each module\'s transform, overrides included', () => {
    const resolved = resolveOptions({ features: ['sign-ext'], overrides: { 'mvp.wasm': { features: [] } } })
    expect(resolved.transformFor('/app/prog.wasm', '/app', build).features).toEqual(['sign-ext'])
    expect(resolved.transformFor('/app/mvp.wasm', '/app', build).features).toEqual([])
  })

  it("mode reaches each module's transform, overrides included", () => {
    const resolved = resolveOptions({ mode: 'asyncify', overrides: { 'jspi/*.wasm': { mode: 'jspi' } } })
    expect(resolved.transformFor('/app/prog.wasm', '/app', build).mode).toBe('asyncify')
    expect(resolved.transformFor('/app/jspi/prog.wasm', '/app', build).mode).toBe('jspi')
    // Unset, it is left to the transform, whose default is 'auto'.
    expect(resolveOptions({}).transformFor('/app/prog.wasm', '/app', build).mode).toBeUndefined()
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
    const debugOf = (options: Parameters<typeof resolveOptions>[0], serve: boolean) => resolveOptions(options).transformFor('/app/prog.wasm', '/app', { serve, server: false }).debug
    expect([debugOf({}, true), debugOf({}, false)]).toEqual([true, false])
    expect([debugOf({ debug: true }, false), debugOf({ debug: false }, true)]).toEqual([true, false])
    const resolved = resolveOptions({ debug: false, overrides: { 'dbg/*.wasm': { debug: 'auto' } } })
    expect(resolved.transformFor('/app/dbg/x.wasm', '/app', { serve: true, server: false }).debug).toBe(true)
    expect(() => resolveOptions({ debug: 'yes' as never })).toThrow(/^asyncify\(\): debug must be true, false or "auto"; got "yes"/)
  })

  it("optimize 'auto' (the default) is 3 for a bundle that runs only on a server and the transform's default elsewhere; a level holds everywhere", () => {
    const optimizeOf = (options: Parameters<typeof resolveOptions>[0], target: BundleTarget, file = '/app/prog.wasm') => resolveOptions(options).transformFor(file, '/app', target).optimize
    expect([optimizeOf({}, server), optimizeOf({}, build), optimizeOf({}, { serve: true, server: true })]).toEqual([3, undefined, 3])
    expect([optimizeOf({ optimize: 'auto' }, server), optimizeOf({ optimize: 'auto' }, build)]).toEqual([3, undefined])
    expect([optimizeOf({ optimize: 'z' }, server), optimizeOf({ optimize: 0 }, build), optimizeOf({ optimize: 2 }, server)]).toEqual(['z', 0, 2])
    const overridden = { optimize: 's' as const, overrides: { 'fast/*.wasm': { optimize: 'auto' as const } } }
    expect([optimizeOf(overridden, server, '/app/fast/x.wasm'), optimizeOf(overridden, build, '/app/fast/x.wasm'), optimizeOf(overridden, server)]).toEqual([3, undefined, 's'])
    expect(() => resolveOptions({ optimize: 4 as never })).toThrow(/^asyncify\(\): optimize must be "auto", 0, 1, 2, 3, "s" or "z"; got 4/)
    expect(() => resolveOptions({ overrides: { 'x.wasm': { optimize: 'fast' as never } } })).toThrow(/^asyncify\(\): overrides: \{ "x\.wasm" \}: optimize must be "auto", 0, 1, 2, 3, "s" or "z"; got "fast"/)
  })
})
