export { instantiate, asyncifyStats } from './instantiate.js'
export type { AsyncifiedInstance, InstantiateOptions, WasmSource } from './instantiate.js'
export type { AsyncifyStats, StackRegion } from './driver.js'
export {
  AsyncifyError,
  AsyncifyStackOverflowError,
  AsyncifyUnlistedImportError,
  type AsyncifyErrorCode,
} from './errors.js'
export { METADATA_SECTION, type AsyncifyMetadata } from './metadata.js'
