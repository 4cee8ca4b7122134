import { execFile } from 'node:child_process'
import { promisify } from 'node:util'
import { describe, expect, test } from 'vitest'

const entries = ['vite', 'rollup', 'rolldown', 'webpack', 'rspack', 'esbuild']

describe('entry points', () => {
  test('each bundler entry default-exports asyncify(), and require() returns the same function', async () => {
    // In plain Node, as a bundler config would load it (vitest has its own module graph).
    const script = `
      import { createRequire } from 'node:module'
      const require = createRequire(import.meta.url)
      const result = {}
      for (const name of ${JSON.stringify(entries)}) {
        const esm = await import('unplugin-asyncify/' + name)
        const cjs = require('unplugin-asyncify/' + name)
        result[name] = typeof esm.default === 'function' && cjs === esm.default && typeof cjs() === 'object'
      }
      console.log(JSON.stringify(result))`
    const { stdout } = await promisify(execFile)(process.execPath, ['--input-type=module', '-e', script])
    expect(JSON.parse(stdout)).toEqual(Object.fromEntries(entries.map((name) => [name, true])))
  })

  test('the root export is the unplugin instance, whose plugin for each bundler is the one its entry gives', async () => {
    // unplugin makes a new function on each access of unplugin.vite, so the plugins are compared, not the functions.
    const script = `
      import { createRequire } from 'node:module'
      const root = await import('unplugin-asyncify')
      const cjs = createRequire(import.meta.url)('unplugin-asyncify')
      const shape = (plugin) => (typeof plugin.apply === 'function' ? 'a webpack-style plugin' : plugin.name)
      const result = { default: root.default === root.unplugin, require: cjs.unplugin === root.unplugin, factory: typeof root.unpluginFactory }
      for (const name of ${JSON.stringify(entries)}) {
        const entry = (await import('unplugin-asyncify/' + name)).default
        result[name] = shape(root.unplugin[name]()) === shape(entry()) ? shape(entry()) : 'differs from its entry'
      }
      console.log(JSON.stringify(result))`
    const { stdout } = await promisify(execFile)(process.execPath, ['--input-type=module', '-e', script])
    expect(JSON.parse(stdout)).toEqual({
      default: true,
      require: true,
      factory: 'function',
      vite: 'unplugin-asyncify',
      rollup: 'unplugin-asyncify',
      rolldown: 'unplugin-asyncify',
      webpack: 'a webpack-style plugin',
      rspack: 'a webpack-style plugin',
      esbuild: 'unplugin-asyncify',
    })
  })

  test('a bad option fails when the config loads, naming the option', async () => {
    const { default: asyncify } = await import('unplugin-asyncify/vite')
    expect(() => asyncify({ imports: ['sleep'] })).toThrow(/import pattern "sleep" must have the form "module.name"/)
    expect(() => asyncify({ inline: -1 })).toThrow(/asyncify\(\): inline must be true, false or a size in bytes/)
  })
})
