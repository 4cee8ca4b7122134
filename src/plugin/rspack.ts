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
/** @internal Node's `require()` of this module returns it (TypeScript 5.0 to 5.5 get declarations without it: see tsconfig.build-ts5.0.json). */
export { asyncify as 'module.exports' }
export type { AsyncifyPluginOptions } from './index.js'
