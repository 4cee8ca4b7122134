export { instantiate, asyncifyStats } from './instantiate.js'
export type { AsyncifiedInstance, InstantiateOptions, WasmPaths, WasmSource } from './instantiate.js'
export type { InstantiateMode } from './options.js'
export type { AsyncImports, UntypedExports } from './types.js'
export { hasJspi } from './jspi-driver.js'
export type { AsyncifyStats, StackRegion } from './asyncify-driver.js'
export {
  AsyncifyError,
  AsyncifyStackOverflowError,
  AsyncifyUnlistedImportError,
  type AsyncifyErrorCode,
} from './errors.js'
export { METADATA_SECTION, type AsyncifyMetadata, type SuspendEngine } from './metadata.js'
