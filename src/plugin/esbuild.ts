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
/** @internal Node's `require()` of this module returns it (TypeScript 5.0 to 5.5 get declarations without it: see tsconfig.build-ts5.0.json). */
export { asyncify as 'module.exports' }
export type { AsyncifyPluginOptions } from './index.js'
