import { join } from 'node:path'
import { rspack as createRspack, type Configuration as RspackConfiguration } from '@rspack/core'
import { build as esbuild } from 'esbuild'
import { rolldown } from 'rolldown'
import { rollup } from 'rollup'
import esbuildPlugin from 'unplugin-asyncify/esbuild'
import rolldownPlugin from 'unplugin-asyncify/rolldown'
import rollupPlugin from 'unplugin-asyncify/rollup'
import rspackPlugin from 'unplugin-asyncify/rspack'
import vitePlugin from 'unplugin-asyncify/vite'
import webpackPlugin from 'unplugin-asyncify/webpack'
import { build as viteBuild } from 'vite'
import webpack, { type Configuration as WebpackConfiguration } from 'webpack'
import type { AsyncifyPluginOptions } from '../../src/plugin/options.js'

/**
 * Builds `dir/<entry>.js` into `dir/dist-<bundler>` with each bundler's own
 * programmatic API, for Node, and returns the path of the bundle to run.
 */

/** What webpack's and Rspack's compilers share, as much of it as a build needs. */
export type WebpackLikeCompiler = {
  run(callback: (error: Error | null, stats?: { hasErrors(): boolean; toString(options: 'errors-only'): string }) => void): void
  close(callback: () => void): void
}

/** Runs a webpack or Rspack compiler once; rejects with its errors. */
export function runCompiler(compiler: WebpackLikeCompiler): Promise<void> {
  return new Promise((resolve, reject) => {
    compiler.run((error, stats) => {
      compiler.close(() => {
        if (error) return reject(error)
        if (!stats || stats.hasErrors()) return reject(new Error(stats?.toString('errors-only')))
        resolve()
      })
    })
  })
}

export const bundlers = {
  async vite(dir: string, entry: string, options: AsyncifyPluginOptions) {
    const outDir = join(dir, 'dist-vite')
    await viteBuild({
      root: dir,
      configFile: false,
      logLevel: 'silent',
      base: './',
      plugins: [vitePlugin(options)],
      build: {
        outDir,
        minify: false,
        rollupOptions: { input: join(dir, `${entry}.js`), preserveEntrySignatures: 'strict', output: { entryFileNames: '[name].js' } },
      },
    })
    return join(outDir, `${entry}.js`)
  },

  async rollup(dir: string, entry: string, options: AsyncifyPluginOptions) {
    const bundle = await rollup({ input: join(dir, `${entry}.js`), plugins: [rollupPlugin(options)] })
    try {
      await bundle.write({ dir: join(dir, 'dist-rollup'), format: 'es' })
    } finally {
      await bundle.close()
    }
    return join(dir, 'dist-rollup', `${entry}.js`)
  },

  async rolldown(dir: string, entry: string, options: AsyncifyPluginOptions) {
    const bundle = await rolldown({ input: join(dir, `${entry}.js`), plugins: [rolldownPlugin(options)] })
    try {
      await bundle.write({ dir: join(dir, 'dist-rolldown'), format: 'es' })
    } finally {
      await bundle.close()
    }
    return join(dir, 'dist-rolldown', `${entry}.js`)
  },

  async esbuild(dir: string, entry: string, options: AsyncifyPluginOptions) {
    await esbuild({
      entryPoints: [join(dir, `${entry}.js`)],
      bundle: true,
      format: 'esm',
      platform: 'node',
      outdir: join(dir, 'dist-esbuild'),
      absWorkingDir: dir,
      logLevel: 'silent',
      plugins: [esbuildPlugin(options)],
    })
    return join(dir, 'dist-esbuild', `${entry}.js`)
  },

  async webpack(dir: string, entry: string, options: AsyncifyPluginOptions, extra: WebpackConfiguration = {}) {
    await runCompiler(
      webpack({
        mode: 'production',
        context: dir,
        entry: `./${entry}.js`,
        target: 'node',
        output: { path: join(dir, 'dist-webpack'), filename: `${entry}.cjs`, library: { type: 'commonjs2' } },
        plugins: [webpackPlugin(options)],
        ...extra,
      }),
    )
    return join(dir, 'dist-webpack', `${entry}.cjs`)
  },

  async rspack(dir: string, entry: string, options: AsyncifyPluginOptions, extra: RspackConfiguration = {}) {
    await runCompiler(
      createRspack({
        mode: 'production',
        context: dir,
        entry: `./${entry}.js`,
        target: 'node',
        output: { path: join(dir, 'dist-rspack'), filename: `${entry}.cjs`, library: { type: 'commonjs2' } },
        plugins: [rspackPlugin(options)],
        ...extra,
      }) as WebpackLikeCompiler,
    )
    return join(dir, 'dist-rspack', `${entry}.cjs`)
  },
}

export type BundlerName = keyof typeof bundlers
export const bundlerNames = Object.keys(bundlers) as BundlerName[]
