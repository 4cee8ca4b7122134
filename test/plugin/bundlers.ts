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

/** Whether each build of `bundlers` runs only on a server (Node), as the bundler sees it: what `optimize: 'auto'` decides by. */
export const serverOnly: Record<BundlerName, boolean> = { vite: false, rollup: false, rolldown: false, esbuild: true, webpack: true, rspack: true }

/**
 * A build of `dir/<entry>.js` for the other kind of target than `bundlers`'
 * (a server's for Vite and Rolldown, browsers' for esbuild, webpack and
 * Rspack), into `dir/dist-<bundler>-other`; returns that directory. Rollup has
 * no such setting: its bundles may run anywhere.
 */
export const otherTarget: Partial<Record<BundlerName, (dir: string, entry: string, options: AsyncifyPluginOptions) => Promise<string>>> = {
  async vite(dir, entry, options) {
    const outDir = join(dir, 'dist-vite-other')
    await viteBuild({ root: dir, configFile: false, logLevel: 'silent', plugins: [vitePlugin(options)], build: { ssr: join(dir, `${entry}.js`), outDir, minify: false } })
    return outDir
  },

  async rolldown(dir, entry, options) {
    const outDir = join(dir, 'dist-rolldown-other')
    const bundle = await rolldown({ input: join(dir, `${entry}.js`), platform: 'node', plugins: [rolldownPlugin(options)] })
    try {
      await bundle.write({ dir: outDir, format: 'es' })
    } finally {
      await bundle.close()
    }
    return outDir
  },

  async esbuild(dir, entry, options) {
    const outdir = join(dir, 'dist-esbuild-other')
    await esbuild({
      entryPoints: [join(dir, `${entry}.js`)],
      bundle: true,
      format: 'esm',
      platform: 'browser',
      outdir,
      absWorkingDir: dir,
      logLevel: 'silent',
      plugins: [esbuildPlugin(options)],
    })
    return outdir
  },

  async webpack(dir, entry, options) {
    const path = join(dir, 'dist-webpack-other')
    // As a library, so that production mode keeps the entry's exports and what they import.
    await bundlers.webpack(dir, entry, options, { target: 'web', output: { path, filename: `${entry}.cjs`, library: { type: 'commonjs2' } } })
    return path
  },

  async rspack(dir, entry, options) {
    const path = join(dir, 'dist-rspack-other')
    // As a library, so that production mode keeps the entry's exports and what they import.
    await bundlers.rspack(dir, entry, options, { target: 'web', output: { path, filename: `${entry}.cjs`, library: { type: 'commonjs2' } } })
    return path
  },
}
