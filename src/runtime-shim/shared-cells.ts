/*
 * Small blocks of i32 cells that JavaScript and generated wasm both read and
 * write on the hot path: from JS a typed-array access costs about a
 * nanosecond, where a `WebAssembly.Global`'s value costs 15-30 ns. Blocks of
 * many instances share one 64 KiB Memory, because engines reserve gigabytes
 * of address space for every Memory; a block goes back to be reused when its
 * owner is collected.
 */

/** A block: `cells` is its JavaScript view; wasm reads it in `memory` from byte `base`. */
export interface CellBlock {
  cells: Int32Array
  memory: WebAssembly.Memory
  base: number
}

const PAGE = 65536
/** Block sizes are multiples of this, so freed blocks fit later requests. */
const GRANULE = 64

interface Spot {
  memory: WebAssembly.Memory
  base: number
}

let arena: { memory: WebAssembly.Memory; next: number } | null = null
const freeBySize = new Map<number, Spot[]>()
const registry =
  typeof FinalizationRegistry === 'function'
    ? new FinalizationRegistry<Spot & { size: number }>(({ size, ...spot }) => freeSpots(size).push(spot))
    : null

function freeSpots(size: number): Spot[] {
  let spots = freeBySize.get(size)
  if (!spots) freeBySize.set(size, (spots = []))
  return spots
}

function newSpot(size: number): Spot {
  if (size > PAGE) return { memory: new WebAssembly.Memory({ initial: Math.ceil(size / PAGE) }), base: 0 }
  if (!arena || arena.next + size > PAGE) arena = { memory: new WebAssembly.Memory({ initial: 1, maximum: 1 }), next: 0 }
  const spot = { memory: arena.memory, base: arena.next }
  arena.next += size
  return spot
}

/** `count` zeroed cells for as long as `owner` lives. */
export function allocateCells(count: number, owner: object): CellBlock {
  const size = Math.max(GRANULE, Math.ceil((count * 4) / GRANULE) * GRANULE)
  const spot = freeSpots(size).pop() ?? newSpot(size)
  const cells = new Int32Array(spot.memory.buffer, spot.base, size / 4).fill(0)
  registry?.register(owner, { ...spot, size })
  return { cells, ...spot }
}
