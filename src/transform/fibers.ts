/*
 * Fibers (include/asyncify.h): many stacks in one instance. The runtime
 * answers the import `unplugin-asyncify.fiber_switch` by unwinding the
 * running fiber into its own Asyncify buffer and rewinding (or starting)
 * another, within the same JavaScript call. A fiber starts at the function
 * its creator named, called through the module's function table, so the
 * transform adds `__asyncify_fiber_entry(fn, arg)`, which makes that call,
 * before anything reads the module: the call graph and Asyncify then see it
 * like the program's own code (it reaches every function of its signature
 * that is in the table), and the runtime rewinds a fiber by calling it again.
 *
 * Only Asyncify can run fibers: JSPI suspends a stack to the event loop and
 * resumes it from there, never switches to another one synchronously.
 */
import { AsyncifyError } from '../runtime-shim/errors.js'
import { FIBER_ENTRY_EXPORT, FIBER_IMPORTS, GUEST_API_MODULE } from '../runtime-shim/metadata.js'
import { concatBytes, leb, section } from '../runtime-shim/wasm-writer.js'
import { countTypes } from './scan.js'
import { withExports } from './wasm-sections.js'
import { WasmReader } from './wasm-reader.js'

const [TYPE, IMPORT, FUNCTION, TABLE, CODE] = [1, 2, 3, 4, 10]
const [I32, LOCAL_GET, CALL_INDIRECT, END] = [0x7f, 0x20, 0x11, 0x0b]

/** Whether the module imports the switch, the one fiber call that suspends. */
export function usesFibers(imports: { module: string; base: string }[]): boolean {
  return imports.some((entry) => entry.module === GUEST_API_MODULE && entry.base === FIBER_IMPORTS.switch)
}

/** Why a module that uses fibers has no JSPI build, for the report and for mode "jspi"'s error. */
export const FIBERS_NEED_ASYNCIFY =
  `it uses fibers (${GUEST_API_MODULE}.${FIBER_IMPORTS.switch}), which only Asyncify can run: ` +
  `JSPI resumes a suspended stack from the event loop and cannot switch to another one synchronously`

/** Mode "jspi"'s refusal of a module that uses fibers. */
export function fibersNeedAsyncify(filename: string): AsyncifyError {
  return new AsyncifyError('ASYNCIFY_FIBERS_NEED_ASYNCIFY', `${filename}: cannot build for JSPI alone: ${FIBERS_NEED_ASYNCIFY}; build with mode "auto" or "asyncify"`)
}

interface Section {
  start: number
  end: number
  /** Where its vector's items start, and how many there are. */
  items: number
  count: number
}

/**
 * The module with `__asyncify_fiber_entry` added when it imports the fiber
 * switch, else `bytes` itself. Appended after every function and type, so no
 * index moves.
 */
export function withFiberEntry(bytes: Uint8Array, filename: string): Uint8Array {
  try {
    return addFiberEntry(bytes, filename)
  } catch (error) {
    // Bytes that do not parse are Binaryen's to report, with its diagnosis.
    if (error instanceof AsyncifyError) throw error
    return bytes
  }
}

function addFiberEntry(bytes: Uint8Array, filename: string): Uint8Array {
  const sections = new Map<number, Section>()
  let importedFunctions = 0
  let importsTable = false
  let switches = false
  let typeCount = 0
  const reader = new WasmReader(bytes, 8)
  while (reader.offset < bytes.length) {
    const start = reader.offset
    const id = reader.byte()
    const end = reader.u32() + reader.offset
    if (id !== 0 && !sections.has(id)) {
      if (id === TYPE) typeCount = countTypes(new WasmReader(bytes, reader.offset))
      const count = id === TYPE || id === IMPORT || id === FUNCTION || id === CODE ? reader.u32() : 0
      sections.set(id, { start, end, items: reader.offset, count })
      if (id === IMPORT) {
        for (let n = count; n > 0; n--) {
          const { module, name, kind } = reader.importEntry()
          if (kind === 0) importedFunctions++
          if (kind === 0 && module === GUEST_API_MODULE && name === FIBER_IMPORTS.switch) switches = true
          if (kind === 1) importsTable = true
        }
      }
    }
    reader.offset = end
  }
  // Without functions of its own, nothing in the module can call the switch.
  if (!switches || !sections.has(FUNCTION) || !sections.has(CODE)) return bytes
  if (!importsTable && !sections.has(TABLE)) {
    throw new AsyncifyError(
      'ASYNCIFY_FIBERS_NO_TABLE',
      `${filename}: the module calls ${GUEST_API_MODULE}.${FIBER_IMPORTS.switch} but has no function table, so no fiber can be started; ` +
        `create fibers with a pointer to their entry function (clang and Rust then give the module a table)`,
    )
  }
  const takesI32 = typeCount
  const entryType = typeCount + 1
  const definedFunctions = sections.get(FUNCTION)!.count
  const body = concatBytes([0], [LOCAL_GET, 1, LOCAL_GET, 0, CALL_INDIRECT], leb(takesI32), [0, END])
  const replaced = new Map<number, Uint8Array>([
    [TYPE, withItems(bytes, sections.get(TYPE), TYPE, [[0x60, 1, I32, 0], [0x60, 2, I32, I32, 0]])],
    [FUNCTION, withItems(bytes, sections.get(FUNCTION), FUNCTION, [leb(entryType)])],
    [CODE, withItems(bytes, sections.get(CODE), CODE, [concatBytes(leb(body.length), body)])],
  ])
  const out: (Uint8Array | number[])[] = [bytes.subarray(0, 8)]
  let offset = 8
  const order = [...sections.entries()].sort((a, b) => a[1].start - b[1].start)
  for (const [id, where] of order) {
    if (!replaced.has(id)) continue
    out.push(bytes.subarray(offset, where.start), replaced.get(id)!)
    offset = where.end
  }
  out.push(bytes.subarray(offset))
  const index = importedFunctions + definedFunctions
  return withExports(concatBytes(...out), [{ name: FIBER_ENTRY_EXPORT, kind: 0, index }])
}

/** Section `id` with `added` items after its own. */
function withItems(bytes: Uint8Array, where: Section | undefined, id: number, added: (Uint8Array | number[])[]): Uint8Array {
  return section(id, concatBytes(leb(where!.count + added.length), bytes.subarray(where!.items, where!.end), ...added))
}
