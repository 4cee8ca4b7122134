/*
 * stack-pointer.ts's rule by shape, read from the bytes: the globals
 * with a constant, 16-aligned initial value that some function lowers by a
 * multiple of 16 and some function raises again, looking at the first and
 * last 24 statements of each body (nested blocks flattened), with what the
 * locals set before them hold: in the same window, or in the first window
 * for a local nothing between the windows writes (a large function's
 * epilogue reading the frame its prologue kept). A local written inside a
 * nested block or branch holds nothing known after it.
 */
import { WasmReader } from '../wasm-reader.js'
import type { ScannedModule } from '../scan.js'
import type { ModuleTypes, Node } from './body.js'
import { moduleTypesOf } from './module-types.js'
import { decodeBody, indexImmediate } from './decode.js'
import { localsWritten } from './local-writes.js'

const WINDOW = 24
const STACK_ALIGN = 16

type Symbolic = { global: number; lowered: boolean } | { constant: number } | null

/** Global indices shaped like the C stack pointer; null when a body cannot be decoded. */
export function globalsShapedLikeStackPointer(bytes: Uint8Array, scanned: ScannedModule): number[] | null {
  const bodies = codeBodies(bytes)
  const evidence = new Map<number, { lowered: boolean; raised: boolean }>()
  scanned.globals.forEach(({ mutable, type, initI32: init }, index) => {
    if (mutable && type === 'i32' && init !== null && init > 0 && init % STACK_ALIGN === 0) evidence.set(index, { lowered: false, raised: false })
  })
  if (evidence.size === 0) return []
  let module: ModuleTypes
  try {
    module = moduleTypesOf(scanned, bytes)
  } catch {
    return null
  }
  const imported = scanned.functions.filter((fn) => fn.imported).length
  for (const [k, body] of bodies.entries()) {
    let nodes: Node[]
    try {
      nodes = decodeBody(body, module.functions[imported + k]!.params, module).body
    } catch {
      return null
    }
    for (const change of frameChanges(nodes)) {
      const found = evidence.get(change.global)
      if (!found) continue
      if (change.lowered) found.lowered = true
      else found.raised = true
    }
  }
  return [...evidence].filter(([, found]) => found.lowered && found.raised).map(([index]) => index)
}

/** Each defined function's body bytes (local declarations and code), from the code section. */
export function codeBodies(bytes: Uint8Array): Uint8Array[] {
  const reader = new WasmReader(bytes, 8)
  while (reader.offset < bytes.length) {
    const id = reader.byte()
    const size = reader.u32()
    const end = reader.offset + size
    if (id === 10) {
      const bodies: Uint8Array[] = []
      for (let n = reader.u32(); n > 0; n--) {
        const length = reader.u32()
        bodies.push(bytes.subarray(reader.offset, reader.offset + length))
        reader.offset += length
      }
      return bodies
    }
    reader.offset = end
  }
  return []
}

/** Statements: top-level runs that leave the stack empty, nested blocks flattened. */
function statements(nodes: Node[]): Node[][] {
  const flat: Node[] = []
  const flatten = (list: Node[]) => {
    for (const node of list) {
      if (node.kind === 'block' && node.type.params.length === 0) flatten(node.body)
      else flat.push(node)
    }
  }
  flatten(nodes)
  const out: Node[][] = []
  let current: Node[] = []
  let height = 0
  for (const node of flat) {
    current.push(node)
    height += effect(node)
    if (height <= 0) {
      out.push(current)
      current = []
      height = 0
    }
  }
  if (current.length > 0) out.push(current)
  return out
}

function effect(node: Node): number {
  switch (node.kind) {
    case 'op':
      return node.pushes.length - node.pops.length
    case 'call':
      return node.type.results.length - node.type.params.length
    case 'call_indirect':
      return node.type.results.length - node.type.params.length - 1
    case 'block':
    case 'loop':
    case 'try':
      return node.type.results.length - node.type.params.length
    case 'if':
      return node.type.results.length - node.type.params.length - 1
    case 'br_if':
      return node.on ? node.on.pushes.length - node.on.pops.length : -1
    default:
      return -Infinity
  }
}

function frameChanges(nodes: Node[]): { global: number; lowered: boolean }[] {
  const all = statements(nodes)
  const changes: { global: number; lowered: boolean }[] = []
  // One stack and one pop for the whole body, not per statement: this runs over every body of the module.
  const stack: Symbolic[] = []
  const pop = () => stack.pop() ?? null
  const read = (window: Node[][], locals: Map<number, Symbolic>) => {
    for (const statement of window) {
      stack.length = 0
      for (const node of statement) {
        if (node.kind !== 'op') {
          // Opaque: what it takes and leaves, as unknowns; what it writes, unknown after it.
          const on = node.kind === 'br_if' ? node.on : undefined
          const taken = node.kind === 'call' ? node.type.params.length : node.kind === 'call_indirect' ? node.type.params.length + 1 : on ? on.pops.length : node.kind === 'if' || node.kind === 'br_if' ? 1 : 0
          for (let i = 0; i < taken; i++) pop()
          const left = node.kind === 'call' || node.kind === 'call_indirect' || node.kind === 'block' || node.kind === 'loop' || node.kind === 'if' || node.kind === 'try' ? node.type.results.length : on ? on.pushes.length : 0
          for (let i = 0; i < left; i++) stack.push(null)
          if (locals.size > 0 && node.kind !== 'call' && node.kind !== 'call_indirect') for (const local of localsWritten([[node]])) locals.delete(local)
          continue
        }
        const code = node.bytes[0]!
        if (code === 0x41) stack.push({ constant: new WasmReader(node.bytes, 1).s32() })
        else if (code === 0x23) stack.push({ global: indexImmediate(node.bytes), lowered: false })
        else if (code === 0x20) stack.push(locals.get(indexImmediate(node.bytes)) ?? null)
        else if (code === 0x21 || code === 0x22) {
          const value = pop()
          const local = indexImmediate(node.bytes)
          if (value) locals.set(local, value)
          else locals.delete(local)
          if (code === 0x22) stack.push(value)
        } else if (code === 0x24) {
          const value = pop()
          const global = indexImmediate(node.bytes)
          if (value && 'global' in value && value.global === global) changes.push({ global, lowered: value.lowered })
        } else if (code === 0x6b || code === 0x71 || code === 0x6a) {
          const amount = pop()
          const base = pop()
          stack.push(arithmetic(code, base, amount))
        } else {
          for (let i = 0; i < node.pops.length; i++) pop()
          for (let i = 0; i < node.pushes.length; i++) stack.push(null)
        }
      }
    }
    return locals
  }
  if (all.length <= 2 * WINDOW) {
    read(all, new Map())
    return changes
  }
  const first = read(all.slice(0, WINDOW), new Map())
  // A large function's epilogue gives back the frame from the local its prologue kept (Emscripten's optimized
  // output): what the first window left in a local holds in the last one when nothing between writes it.
  const between = all.slice(WINDOW, -WINDOW)
  const written = localsWritten(between)
  const kept = new Map([...first].filter(([local, value]) => value !== null && 'global' in value && !written.has(local)))
  read(all.slice(-WINDOW), kept)
  return changes
}

function arithmetic(code: number, base: Symbolic, amount: Symbolic): Symbolic {
  if (!base || !('global' in base) || !amount || !('constant' in amount)) return null
  if (code === 0x6b && amount.constant > 0 && amount.constant % STACK_ALIGN === 0) return { global: base.global, lowered: true }
  // Frames with over-aligned locals round the lowered pointer down.
  if (code === 0x71 && base.lowered && amount.constant < 0 && amount.constant % STACK_ALIGN === 0) return base
  if (code === 0x6a && amount.constant > 0 && amount.constant % STACK_ALIGN === 0) return { global: base.global, lowered: false }
  return null
}
