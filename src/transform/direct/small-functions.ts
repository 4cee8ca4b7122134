/*
 * V8 (Node 24 and later, Chromium) inlines wasm calls within a budget it sizes
 * from the share of a module's functions whose bodies are under 50 bytes: at
 * a quarter or less it takes the small budget, at half or more the large one,
 * and in between it interpolates. It reads a low share as a toolchain that
 * has inlined already. Instrumenting grows small functions past 50 bytes and
 * appends large ones (the rewind copies of `optimize: 3`), so the output
 * reads to V8 as more inlined than the input was, and V8 inlines less in
 * code that runs as the input's did: SQLite's module has 30.0% small
 * functions, its default build 18.6% and its build at `optimize: 3` 13.3%,
 * and V8 inlined about half as many calls in them.
 *
 * At `optimize: 3` the output gets back the input's share (never more: that
 * would be a budget the untouched module does not get) with empty functions
 * appended, which nothing calls: 4 bytes each in the function and code
 * sections. SQLite's workload at that level went from 1.06x-1.10x the
 * untouched module's time to 1.03x-1.04x in Node 24 and 26. The default
 * level's ran no faster with them, so it keeps its size
 * (docs/performance-notes.md).
 */

/** V8's threshold: a body (its local declarations to its `end`) shorter than this is small. */
export const SMALL_BODY = 50

/** The body an empty function `() -> ()` appended for the share has: no locals, `end`. */
export const EMPTY_BODY = [0x00, 0x0b]

/** The most functions (imports included) a module may have in the engines, by the limits they agreed on (V8's `kV8MaxWasmFunctions`). */
export const MAX_FUNCTIONS = 1_000_000

/**
 * How many empty functions the output needs for V8 to see a share of small
 * functions at least the input's, from the sizes of their defined functions'
 * bodies. None when the input's share is a quarter or less (V8's smallest
 * budget either way); shares past a half count as a half (its largest).
 * Never more than `room`, the functions the output may still have under
 * `MAX_FUNCTIONS`: past it, no engine would compile the module.
 */
export function emptyFunctionsForShare(input: number[], output: number[], room: number): number {
  const small = (sizes: number[]) => sizes.filter((size) => size < SMALL_BODY).length
  const [inputSmall, inputTotal] = [small(input), input.length]
  const [outputSmall, outputTotal] = [small(output), output.length]
  if (inputSmall * 4 <= inputTotal) return 0
  // Added functions are small: (outputSmall + n) / (outputTotal + n) >= target, the target a fraction p / q.
  const [p, q] = inputSmall * 2 >= inputTotal ? [1, 2] : [inputSmall, inputTotal]
  const needed = p * outputTotal - q * outputSmall
  return needed <= 0 ? 0 : Math.max(0, Math.min(room, Math.ceil(needed / (q - p))))
}
