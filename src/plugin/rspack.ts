/**
 * The Rspack plugin.
 *
 * @example
 * ```ts
 * // rspack.config.js
 * const asyncify = require('unplugin-asyncify/rspack')
 * module.exports = { plugins: [asyncify()] }
 * ```
 */
import { unplugin } from './index.js'

const asyncify = unplugin.rspack

export default asyncify
export { asyncify as 'module.exports' }
export type { AsyncifyPluginOptions } from './index.js'
