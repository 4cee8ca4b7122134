import { dirname, join } from 'node:path'
import { rspack as createRspack, type Configuration as RspackConfiguration } from '@rspack/core'
import { build as esbuild, type BuildOptions } from 'esbuild'
import { rolldown, type InputOptions as RolldownInputOptions } from 'rolldown'
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
 * Rolldown, esbuild, webpack and Rspack take options over these (`extra`)
 * and another output directory.
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

  async rolldown(dir: string, entry: string, options: AsyncifyPluginOptions, extra: RolldownInputOptions = {}, outDir = join(dir, 'dist-rolldown')) {
    const bundle = await rolldown({ input: join(dir, `${entry}.js`), plugins: [rolldownPlugin(options)], ...extra })
    try {
      await bundle.write({ dir: outDir, format: 'es' })
    } finally {
      await bundle.close()
    }
    return join(outDir, `${entry}.js`)
  },

  async esbuild(dir: string, entry: string, options: AsyncifyPluginOptions, extra: BuildOptions = {}, outDir = join(dir, 'dist-esbuild')) {
    await esbuild({
      entryPoints: [join(dir, `${entry}.js`)],
      bundle: true,
      format: 'esm',
      platform: 'node',
      outdir: outDir,
      absWorkingDir: dir,
      logLevel: 'silent',
      plugins: [esbuildPlugin(options)],
      ...extra,
    })
    return join(outDir, `${entry}.js`)
  },

  async webpack(dir: string, entry: string, options: AsyncifyPluginOptions, extra: WebpackConfiguration = {}, outDir = join(dir, 'dist-webpack')) {
    await runCompiler(
      webpack({
        mode: 'production',
        context: dir,
        entry: `./${entry}.js`,
        target: 'node',
        output: { path: outDir, filename: `${entry}.cjs`, library: { type: 'commonjs2' } },
        plugins: [webpackPlugin(options)],
        ...extra,
      }),
    )
    return join(outDir, `${entry}.cjs`)
  },

  async rspack(dir: string, entry: string, options: AsyncifyPluginOptions, extra: RspackConfiguration = {}, outDir = join(dir, 'dist-rspack')) {
    await runCompiler(
      createRspack({
        mode: 'production',
        context: dir,
        entry: `./${entry}.js`,
        target: 'node',
        output: { path: outDir, filename: `${entry}.cjs`, library: { type: 'commonjs2' } },
        plugins: [rspackPlugin(options)],
        ...extra,
      }) as WebpackLikeCompiler,
    )
    return join(outDir, `${entry}.cjs`)
  },
}

export type BundlerName = keyof typeof bundlers
export const bundlerNames = Object.keys(bundlers) as BundlerName[]

/** Whether each build of `bundlers` runs only on a server (Node), as the bundler sees it: what `optimize: 'auto'` decides by. */
export const serverOnly: Record<BundlerName, boolean> = { vite: false, rollup: false, rolldown: false, esbuild: true, webpack: true, rspack: true }

/**
 * A build of `dir/<entry>.js` for the other kind of target than `bundlers`'
 * (a server's for Vite and Rolldown, browsers' for esbuild, webpack and
 * Rspack), into `dir/dist-<bundler>-other`; returns that directory. Rollup has
 * no such setting: its bundles may run anywhere. webpack and Rspack keep
 * `bundlers`' library output: production mode then keeps the entry's exports
 * and what they import, for a browser target too.
 */
export const otherTarget: Partial<Record<BundlerName, (dir: string, entry: string, options: AsyncifyPluginOptions) => Promise<string>>> = {
  async vite(dir, entry, options) {
    const outDir = join(dir, 'dist-vite-other')
    await viteBuild({ root: dir, configFile: false, logLevel: 'silent', plugins: [vitePlugin(options)], build: { ssr: join(dir, `${entry}.js`), outDir, minify: false } })
    return outDir
  },
  rolldown: async (dir, entry, options) => dirname(await bundlers.rolldown(dir, entry, options, { platform: 'node' }, join(dir, 'dist-rolldown-other'))),
  esbuild: async (dir, entry, options) => dirname(await bundlers.esbuild(dir, entry, options, { platform: 'browser' }, join(dir, 'dist-esbuild-other'))),
  webpack: async (dir, entry, options) => dirname(await bundlers.webpack(dir, entry, options, { target: 'web' }, join(dir, 'dist-webpack-other'))),
  rspack: async (dir, entry, options) => dirname(await bundlers.rspack(dir, entry, options, { target: 'web' }, join(dir, 'dist-rspack-other'))),
}
