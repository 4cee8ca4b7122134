/*
 * DWARF line tables (`.debug_line`, versions 2 to 5), read into rows of
 * (code address, file, line, column). In wasm, a DWARF address is an offset
 * into the code section's contents, so a row stays true of any module whose
 * code section is byte for byte the same, wherever that section sits.
 * Only the line programs are read, and each unit's compilation directory
 * (the first entry of its `.debug_info` unit), which relative paths in them
 * are relative to: that is all a source map needs.
 */
import { customSectionPayloads } from './wasm-sections.js'
import { WasmReader } from './wasm-reader.js'

export interface LineRow {
  /** Offset into the code section's contents. */
  address: number
  /** Path as the compiler recorded it: joined with its directory, absolute when the compiler knew it. */
  file: string
  /** 1-based; 0 means "no source line" (code the compiler made up). */
  line: number
  /** 1-based; 0 means the whole line. */
  column: number
  /** The first address after a sequence of code, not an instruction of its own. */
  endSequence: boolean
}

/** The DWARF sections `wasm` carries that line tables need; null without a `.debug_line`. */
export function dwarfSections(wasm: Uint8Array): DwarfSections | null {
  const [line] = customSectionPayloads(wasm, '.debug_line')
  if (!line) return null
  const payload = (name: string) => customSectionPayloads(wasm, name)[0]
  return { line, lineStr: payload('.debug_line_str'), str: payload('.debug_str'), info: payload('.debug_info'), abbrev: payload('.debug_abbrev') }
}

/**
 * The sections it reads: `.debug_line`, the string sections its headers and
 * attributes point into, and `.debug_info` with `.debug_abbrev` for each
 * unit's compilation directory, which relative paths are relative to.
 */
export interface DwarfSections {
  line: Uint8Array
  lineStr?: Uint8Array
  str?: Uint8Array
  info?: Uint8Array
  abbrev?: Uint8Array
}

const DW_FORM = { string: 0x08, line_strp: 0x1f, strp: 0x0e, udata: 0x0f, data1: 0x0b, data2: 0x05, data4: 0x06, data8: 0x07, data16: 0x1e, block: 0x09 }
const DW_LNCT_path = 1
const DW_LNCT_directory_index = 2

export function readLineRows(sections: DwarfSections): LineRow[] {
  const rows: LineRow[] = []
  const compDirs = compilationDirectories(sections)
  const reader = new WasmReader(sections.line)
  while (reader.offset < sections.line.length) {
    const unitOffset = reader.offset
    const { end, offsetSize } = unitHeader(reader)
    readProgram(reader, end, offsetSize, sections, compDirs.get(unitOffset) ?? '', rows)
    reader.offset = end
  }
  // By address; where a sequence ends at the address another starts, the end comes first.
  return rows.sort((a, b) => a.address - b.address || Number(b.endSequence) - Number(a.endSequence))
}

const DW_AT_stmt_list = 0x10
const DW_AT_comp_dir = 0x1b
const DW_FORM_implicit_const = 0x21

/**
 * Each compilation unit's DW_AT_comp_dir, by the offset of its line program
 * (DW_AT_stmt_list), read from the unit's first entry. Units whose entry
 * uses a form this reader does not size are left out.
 */
function compilationDirectories(sections: DwarfSections): Map<number, string> {
  const dirs = new Map<number, string>()
  const { info, abbrev } = sections
  if (!info || !abbrev) return dirs
  const reader = new WasmReader(info)
  while (reader.offset < info.length) {
    const { end, offsetSize } = unitHeader(reader)
    try {
      const version = u16(reader)
      let addressSize: number
      let abbrevOffset: number
      if (version >= 5) {
        reader.byte() // unit type
        addressSize = reader.byte()
        abbrevOffset = offsetSize === 8 ? u64(reader) : u32(reader)
      } else {
        abbrevOffset = offsetSize === 8 ? u64(reader) : u32(reader)
        addressSize = reader.byte()
      }
      const code = reader.u32()
      const attributes = abbreviation(abbrev, abbrevOffset, code)
      let stmtList: number | null = null
      let compDir: string | null = null
      for (const [name, form, implicit] of attributes) {
        const value = form === DW_FORM_implicit_const ? implicit : infoAttribute(reader, form, { offsetSize, addressSize, sections })
        if (name === DW_AT_stmt_list && typeof value === 'number') stmtList = value
        if (name === DW_AT_comp_dir && typeof value === 'string') compDir = value
      }
      if (stmtList !== null && compDir !== null) dirs.set(stmtList, compDir)
    } catch {
      // A form without a known size: this unit's paths stay as recorded.
    }
    reader.offset = end
  }
  return dirs
}

/** The attribute specifications (name, form, implicit constant) of abbreviation `code` in the table at `offset`. */
function abbreviation(abbrev: Uint8Array, offset: number, code: number): [number, number, number][] {
  const reader = new WasmReader(abbrev, offset)
  for (;;) {
    const current = reader.u32()
    if (current === 0) throw new Error(`abbreviation ${code} not found`)
    reader.u32() // tag
    reader.byte() // has children
    const specs: [number, number, number][] = []
    for (;;) {
      const name = reader.u32()
      const form = reader.u32()
      if (name === 0 && form === 0) break
      specs.push([name, form, form === DW_FORM_implicit_const ? reader.s32() : 0])
    }
    if (current === code) return specs
  }
}

/** Sizes of the fixed-size forms of .debug_info, beyond those a line table header uses. */
const FIXED = new Map([[0x0c, 1], [0x11, 1], [0x12, 2], [0x13, 4], [0x14, 8], [0x19, 0], [0x1c, 4], [0x20, 8], [0x24, 8], [0x25, 1], [0x26, 2], [0x27, 3], [0x28, 4], [0x29, 1], [0x2a, 2], [0x2b, 3], [0x2c, 4]])

function infoAttribute(
  reader: WasmReader,
  form: number,
  context: { offsetSize: number; addressSize: number; sections: DwarfSections },
): string | number | null {
  const size = FIXED.get(form)
  if (size !== undefined) {
    reader.offset += size
    return null
  }
  switch (form) {
    case 0x01: // addr
      reader.offset += context.addressSize
      return null
    case 0x0a: { // block1
      // The length first: `offset += byte()` would add it to the offset from before its own byte.
      const length = reader.byte()
      reader.offset += length
      return null
    }
    case 0x0d: // sdata
      return reader.s32()
    case 0x10: // ref_addr
    case 0x17: // sec_offset
    case 0x1d: // strp_sup
      return context.offsetSize === 8 ? u64(reader) : u32(reader)
    case 0x15: // ref_udata
    case 0x1a: // strx
    case 0x1b: // addrx
    case 0x22: // loclistx
    case 0x23: // rnglistx
      return reader.u32()
    case 0x18: { // exprloc
      const length = reader.u32()
      reader.offset += length
      return null
    }
    default:
      return attribute(reader, form, context)
  }
}

function readProgram(reader: WasmReader, end: number, offsetSize: number, sections: DwarfSections, compDir: string, rows: LineRow[]): void {
  const version = u16(reader)
  if (version < 2 || version > 5) return
  let addressSize = 4
  if (version >= 5) {
    addressSize = reader.byte()
    reader.byte() // segment selector size
  }
  const headerLength = offsetSize === 8 ? u64(reader) : u32(reader)
  const programStart = reader.offset + headerLength
  const minInstructionLength = reader.byte()
  if (version >= 4) reader.byte() // maximum operations per instruction: 1 outside VLIW targets
  const defaultIsStmt = reader.byte() !== 0
  const lineBase = (reader.byte() << 24) >> 24
  const lineRange = reader.byte()
  const opcodeBase = reader.byte()
  const argumentCounts = [0]
  for (let i = 1; i < opcodeBase; i++) argumentCounts.push(reader.byte())

  const strings = { offsetSize, sections }
  const files: string[] = []
  if (version >= 5) {
    const directories = entries(reader, strings).map((entry) => joinPath(compDir, entry.path))
    for (const entry of entries(reader, strings)) files.push(joinPath(directories[entry.directory] ?? compDir, entry.path))
  } else {
    // Directory 0 is the compilation directory, which .debug_info records; the others may be relative to it.
    const directories = [compDir]
    for (let dir = cString(reader); dir !== ''; dir = cString(reader)) directories.push(joinPath(compDir, dir))
    files.push('')
    for (let name = cString(reader); name !== ''; name = cString(reader)) {
      const directory = reader.u32()
      reader.u32() // modification time
      reader.u32() // length
      files.push(joinPath(directories[directory] ?? '', name))
    }
  }

  reader.offset = programStart
  const fresh = () => ({ address: 0, file: 1, line: 1, column: 0, isStmt: defaultIsStmt })
  let state = fresh()
  const emit = (endSequence: boolean) => {
    rows.push({ address: state.address, file: files[state.file] ?? '', line: state.line, column: state.column, endSequence })
  }
  while (reader.offset < end) {
    const opcode = reader.byte()
    if (opcode >= opcodeBase) {
      const adjusted = opcode - opcodeBase
      state.address += Math.floor(adjusted / lineRange) * minInstructionLength
      state.line += lineBase + (adjusted % lineRange)
      emit(false)
      continue
    }
    switch (opcode) {
      case 0: {
        const length = reader.u32()
        const next = reader.offset + length
        const extended = reader.byte()
        if (extended === 1) {
          emit(true)
          state = fresh()
        } else if (extended === 2) {
          state.address = addressSize === 8 ? u64(reader) : u32(reader)
        }
        reader.offset = next
        break
      }
      case 1:
        emit(false)
        break
      case 2:
        state.address += reader.u32() * minInstructionLength
        break
      case 3:
        state.line += reader.s32()
        break
      case 4:
        state.file = reader.u32()
        break
      case 5:
        state.column = reader.u32()
        break
      case 6:
        state.isStmt = !state.isStmt
        break
      case 8:
        state.address += Math.floor((255 - opcodeBase) / lineRange) * minInstructionLength
        break
      case 9:
        state.address += u16(reader)
        break
      default:
        // basic_block, prologue_end, epilogue_begin, isa, and opcodes of later versions: skipped by their argument counts.
        for (let n = argumentCounts[opcode] ?? 0; n > 0; n--) reader.u32()
    }
  }
}

/** A version-5 directory or file table: its entry format, then its entries. */
function entries(reader: WasmReader, strings: { offsetSize: number; sections: DwarfSections }): { path: string; directory: number }[] {
  const format: [content: number, form: number][] = []
  for (let n = reader.byte(); n > 0; n--) format.push([reader.u32(), reader.u32()])
  const list: { path: string; directory: number }[] = []
  for (let n = reader.u32(); n > 0; n--) {
    const entry = { path: '', directory: 0 }
    for (const [content, form] of format) {
      const value = attribute(reader, form, strings)
      if (content === DW_LNCT_path && typeof value === 'string') entry.path = value
      else if (content === DW_LNCT_directory_index && typeof value === 'number') entry.directory = value
    }
    list.push(entry)
  }
  return list
}

function attribute(reader: WasmReader, form: number, { offsetSize, sections }: { offsetSize: number; sections: DwarfSections }): string | number | null {
  switch (form) {
    case DW_FORM.string:
      return cString(reader)
    case DW_FORM.line_strp:
    case DW_FORM.strp: {
      const offset = offsetSize === 8 ? u64(reader) : u32(reader)
      const table = form === DW_FORM.line_strp ? sections.lineStr : sections.str
      return table ? cString(new WasmReader(table, offset)) : ''
    }
    case DW_FORM.udata:
      return reader.u32()
    case DW_FORM.data1:
      return reader.byte()
    case DW_FORM.data2:
      return u16(reader)
    case DW_FORM.data4:
      return u32(reader)
    case DW_FORM.data8:
      return u64(reader)
    case DW_FORM.data16:
      reader.offset += 16
      return null
    case DW_FORM.block: {
      const length = reader.u32()
      reader.offset += length
      return null
    }
    default:
      throw new Error(`unsupported DWARF form 0x${form.toString(16)} in a line table header`)
  }
}

function joinPath(directory: string, name: string): string {
  if (name.startsWith('/') || directory === '') return name
  return `${directory.replace(/\/$/, '')}/${name.replace(/^\.\//, '')}`
}

function cString(reader: WasmReader): string {
  const start = reader.offset
  while (reader.byte() !== 0);
  return reader.text(start, reader.offset - 1)
}

/** A unit's length field: where the unit ends, and whether offsets in it take 4 bytes (32-bit DWARF) or 8. */
function unitHeader(reader: WasmReader): { end: number; offsetSize: number } {
  const length = u32(reader)
  if (length !== 0xffffffff) return { end: reader.offset + length, offsetSize: 4 }
  const long = u64(reader)
  return { end: reader.offset + long, offsetSize: 8 }
}

function u16(reader: WasmReader): number {
  return reader.byte() | (reader.byte() << 8)
}

function u32(reader: WasmReader): number {
  return (u16(reader) | (u16(reader) << 16)) >>> 0
}

function u64(reader: WasmReader): number {
  const low = u32(reader)
  return low + u32(reader) * 2 ** 32
}
