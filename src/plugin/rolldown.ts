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
/** @internal Node's `require()` of this module returns it; kept out of the .d.ts (see tsconfig.build.json). */
export { asyncify as 'module.exports' }
export type { AsyncifyPluginOptions } from './index.js'
