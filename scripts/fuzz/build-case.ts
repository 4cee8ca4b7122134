import { compileC } from './compile-c.js'
import { OPTIMIZE_LEVELS, type FuzzCase } from './fuzz-case.js'
import { generateC, STATE_BYTES, STATE_EXPORT } from './generate-c.js'
import { generateTtf } from './generate-ttf.js'
import { generateWat, RESET_EXPORT } from './generate-wat.js'
import { planCase } from './plan.js'
import { moduleSeed, Random } from './random.js'
import { readSignatures } from './signatures.js'

export interface BuiltCase {
  fuzzCase: FuzzCase
  wasm: Uint8Array
  /** What the module was made from, kept in a reproducer: the C program, or the wat generator's listing. */
  source: { file: 'program.c' | 'module.wat'; text: string } | null
}

/**
 * Asyncify stack for ttf modules: their memory is always 16 pages with a
 * maximum of 17, so the runtime's reserved pages (8 bytes of header plus the
 * stack) must fit in one page.
 */
const TTF_STACK_SIZE = 65528

/** Module `index` of the campaign seeded `campaignSeed`, and how it is tested: the same every time. */
export async function buildCase(campaignSeed: number, index: number): Promise<BuiltCase> {
  const seed = moduleSeed(campaignSeed, index)
  const random = new Random(seed)
  const id = `${campaignSeed}-${index}`
  const generator = random.pick(['ttf', 'c', 'wat'] as const)
  if (generator === 'ttf') {
    const wasm = await generateTtf(random.fork('ttf'))
    const signatures = readSignatures(wasm)
    const fuzzCase = planCase(random.fork('plan'), {
      id,
      generator,
      seed,
      signatures,
      pure: false,
      allAsync: false,
      init: [],
      reset: signatures.exports.has('hangLimitInitializer') ? 'hangLimitInitializer' : null,
      stackSize: TTF_STACK_SIZE,
      state: null,
    })
    return { fuzzCase, wasm, source: null }
  }
  if (generator === 'wat') {
    const { wasm, text } = generateWat(random.fork('wat'))
    const fuzzCase = planCase(random.fork('plan'), {
      id,
      generator,
      seed,
      signatures: readSignatures(wasm),
      // The fuel global and the memory are shared by every call.
      pure: false,
      allAsync: true,
      init: [],
      reset: RESET_EXPORT,
      stackSize: 65536,
      state: null,
    })
    return { fuzzCase, wasm, source: { file: 'module.wat', text } }
  }
  const program = generateC(random.fork('c'))
  const wasm = compileC(program.source, program.exports, random.fork('clang').pick(OPTIMIZE_LEVELS))
  const fuzzCase = planCase(random.fork('plan'), {
    id,
    generator,
    seed,
    signatures: readSignatures(wasm),
    pure: program.pure,
    allAsync: false,
    init: ['_initialize'],
    reset: null,
    stackSize: 65536,
    state: { export: STATE_EXPORT, bytes: STATE_BYTES },
  })
  return { fuzzCase, wasm, source: { file: 'program.c', text: program.source } }
}
