/*
 * dwarf-lines.ts reads each unit's compilation directory from the unit's
 * first .debug_info entry, skipping the attributes before it by their form.
 * A skip one byte short reads the rest of the entry from the wrong place and
 * leaves a relative path unresolved, so each variable-length form is checked
 * here in front of DW_AT_comp_dir, on DWARF written by hand.
 */
import { describe, expect, it } from 'vitest'
import { concatBytes, leb } from '../../src/runtime-shim/wasm-writer.js'
import { readLineRows } from '../../src/transform/dwarf-lines.js'

const DW_TAG_compile_unit = 0x11
const DW_AT_location = 0x02
const DW_AT_const_value = 0x1c
const DW_AT_stmt_list = 0x10
const DW_AT_comp_dir = 0x1b
const DW_FORM_sec_offset = 0x17
const DW_FORM_string = 0x08

const u16 = (value: number) => [value & 0xff, value >> 8]
const u32 = (value: number) => [value & 0xff, (value >> 8) & 0xff, (value >> 16) & 0xff, value >>> 24]
const cString = (text: string) => [...new TextEncoder().encode(text), 0]
const unit = (body: Uint8Array) => concatBytes(u32(body.length), body)

/** A version 4 line program for file `a.c` in directory 0 (the compilation directory): one row at address 0x10, line 7. */
const line = unit(
  (() => {
    const header = concatBytes(
      [1, 1, 1, 0xfb, 14, 13], // min instruction length, max ops, default is_stmt, line base -5, line range, opcode base
      [0, 1, 1, 1, 1, 0, 0, 0, 1, 0, 0, 1], // standard opcode lengths
      [0], // no include directories
      cString('a.c'), [0, 0, 0], [0], // a.c in directory 0; the end of the file names
    )
    const program = [0x00, 5, 0x02, ...u32(0x10), 0x03, ...leb(6), 0x01, 0x00, 1, 0x01] // set_address, advance_line 6, copy, end_sequence
    return concatBytes(u16(4), u32(header.length), header, program)
  })(),
)

/** .debug_abbrev and .debug_info whose unit entry holds `before` (a form and its bytes) ahead of its line program and directory. */
function unitWith(before: { name: number; form: number; bytes: number[] }) {
  const abbrev = concatBytes(
    leb(1), leb(DW_TAG_compile_unit), [0],
    leb(before.name), leb(before.form), leb(DW_AT_stmt_list), leb(DW_FORM_sec_offset), leb(DW_AT_comp_dir), leb(DW_FORM_string), [0, 0],
    [0],
  )
  const info = unit(concatBytes(u16(4), u32(0), [4], leb(1), before.bytes, u32(0), cString('/work/src')))
  return { line, abbrev, info, str: undefined, lineStr: undefined }
}

describe('the compilation directory of a DWARF unit', () => {
  it.each([
    ['exprloc (a LEB128 length)', { name: DW_AT_location, form: 0x18, bytes: [3, 0x91, 0x7c, 0x06] }],
    ['block1 (a one-byte length)', { name: DW_AT_const_value, form: 0x0a, bytes: [2, 0xaa, 0xbb] }],
    ['block (a LEB128 length)', { name: DW_AT_const_value, form: 0x09, bytes: [2, 0xaa, 0xbb] }],
  ])('is read past an attribute of form %s', (_form, before) => {
    const rows = readLineRows(unitWith(before))
    expect(rows.filter((row) => !row.endSequence).map(({ address, file, line: at }) => ({ address, file, line: at }))).toEqual([
      { address: 0x10, file: '/work/src/a.c', line: 7 },
    ])
  })
})
