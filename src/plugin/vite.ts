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
/** @internal Node's `require()` of this module returns it; kept out of the .d.ts (see tsconfig.build.json). */
export { asyncify as 'module.exports' }
export type { AsyncifyPluginOptions } from './index.js'
