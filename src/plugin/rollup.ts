/**
 * The Rollup plugin.
 *
 * @example
 * ```ts
 * // rollup.config.js
 * import asyncify from 'unplugin-asyncify/rollup'
 * export default { plugins: [asyncify()] }
 * ```
 */
import { unplugin } from './index.js'

const asyncify = unplugin.rollup

export default asyncify
export { asyncify as 'module.exports' }
export type { AsyncifyPluginOptions } from './index.js'
