import { fileURLToPath } from 'node:url'
import type { ModuleReport, TransformReport } from '../transform/index.js'

/** What a `?asyncify` module tells the page about its own transform. */
export function moduleReport({ functions, size, asyncImports, suspendingExports, warnings }: TransformReport): ModuleReport {
  return { functions, size, asyncImports, suspendingExports, warnings }
}

/**
 * Id the generated modules import the loader by; `resolveId` maps it to the
 * installed file. Not a bare specifier, so Vite's dependency optimizer never
 * tries to pre-bundle it (it is not a package export).
 */
export const LOADER_ID = '/@asyncify/load-wasm'
export const LOADER_FILE = fileURLToPath(new URL('./load-wasm.js', import.meta.url))

/** How the generated module reaches the bytes. */
export type WasmSource =
  /**
   * A JS expression evaluating to the module's URL; `relative` when it may be
   * relative to the generated module (resolved against `import.meta.url`).
   */
  | { kind: 'url'; expression: string; relative: boolean }
  | { kind: 'inline'; bytes: Uint8Array }

/**
 * The JavaScript module that replaces `x.wasm?asyncify`: the default export
 * `init(imports?, options?) => Promise<instance>`, the build `report`, and
 * nothing that runs at import time.
 */
export function moduleCode(name: string, source: WasmSource, report: ModuleReport): string {
  const label = JSON.stringify(name)
  const reportLine = `export const report = ${JSON.stringify(report)}`
  if (source.kind === 'inline') {
    const base64 = JSON.stringify(Buffer.from(source.bytes).toString('base64'))
    return [
      `import { initFromBase64 } from ${JSON.stringify(LOADER_ID)}`,
      `export default function init(imports, options) {`,
      `  return initFromBase64(${base64}, ${label}, imports, options)`,
      `}`,
      reportLine,
      ``,
    ].join('\n')
  }
  return [
    `import { initFromUrl } from ${JSON.stringify(LOADER_ID)}`,
    `export default function init(imports, options) {`,
    // Not `new URL(literal, import.meta.url)`: Vite and webpack would rewrite that as a file reference.
    // webpack would otherwise bake the source file's path into a non-ESM bundle as `import.meta.url`.
    `  return initFromUrl(${source.expression}, ${source.relative ? 'import.meta.url' : 'undefined'}, ${label}, imports, options)`,
    `}`,
    reportLine,
    ``,
  ].join('\n')
}
