import { describe, expect, it } from 'vitest'
import { resolveOptions } from '../../dist/plugin/options.js'

describe('plugin options', () => {
  it('features reaches each module\'s transform, overrides included', () => {
    const resolved = resolveOptions({ features: ['sign-ext'], overrides: { 'mvp.wasm': { features: [] } } })
    expect(resolved.transformFor('/app/prog.wasm', '/app').features).toEqual(['sign-ext'])
    expect(resolved.transformFor('/app/mvp.wasm', '/app').features).toEqual([])
  })

  it('an unknown feature fails when the config loads, with the option named', () => {
    expect(() => resolveOptions({ features: ['simd' as never] })).toThrow(/^asyncify\(\) options: features: unknown feature "simd"/)
  })
})
