import { drawTemperament } from './answers.js'
import { OPTIMIZE_LEVELS, type CallSpec, type FuzzCase } from './fuzz-case.js'
import type { Random } from './random.js'
import type { ModuleSignatures } from './signatures.js'
import { drawValue } from './values.js'

export interface PlanInput {
  id: string
  generator: FuzzCase['generator']
  seed: number
  signatures: ModuleSignatures
  /** Whether the exports share no mutable state, so calls may overlap. */
  pure: boolean
  /** Whether every import is async (the wat generator's imports exist to suspend); else a random subset is. */
  allAsync: boolean
  /** Exports run once after instantiation, and before each call; never called as tests. */
  init: string[]
  reset: string | null
  /** Bytes of Asyncify stack: the runtime's pages must fit under the memory's maximum. */
  stackSize: number
  state: FuzzCase['state']
}

/**
 * Draws how a module is tested: which imports are async (all, or a random
 * subset, usually not empty), the optimize level, the export calls and
 * their arguments, how imports tend to answer, and whether calls overlap.
 * Exports that take or return v128 cannot be called from JavaScript.
 */
export function planCase(random: Random, input: PlanInput): FuzzCase {
  const { signatures } = input
  const importNames = [...signatures.imports.keys()]
  const imports = input.allAsync ? importNames : someImports(random, importNames)
  const callable = [...signatures.exports.entries()]
    .filter(([name]) => !input.init.includes(name) && name !== input.reset)
    .filter(([, signature]) => ![...signature.params, ...signature.results].some((type) => type === 'v128' || type === 'ref'))
    .map(([name]) => name)
  const mode = input.pure && random.chance(0.5) ? 'overlap' : 'sequential'
  const calls: CallSpec[] = []
  // Calls are cheap next to the transform: test each module with many (repeats see the state earlier calls left).
  const count = callable.length === 0 ? 0 : random.range(3, 16)
  for (let index = 0; index < count; index++) {
    const name = random.pick(callable)
    const params = signatures.exports.get(name)!.params
    // C exports take the index of their call first: overlapping calls pick their answers by it.
    const args = params.map((type, i) => (i === 0 && input.generator === 'c' ? String(index) : drawValue(random, type)))
    calls.push({ export: name, args })
  }
  return {
    id: input.id,
    generator: input.generator,
    seed: input.seed,
    mode,
    transform: { imports, optimize: random.pick(OPTIMIZE_LEVELS), stackSize: input.stackSize },
    temperament: drawTemperament(random),
    init: input.init,
    reset: input.reset,
    calls,
    state: input.state,
  }
}

function someImports(random: Random, names: string[]): string[] {
  const share = random.pick([0.3, 0.6, 1])
  const chosen = names.filter(() => random.chance(share))
  return chosen.length === 0 && names.length > 0 && random.chance(0.9) ? [random.pick(names)] : chosen
}
