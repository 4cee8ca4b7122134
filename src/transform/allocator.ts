/*
 * The program's own allocator, for the runtime's suspended state. Old
 * dlmalloc (Debian's wasi-libc), Emscripten's sbrk and bump allocators treat
 * every page below `memory.size` as theirs at their first allocation, so pages
 * the runtime grew itself can be handed out as heap later. Memory from
 * `malloc` is the only memory such a program will never reuse behind our back.
 *
 * The export is added before optimizing: it keeps `malloc` a function of its
 * own (the inliner could otherwise fold a once-called `malloc` into its
 * caller and leave the heap with no entry point the runtime could use).
 */
import { MALLOC_EXPORT } from '../runtime-shim/metadata.js'
import type { ExportEntry } from './analyse.js'
import type { Binaryen, BinaryenModule } from './binaryen.js'

const MALLOC = 'malloc'

/** Binaryen's name of the program's `malloc` (by its export, else by its name), when it has an i32 -> i32 one. */
export function findAllocator(binaryen: Binaryen, module: BinaryenModule, exports: ExportEntry[]): string | null {
  const exported = exports.find((entry) => entry.kind === binaryen.ExternalFunction && entry.name === MALLOC)
  const name = exported?.value ?? MALLOC
  const fn = module.getFunction(name)
  if (!fn) return null
  const info = binaryen.getFunctionInfo(fn)
  if (info.module || info.params !== binaryen.i32 || info.results !== binaryen.i32) return null
  return name
}

/** Exports `malloc` for the runtime; false when there is none. */
export function exposeAllocator(binaryen: Binaryen, module: BinaryenModule, exports: ExportEntry[]): boolean {
  const name = findAllocator(binaryen, module, exports)
  if (name === null) return false
  module.addFunctionExport(name, MALLOC_EXPORT)
  return true
}
