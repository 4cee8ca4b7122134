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
/** @internal Node's `require()` of this module returns it; kept out of the .d.ts (see tsconfig.build.json). */
export { asyncify as 'module.exports' }
export type { AsyncifyPluginOptions } from './index.js'
