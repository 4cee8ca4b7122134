/*
 * Loads binaryen.js with its C++ exception plumbing kept in wasm.
 *
 * binaryen.js is built with Emscripten's JavaScript exception handling: a
 * call that may throw past a destructor leaves wasm for a JavaScript
 * `invoke_*` import, which calls back into wasm inside a `try`. One
 * transform of QuickJS makes about a hundred million of those round trips,
 * a quarter of its time. So while binaryen.js instantiates its module, the
 * invoke imports are answered by a small wasm module of ours that does the
 * same in wasm (invoke-shim.ts); Binaryen's other imports are wrapped to
 * throw a C++ exception as that module's tag while an invoke is running, and
 * as Emscripten's own object otherwise, so that what leaves Binaryen is what
 * always left it.
 *
 * Everything is recognized from the module and the glue as they are; when
 * anything differs from what this expects (another binaryen.js build), the
 * imports stay Emscripten's and only the speed differs.
 */
import { canShimInvoke, invokeShim, SHIM_SLOTS } from './invoke-shim.js'
import type { Binaryen } from './binaryen.js'
import { scanModule, type ScannedLayout } from './scan.js'
import { WasmReader } from './wasm-reader.js'
import { leb, sleb } from '../runtime-shim/wasm-writer.js'

export interface LoadedBinaryen {
  binaryen: Binaryen
  /** How many of Binaryen's invoke imports run in wasm; 0 when Emscripten's JavaScript ones are kept. */
  wasmInvokes: number
}

type Imports = Record<string, Record<string, unknown>>
type AnyFunction = (...args: unknown[]) => unknown

/** The exception-handling JavaScript API (Node 18 and later), which TypeScript's lib does not declare. */
const { Exception } = WebAssembly as unknown as { Exception?: new (tag: unknown, payload: unknown[]) => object }

/** Emscripten's invoke: `function name(index, ...args) { var sp = stackSave(); try { return getTable(index)(...args) } catch ...`. */
const INVOKE = /^function [\w$]*\(([\w$]+)[^)]*\)\{var ([\w$]+)=[\w$]+\(\);try\{(?:return )?[\w$]+\(\1\)\(/

export async function loadBinaryen(): Promise<LoadedBinaryen> {
  const original = WebAssembly.instantiate
  let wasmInvokes = 0
  const instantiate = async (source: BufferSource, imports: Imports) => {
    WebAssembly.instantiate = original
    const bytes = ArrayBuffer.isView(source) ? new Uint8Array(source.buffer, source.byteOffset, source.byteLength) : new Uint8Array(source)
    const wiring = wireInvokes(bytes, imports)
    const result = await original(source, (wiring?.imports ?? imports) as WebAssembly.Imports)
    if (wiring) {
      wiring.connect(result.instance)
      wasmInvokes = wiring.count
    }
    return result
  }
  WebAssembly.instantiate = instantiate as typeof WebAssembly.instantiate
  try {
    const binaryen = (await import('binaryen')).default
    return { binaryen, wasmInvokes }
  } finally {
    WebAssembly.instantiate = original
  }
}

export interface Wiring {
  /** The imports to instantiate with: the invokes in wasm, the other imports wrapped. */
  imports: Imports
  /** Gives the invokes Binaryen's table and the three exports they call, once the instance exists. */
  connect(instance: WebAssembly.Instance): void
  /** How many invoke imports run in wasm. */
  count: number
}

/** What loadBinaryen does to the module Emscripten's glue instantiates: null when it does not recognize it. */
export function wireInvokes(bytes: Uint8Array, imports: Imports): Wiring | null {
  let scanned: ScannedLayout
  try {
    scanned = scanModule(bytes, { code: false })
  } catch {
    return null
  }
  const helpers = stackHelpers(bytes, scanned)
  const tables = scanned.exports.filter((entry) => entry.kind === 'table')
  if (helpers === null || tables.length !== 1) return null

  const invokes: { module: string; name: string; index: number }[] = []
  const others: { module: string; name: string }[] = []
  for (const [index, fn] of scanned.functions.entries()) {
    if (fn.imported === null) continue
    const value = imports[fn.imported.module]?.[fn.imported.name]
    if (typeof value !== 'function') return null
    if (INVOKE.test(Function.prototype.toString.call(value))) {
      if (!canShimInvoke(fn.type) || value.length !== fn.type.params.length) return null
      invokes.push({ ...fn.imported, index })
    } else others.push(fn.imported)
  }
  if (invokes.length === 0 || Exception === undefined) return null
  const shimBytes = invokeShim(invokes.map(({ index }) => scanned.functions[index]!.type)) as Uint8Array<ArrayBuffer>
  if (!WebAssembly.validate(shimBytes)) return null
  const shim = new WebAssembly.Instance(new WebAssembly.Module(shimBytes)).exports
  const depth = shim.depth as WebAssembly.Global
  const tag = shim.cpp

  const wired: Imports = Object.fromEntries(Object.entries(imports).map(([module, entries]) => [module, { ...entries }]))
  invokes.forEach(({ module, name }, k) => (wired[module]![name] = shim[`i${k}`]))
  for (const { module, name } of others) {
    const fn = imports[module]![name] as AnyFunction
    wired[module]![name] = (...args: unknown[]) => {
      try {
        return fn(...args)
      } catch (error) {
        throw depth.value > 0 && isCppException(error) ? new Exception(tag, []) : error
      }
    }
  }
  return {
    imports: wired,
    count: invokes.length,
    connect(instance) {
      const table = shim.table as WebAssembly.Table
      const theirs = instance.exports[tables[0]!.name] as WebAssembly.Table
      table.grow(theirs.length)
      for (let i = 0; i < theirs.length; i++) table.set(SHIM_SLOTS.binaryen + i, theirs.get(i))
      table.set(SHIM_SLOTS.stackSave, instance.exports[helpers.stackSave] as AnyFunction)
      table.set(SHIM_SLOTS.stackRestore, instance.exports[helpers.stackRestore] as AnyFunction)
      table.set(SHIM_SLOTS.setThrew, instance.exports[helpers.setThrew] as AnyFunction)
    },
  }
}

/**
 * What Emscripten's glue throws for a C++ exception: an object of its own
 * exception class. Its other throws are Errors (abort, assertions) and the
 * ExitStatus of `exit`, which an invoke lets pass.
 */
function isCppException(error: unknown): boolean {
  return (
    typeof error === 'object' &&
    error !== null &&
    !(error instanceof Error) &&
    !(Exception !== undefined && error instanceof Exception) &&
    (error as { name?: unknown }).name !== 'ExitStatus'
  )
}

/**
 * The export names of Emscripten's stackSave (`global.get $sp`),
 * stackRestore (`global.set $sp` of its argument) and setThrew (two stores
 * when nothing was thrown yet), recognized by their code.
 */
function stackHelpers(bytes: Uint8Array, scanned: ScannedLayout): { stackSave: string; stackRestore: string; setThrew: string } | null {
  const imported = scanned.functions.filter((fn) => fn.imported !== null).length
  const saves = new Map<number, string>()
  const restores = new Map<number, string>()
  const threws: string[] = []
  for (const entry of scanned.exports) {
    if (entry.kind !== 'function' || entry.index < imported) continue
    const body = scanned.bodies[entry.index - imported]!
    // Only bodies without locals: a body's declarations end with a value type, never 0.
    if (bytes[body.codeStart - 1] !== 0) continue
    const code = bytes.subarray(body.codeStart, body.codeStart - 1 + body.size)
    const { params, results } = scanned.functions[entry.index]!.type
    const signature = `${params.join(',')}->${results.join(',')}`
    // The global an accessor's code names, after its first one or three bytes.
    const global = (at: number) => (code.length > at + 1 ? new WasmReader(code, at).u32() : -1)
    if (signature === '->i32' && sameBytes(code, [0x23, ...leb(global(1)), 0x0b])) saves.set(global(1), entry.name)
    else if (signature === 'i32->' && sameBytes(code, [0x20, 0x00, 0x24, ...leb(global(3)), 0x0b])) restores.set(global(3), entry.name)
    else if (signature === 'i32,i32->' && isSetThrew(code)) threws.push(entry.name)
  }
  const pointer = [...restores.keys()].filter((global) => saves.has(global))
  if (pointer.length !== 1 || threws.length !== 1) return null
  return { stackSave: saves.get(pointer[0]!)!, stackRestore: restores.get(pointer[0]!)!, setThrew: threws[0]! }
}

/** `if (*threw == 0) { *value = $1; *threw = $0 }`, the two addresses constants. */
function isSetThrew(code: Uint8Array): boolean {
  if (code[0] !== 0x41) return false
  const reader = new WasmReader(code, 1)
  const threw = reader.s32()
  const after = reader.offset + 7
  if (after >= code.length) return false
  const value = new WasmReader(code, after).s32()
  const expected = [
    0x41, ...sleb(threw), 0x28, 2, 0, 0x45, 0x04, 0x40,
    0x41, ...sleb(value), 0x20, 1, 0x36, 2, 0,
    0x41, ...sleb(threw), 0x20, 0, 0x36, 2, 0,
    0x0b, 0x0b,
  ]
  return sameBytes(code, expected)
}

function sameBytes(code: Uint8Array, expected: number[]): boolean {
  return code.length === expected.length && expected.every((byte, i) => code[i] === byte)
}
