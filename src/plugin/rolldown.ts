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
/** @internal Node's `require()` of this module returns it (TypeScript 5.0 to 5.5 get declarations without it: see tsconfig.build-ts5.0.json). */
export { asyncify as 'module.exports' }
export type { AsyncifyPluginOptions } from './index.js'
