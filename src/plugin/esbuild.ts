/**
 * The esbuild plugin.
 *
 * @example
 * ```ts
 * import { build } from 'esbuild'
 * import asyncify from 'unplugin-asyncify/esbuild'
 * await build({ entryPoints: ['src/main.ts'], bundle: true, format: 'esm', outdir: 'dist', plugins: [asyncify()] })
 * ```
 */
import { unplugin } from './index.js'

const asyncify = unplugin.esbuild

export default asyncify
/** @internal Node's `require()` of this module returns it; kept out of the .d.ts (see tsconfig.build.json). */
export { asyncify as 'module.exports' }
export type { AsyncifyPluginOptions } from './index.js'
