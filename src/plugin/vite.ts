/**
 * The Vite plugin.
 *
 * @example
 * ```ts
 * // vite.config.ts
 * import asyncify from 'unplugin-asyncify/vite'
 * export default defineConfig({ plugins: [asyncify()] })
 * ```
 */
import { unplugin } from './index.js'

const asyncify = unplugin.vite

export default asyncify
/** @internal Node's `require()` of this module returns it (TypeScript 5.0 to 5.5 get declarations without it: see tsconfig.build-ts5.0.json). */
export { asyncify as 'module.exports' }
export type { AsyncifyPluginOptions } from './index.js'
