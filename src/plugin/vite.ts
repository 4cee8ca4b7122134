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
export { asyncify as 'module.exports' }
export type { AsyncifyPluginOptions } from './index.js'
