/**
 * Which sections `npm run bench` runs: the survey of modules from npm
 * (bench/survey.ts) fetches them and takes native wasm-opt minutes, so only
 * `--only survey` runs it.
 */
import { describe, expect, it } from 'vitest'
import { resolveBenchOptions, SECTIONS } from '../../bench/options.js'

describe('resolveBenchOptions', () => {
  it('runs every section but the survey by default', () => {
    expect(resolveBenchOptions([], '/repo').sections).toEqual(SECTIONS.filter((section) => section !== 'survey'))
  })

  it('runs the survey when asked, alone or with others', () => {
    expect(resolveBenchOptions(['--only', 'survey'], '/repo').sections).toEqual(['survey'])
    expect(resolveBenchOptions(['--only', 'build', '--only', 'survey'], '/repo').sections).toEqual(['build', 'survey'])
  })

  it('refuses a section it does not know, naming the ones it does', () => {
    expect(() => resolveBenchOptions(['--only', 'npm'], '/repo')).toThrow(/--only must be one of build, size, roundtrip, compute, program, survey; got "npm"/)
  })
})
