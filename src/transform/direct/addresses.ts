/*
 * Where the input's code went in the direct engine's output, for line tables:
 * addresses are offsets into the code section's contents, as DWARF and
 * line-table.ts count them. A body copied as it was moves as a whole; in an
 * instrumented one each instruction from the input has its own place, and an
 * address between them (an `end`, an `else`) goes with the instruction before.
 */
import type { LineRow } from '../dwarf-lines.js'

/**
 * `verbatim`: the bytes from here to the next anchor moved unchanged.
 * `exact`: only this address moved here (an instruction, a body's entry).
 * `forward`: nothing runs here (a body's local declarations): its lines hold
 * from the next instruction.
 * `end`: a body's end, where only this address moved; the input's code up to
 * the next anchor went nowhere (on the anchors of copied bodies).
 */
export type AnchorKind = 'verbatim' | 'exact' | 'forward' | 'end'

export class CodeAddresses {
  private readonly inputs: number[] = []
  private readonly outputs: number[] = []
  private readonly kinds: AnchorKind[] = []
  /** Output addresses of instrumented bodies: the code added before their first instruction from the input has no line. */
  private readonly bodies: number[] = []
  /** Anchors of the bodies that went out a second time (the rewind copies of optimize 3). */
  private copies: CodeAddresses | null = null

  /** The anchors of a second place the input's code went, in order of input address of their own. */
  second(): CodeAddresses {
    return (this.copies ??= new CodeAddresses())
  }

  /** Anchors must come in order of input address. */
  add(input: number, output: number, kind: AnchorKind): void {
    const last = this.inputs.length - 1
    if (last >= 0 && input < this.inputs[last]!) throw new Error('code addresses out of order')
    if (last >= 0 && input === this.inputs[last]) return
    this.inputs.push(input)
    this.outputs.push(output)
    this.kinds.push(kind)
  }

  /** Every output address moves by `by` (the code section's count, whose length is known last). */
  shift(by: number): void {
    for (let k = 0; k < this.outputs.length; k++) this.outputs[k]! += by
    for (let k = 0; k < this.bodies.length; k++) this.bodies[k]! += by
    this.copies?.shift(by)
  }

  /** An instrumented body starts at `output`. */
  instrumented(output: number): void {
    this.bodies.push(output)
  }

  /**
   * Where input address `address` went: linearly within a body copied as it
   * was, exactly onto an instruction from the input, else (an `end`, an
   * `else`, whose lines hold for the instructions after them) onto the next
   * instruction from the input; null outside the code.
   */
  map(address: number): { address: number; exact: boolean } | null {
    let low = 0
    let high = this.inputs.length - 1
    let found = -1
    while (low <= high) {
      const middle = (low + high) >> 1
      if (this.inputs[middle]! <= address) {
        found = middle
        low = middle + 1
      } else high = middle - 1
    }
    if (found < 0) return null
    const kind = this.kinds[found]
    if (kind === 'verbatim') return { address: this.outputs[found]! + (address - this.inputs[found]!), exact: true }
    if ((kind === 'exact' || kind === 'end') && this.inputs[found] === address) return { address: this.outputs[found]!, exact: true }
    if (kind === 'end') return null
    const next = this.outputs[found + 1]
    return next === undefined ? null : { address: next, exact: false }
  }

  /** `rows` at their output addresses (each at every place its code went), in address order (rows outside the code are dropped). */
  rows(rows: readonly LineRow[]): LineRow[] {
    // At one output address the first row is the one mapped: a row of the instruction there, then an instrumented
    // body's start without a line (else its rewind prologue would take the line of the code before), then a row moved
    // forward from an `end`.
    const ranked = [...this.ranked(rows), ...(this.copies?.ranked(rows) ?? [])]
    return ranked.sort((a, b) => a.row.address - b.row.address || a.rank - b.rank).map(({ row }) => row)
  }

  private ranked(rows: readonly LineRow[]): { row: LineRow; rank: number }[] {
    const ranked: { row: LineRow; rank: number }[] = []
    for (const row of rows) {
      const mapped = this.map(row.address)
      if (mapped !== null) ranked.push({ row: { ...row, address: mapped.address }, rank: mapped.exact ? 0 : 2 })
    }
    for (const address of this.bodies) ranked.push({ row: { address, file: '', line: 0, column: 0, endSequence: false }, rank: 1 })
    return ranked
  }
}
