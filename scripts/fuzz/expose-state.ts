import { WasmReader } from '../../src/transform/wasm-reader.js'
import { concatBytes as concat, encodeName, leb } from '../../src/runtime-shim/wasm-writer.js'

/**
 * Rewrites a translate-to-fuzz binary so that its state can be compared and
 * is not mistaken for clang's:
 *   - every global gets a name (`g<index>`) in the name section. wasm-opt 108
 *     writes names only for globals it considers explicitly named, none in a
 *     ttf module, and without global names the transform takes a mutable i32
 *     global 0 for clang's stack pointer: the runtime would then reset a
 *     program variable after every suspending call.
 *   - every mutable scalar global is exported as `fuzz-global:g<index>`, and
 *     the memory as `memory` when it is not exported yet, so the final values
 *     of both runs can be compared.
 * Binary surgery rather than a text round trip: Binaryen 108 prints some
 * unreachable code as text that it then refuses to parse back.
 */
export function exposeState(bytes: Uint8Array): Uint8Array {
  const sections = splitSections(bytes)
  const globals: { mutable: boolean; scalar: boolean }[] = []
  let memories = 0
  let exportedMemory = false
  for (const section of sections) {
    const reader = new WasmReader(section.payload)
    if (section.id === 2) {
      for (let count = reader.u32(); count > 0; count--) {
        reader.name()
        reader.name()
        const kind = reader.byte()
        if (kind === 0) reader.u32()
        else if (kind === 1) {
          reader.byte()
          reader.limits()
        } else if (kind === 2) {
          reader.limits()
          memories++
        } else if (kind === 3) {
          const type = reader.byte()
          globals.push({ mutable: reader.byte() === 1, scalar: type >= 0x7c })
        } else throw new Error(`unexpected import kind ${kind}`)
      }
    } else if (section.id === 5) {
      memories += reader.u32()
    } else if (section.id === 6) {
      for (let count = reader.u32(); count > 0; count--) {
        const type = reader.byte()
        globals.push({ mutable: reader.byte() === 1, scalar: type >= 0x7c })
        reader.constantExpression()
      }
    } else if (section.id === 7) {
      for (let count = reader.u32(); count > 0; count--) {
        reader.name()
        if (reader.byte() === 2) exportedMemory = true
        reader.u32()
      }
    }
  }

  const added: Uint8Array[] = []
  globals.forEach((global, index) => {
    if (global.mutable && global.scalar) added.push(concat(encodeName(`fuzz-global:g${index}`), [3], leb(index)))
  })
  if (memories > 0 && !exportedMemory) added.push(concat(encodeName('memory'), [2], leb(0)))
  const exports = sections.find((section) => section.id === 7)
  if (!exports) throw new Error('a ttf module always exports hangLimitInitializer; this one has no export section')
  const reader = new WasmReader(exports.payload)
  const count = reader.u32()
  exports.payload = concat(leb(count + added.length), exports.payload.subarray(reader.offset), ...added)

  const globalNames = concat(
    leb(globals.length),
    ...globals.map((_, index) => concat(leb(index), encodeName(`g${index}`))),
  )
  const nameSection = sections.find((section) => section.id === 0 && section.customName === 'name')
  if (nameSection) nameSection.payload = withSubsection(nameSection.payload, 7, globalNames, nameSection.nameLength)
  else sections.push({ id: 0, customName: 'name', nameLength: 5, payload: concat(encodeName('name'), [7], leb(globalNames.length), globalNames) })

  return concat(
    bytes.subarray(0, 8),
    ...sections.map((section) => concat([section.id], leb(section.payload.length), section.payload)),
  )
}

interface Section {
  id: number
  /** For custom sections: the name, and the length of its encoding at the start of the payload. */
  customName?: string
  nameLength?: number
  payload: Uint8Array
}

function splitSections(bytes: Uint8Array): Section[] {
  const reader = new WasmReader(bytes, 8)
  const sections: Section[] = []
  while (reader.offset < bytes.length) {
    const id = reader.byte()
    const size = reader.u32()
    const payload = bytes.subarray(reader.offset, reader.offset + size)
    reader.offset += size
    if (id === 0) {
      const inner = new WasmReader(payload)
      const customName = inner.name()
      sections.push({ id, customName, nameLength: inner.offset, payload })
    } else {
      sections.push({ id, payload })
    }
  }
  return sections
}

/** The name section payload with subsection `id` replaced or inserted in order. */
function withSubsection(payload: Uint8Array, id: number, content: Uint8Array, nameLength = 0): Uint8Array {
  const reader = new WasmReader(payload, nameLength)
  const parts: Uint8Array[] = [payload.subarray(0, nameLength)]
  const encoded = concat([id], leb(content.length), content)
  let inserted = false
  while (reader.offset < payload.length) {
    const start = reader.offset
    const subId = reader.byte()
    const size = reader.u32()
    reader.offset += size
    if (!inserted && subId >= id) {
      parts.push(encoded)
      inserted = true
    }
    if (subId !== id) parts.push(payload.subarray(start, reader.offset))
  }
  if (!inserted) parts.push(encoded)
  return concat(...parts)
}
