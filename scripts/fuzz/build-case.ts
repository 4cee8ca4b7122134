import { compileC } from './compile-c.js'
import { OPTIMIZE_LEVELS, type FuzzCase } from './fuzz-case.js'
import { generateC, STATE_BYTES, STATE_EXPORT } from './generate-c.js'
import { generateTtf } from './generate-ttf.js'
import { planCase } from './plan.js'
import { moduleSeed, Random } from './random.js'
import { readSignatures } from './signatures.js'

export interface BuiltCase {
  fuzzCase: FuzzCase
  wasm: Uint8Array
  /** The C program, for C modules. */
  source: string | null
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
  if (random.chance(0.5)) {
    const wasm = await generateTtf(random.fork('ttf'))
    const signatures = readSignatures(wasm)
    const fuzzCase = planCase(random.fork('plan'), {
      id,
      generator: 'ttf',
      seed,
      signatures,
      pure: false,
      init: [],
      reset: signatures.exports.has('hangLimitInitializer') ? 'hangLimitInitializer' : null,
      stackSize: TTF_STACK_SIZE,
      state: null,
    })
    return { fuzzCase, wasm, source: null }
  }
  const program = generateC(random.fork('c'))
  const wasm = compileC(program.source, program.exports, random.fork('clang').pick(OPTIMIZE_LEVELS))
  const fuzzCase = planCase(random.fork('plan'), {
    id,
    generator: 'c',
    seed,
    signatures: readSignatures(wasm),
    pure: program.pure,
    init: ['_initialize'],
    reset: null,
    stackSize: 65536,
    state: { export: STATE_EXPORT, bytes: STATE_BYTES },
  })
  return { fuzzCase, wasm, source: program.source }
}
