/**
 * The Rolldown plugin.
 *
 * @example
 * ```ts
 * // rolldown.config.js
 * import asyncify from 'unplugin-asyncify/rolldown'
 * export default { plugins: [asyncify()] }
 * ```
 */
import { unplugin } from './index.js'

const asyncify = unplugin.rolldown

export default asyncify
export { asyncify as 'module.exports' }
export type { AsyncifyPluginOptions } from './index.js'
