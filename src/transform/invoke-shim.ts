/*
 * The wasm module that answers binaryen.js's `invoke_*` imports in place of
 * Emscripten's JavaScript ones (binaryen-load.ts says why). Each invoke calls
 * its target through the module's own table, which the loader fills with a
 * copy of Binaryen's table, inside a legacy `try` (Node 20 has no
 * `try_table`): a C++ exception arrives as the `cpp` tag, which the loader's
 * wrappers of Binaryen's other imports throw instead of Emscripten's
 * JavaScript exception object while an invoke is running (`depth`), and is
 * handled as Emscripten's invoke does it (the C stack put back, `setThrew(1, 0)`,
 * a zero result nobody reads); anything else passes through.
 */
import type { Signature, WasmValueType } from '../runtime-shim/metadata.js'
import { concatBytes, encodeName, functionBody, leb, section, sleb, vector } from '../runtime-shim/wasm-writer.js'

/** Table slots of Binaryen's own exports the invokes call; Binaryen's table follows them. */
export const SHIM_SLOTS = { stackSave: 0, stackRestore: 1, setThrew: 2, binaryen: 3 } as const

const VALUE_TYPE: Partial<Record<WasmValueType, number>> = { i32: 0x7f, i64: 0x7e, f32: 0x7d, f64: 0x7c }
const ZERO: Partial<Record<WasmValueType, number[]>> = {
  i32: [0x41, 0],
  i64: [0x42, 0],
  f32: [0x43, 0, 0, 0, 0],
  f64: [0x44, 0, 0, 0, 0, 0, 0, 0, 0],
}

const op = {
  try: 0x06,
  catch: 0x07,
  rethrow: 0x09,
  catchAll: 0x19,
  callIndirect: 0x11,
  localGet: 0x20,
  localSet: 0x21,
  globalGet: 0x23,
  globalSet: 0x24,
  i32Const: 0x41,
  i32Add: 0x6a,
  i32Sub: 0x6b,
  end: 0x0b,
  emptyBlock: 0x40,
} as const

/** Whether an invoke of this signature can be written: the target's index first, numbers only, one result at most. */
export function canShimInvoke(signature: Signature): boolean {
  const [target, ...args] = signature.params
  return target === 'i32' && signature.results.length <= 1 && [...args, ...signature.results].every((type) => VALUE_TYPE[type] !== undefined)
}

/** The module's bytes; export `i<k>` answers `invokes[k]` (each accepted by canShimInvoke). */
export function invokeShim(invokes: Signature[]): Uint8Array {
  const types: Uint8Array[] = []
  const indices = new Map<string, number>()
  const typeIndex = (params: WasmValueType[], results: WasmValueType[]): number => {
    const entry = concatBytes([0x60], vector(params.map((type) => [VALUE_TYPE[type]!])), vector(results.map((type) => [VALUE_TYPE[type]!])))
    const key = entry.join(',')
    let index = indices.get(key)
    if (index === undefined) indices.set(key, (index = types.push(entry) - 1))
    return index
  }
  const tagType = typeIndex([], [])
  const stackSave = typeIndex([], ['i32'])
  const stackRestore = typeIndex(['i32'], [])
  const setThrew = typeIndex(['i32', 'i32'], [])
  const invokeTypes = invokes.map((signature) => typeIndex(signature.params, signature.results))

  const slot = (index: number) => [op.i32Const, ...sleb(index)]
  const depthBy = (change: number) => [op.globalGet, 0, op.i32Const, 1, change, op.globalSet, 0]
  const bodies = invokes.map(({ params, results }) => {
    const args = params.slice(1)
    const sp = params.length
    const result = results[0]
    return functionBody(
      [[VALUE_TYPE.i32!]],
      [
        ...depthBy(op.i32Add),
        ...slot(SHIM_SLOTS.stackSave), op.callIndirect, ...leb(stackSave), 0,
        op.localSet, ...leb(sp),
        op.try, result === undefined ? op.emptyBlock : VALUE_TYPE[result]!,
        ...args.flatMap((_, k) => [op.localGet, ...leb(k + 1)]),
        op.localGet, 0, op.i32Const, SHIM_SLOTS.binaryen, op.i32Add,
        op.callIndirect, ...leb(typeIndex(args, results)), 0,
        ...depthBy(op.i32Sub),
        op.catch, 0,
        ...depthBy(op.i32Sub),
        op.localGet, ...leb(sp), ...slot(SHIM_SLOTS.stackRestore), op.callIndirect, ...leb(stackRestore), 0,
        op.i32Const, 1, op.i32Const, 0, ...slot(SHIM_SLOTS.setThrew), op.callIndirect, ...leb(setThrew), 0,
        ...(result === undefined ? [] : ZERO[result]!),
        op.catchAll,
        ...depthBy(op.i32Sub),
        op.rethrow, 0,
        op.end,
      ],
    )
  })
  const exportEntry = (name: string, kind: number, index: number) => concatBytes(encodeName(name), [kind], leb(index))
  return concatBytes(
    [0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00],
    section(1, vector(types)),
    section(3, vector(invokeTypes.map((type) => leb(type)))),
    // Grown by the loader once Binaryen's table exists.
    section(4, vector([[0x70, 0x00, SHIM_SLOTS.binaryen]])),
    section(13, vector([[0x00, ...leb(tagType)]])),
    section(6, vector([[VALUE_TYPE.i32!, 1, op.i32Const, 0, op.end]])),
    section(
      7,
      vector([
        exportEntry('table', 1, 0),
        exportEntry('depth', 3, 0),
        exportEntry('cpp', 4, 0),
        ...invokes.map((_, k) => exportEntry(`i${k}`, 0, k)),
      ]),
    ),
    section(10, vector(bodies)),
  )
}
