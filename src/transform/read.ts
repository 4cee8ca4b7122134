/*
 * Bytes -> a validated Binaryen module whose features are the input's own.
 *
 * Features: the optimizer and Asyncify emit whatever the module's feature set
 * allows, so a set larger than the input's gives an MVP module sign-extension
 * or bulk-memory opcodes that older engines reject, and lets -Oz turn calls
 * into `return_call`, which Asyncify then refuses. So the module leaves here
 * with the input's features: its `target_features` section (binaryen.js
 * applies it when reading), else the `features` option, else the smallest set
 * it validates with. Mutable globals are always added (the runtime's exports
 * need them). Validation itself allows every feature: a feature used but not
 * declared is the toolchain's business, not a reason to refuse the module.
 *
 * Custom sections are optional by the spec, yet Binaryen refuses a module
 * whose name section it cannot parse (wabt writes tag names in a subsection
 * Binaryen reads as field names). Such a module is read again without it.
 */
import { AsyncifyError } from '../runtime-shim/errors.js'
import { BinaryenFailure, printedText, withOutput } from './binaryen-output.js'
import { binaryenMessage, type Binaryen, type BinaryenModule } from './binaryen.js'
import { declaredFeatures, everyFeature, featureMask, featureNames, featuresOptionIgnored, type FeatureName } from './features.js'
import { customSectionNames, withoutCustomSection } from './wasm-sections.js'

export interface ReadModule {
  module: BinaryenModule
  /** For the report: what reading had to give up or ignore. */
  warnings: string[]
}

export function read(
  binaryen: Binaryen,
  bytes: Uint8Array,
  options: { filename: string; features: FeatureName[] | null },
): ReadModule {
  const { filename } = options
  const { module, warnings } = parse(binaryen, bytes, filename)
  try {
    const declared = featureMask(binaryen, declaredFeatures(bytes))
    // DWARF would describe the code before instrumentation (binaryen.js reads it as
    // opaque sections and cannot move its addresses); the name section is kept instead.
    module.runPasses(['strip-dwarf'])
    module.setFeatures(everyFeature(binaryen))
    const { result: valid, output } = withOutput(() => module.validate())
    if (!valid) {
      throw new AsyncifyError(
        'ASYNCIFY_INVALID_WASM',
        `${filename}: the module does not validate (${printedText(output)}); rebuild it with a supported toolchain`,
      )
    }
    const mutableGlobals = binaryen.Features.MutableGlobals
    if (customSectionNames(bytes).includes('target_features')) {
      const ignored = options.features && featuresOptionIgnored(bytes, options.features)
      if (ignored) warnings.push(ignored)
      module.setFeatures(declared | mutableGlobals)
    } else if (options.features) {
      const allowed = featureMask(binaryen, options.features) | mutableGlobals
      if (!validates(module, allowed)) {
        const needed = featureNames(binaryen, smallestFeatures(binaryen, module) & ~allowed)
        throw new AsyncifyError(
          'ASYNCIFY_UNSUPPORTED_FEATURE',
          `${filename}: the module uses features beyond asyncify({ features }) ` +
            `(${options.features.join(', ') || 'none'}); it needs ${needed.join(', ')}: ` +
            `add them to features, or rebuild the module without them`,
        )
      }
      module.setFeatures(allowed)
    } else {
      module.setFeatures(smallestFeatures(binaryen, module))
    }
    return { module, warnings }
  } catch (error) {
    module.dispose()
    throw error
  }
}

/**
 * Reads with every feature on (`read` then narrows them): otherwise Binaryen
 * merges GC types whose recursion groups differ, and refuses the module.
 * binaryen.js takes the features as a second argument its types omit.
 */
function readBinary(binaryen: Binaryen, bytes: Uint8Array): BinaryenModule {
  return (binaryen.readBinary as (data: Uint8Array, features?: number) => BinaryenModule)(bytes, everyFeature(binaryen))
}

function parse(binaryen: Binaryen, bytes: Uint8Array, filename: string): ReadModule {
  let cause: string
  try {
    return { module: withOutput(() => readBinary(binaryen, bytes)).result, warnings: [] }
  } catch (error) {
    // The cause ("[parse exception: ...]") is printed; the exception only says "error in parsing wasm binary".
    const printed = error instanceof BinaryenFailure ? printedText(error.output) : ''
    cause = printed || binaryenMessage(binaryen, error instanceof BinaryenFailure ? error.original : error)
  }
  const invalid = new AsyncifyError(
    'ASYNCIFY_INVALID_WASM',
    `${filename}: not a valid WebAssembly module (${cause}); the file is truncated or corrupted: rebuild it`,
  )
  const unnamed = withoutCustomSection(bytes, 'name')
  if (!unnamed) throw invalid
  let module: BinaryenModule
  try {
    module = withOutput(() => readBinary(binaryen, unnamed)).result
  } catch {
    throw invalid
  }
  return {
    module,
    warnings: [
      `Binaryen cannot read the module's name section (${cause}), so it was read without it: the output names ` +
        `functions by index (in stack traces and for runtime patterns); to keep names, write the name section in the ` +
        `standard layout (wabt 1.0.32, for one, puts tag names in subsection 10, which Binaryen reads as field names)`,
    ],
  }
}

function validates(module: BinaryenModule, features: number): boolean {
  module.setFeatures(features)
  return Boolean(withOutput(() => module.validate()).result)
}

/**
 * The smallest feature set the module validates with, for a module that does
 * not say which it uses: from every feature, drop one at a time while it
 * still validates (newer, dependent features first: GC before reference
 * types). Mutable globals are always kept: every engine has them, and the
 * runtime's exports need them.
 */
function smallestFeatures(binaryen: Binaryen, module: BinaryenModule): number {
  const kept = binaryen.Features.MutableGlobals
  if (validates(module, kept)) return kept
  const flags = binaryen.Features as unknown as Record<string, number>
  // Binaryen aborts on a set with the first of each pair but not the second
  // (bulk memory implies its opt subset; reference types imply overlong call_indirect).
  const implied = [
    [flags.BulkMemory!, flags.BulkMemoryOpt!],
    [flags.ReferenceTypes!, flags.CallIndirectOverlong!],
  ] as const
  const consistent = (candidate: number) => implied.every(([base, part]) => !(candidate & base) || (candidate & part) !== 0)
  let mask = everyFeature(binaryen)
  // Two passes: an implied feature can only go once what implies it has gone.
  for (let pass = 0; pass < 2; pass++) {
    for (let bit = 2 ** 30; bit >= 1; bit /= 2) {
      if (!(mask & bit) || bit & kept) continue
      const candidate = mask & ~bit
      if (consistent(candidate) && validates(module, candidate)) mask = candidate
    }
  }
  return mask
}
