/*
 * The Asyncify floor: the fewest JavaScript steps one suspension can take on
 * a module asyncified by our transform, whatever the runtime. One call at a
 * time, no checks of any kind (no rewind mismatch, overflow, re-entrancy,
 * rejection or C stack bookkeeping), its data in a page grown past the
 * program's heap (bench/fixtures/suspend.c never allocates). Not a runtime
 * anyone should use: the rows compare ours and asyncify-wasm with it, to show
 * how much of a suspension is JavaScript any runtime could cut and how much
 * is the instrumented wasm that every runtime of this module runs.
 */
type Fn = (...args: number[]) => number

interface AsyncifyApi {
  memory: WebAssembly.Memory
  asyncify_start_unwind(data: number): void
  asyncify_stop_unwind(): void
  asyncify_start_rewind(data: number): void
  asyncify_stop_rewind(): void
}

const NORMAL = 0
const UNWINDING = 1
const REWINDING = 2

/** `round_trip` of suspend.c driven by the floor; `tick` is the async import, the others plain. */
export async function floorRoundTrip(module: WebAssembly.Module, tick: (i: number) => Promise<number>, plain: (i: number) => number): Promise<Fn> {
  let state = NORMAL
  let pending: Promise<number> | null = null
  let value = 0
  let data = 0
  let words: Uint32Array
  const instance = await WebAssembly.instantiate(module, {
    env: {
      tick: (i: number) => {
        if (state === REWINDING) {
          state = NORMAL
          api.asyncify_stop_rewind()
          return value
        }
        pending = tick(i)
        state = UNWINDING
        words[data >>> 2] = data + 8
        words[(data >>> 2) + 1] = data + 65536
        api.asyncify_start_unwind(data)
        return 0
      },
      value: plain,
      plain,
    },
  })
  const api = instance.exports as unknown as AsyncifyApi & Record<string, Fn>
  data = api.memory.grow(1) * 65536
  words = new Uint32Array(api.memory.buffer)
  const roundTrip = api.round_trip!
  return (async (depth: number, calls: number) => {
    let result = roundTrip(depth, calls)
    while (state === UNWINDING) {
      api.asyncify_stop_unwind()
      state = NORMAL
      value = await pending!
      state = REWINDING
      api.asyncify_start_rewind(data)
      result = roundTrip(depth, calls)
    }
    return result
  }) as unknown as Fn
}
