/*
 * Wasm features by the names of the `target_features` section and of clang's
 * `-m` flags, and the Binaryen flag of each. CompactImports is left out: its
 * import encoding is rejected by engines (Node 20: "unknown import kind 0x7f").
 * Kept free of binaryen.js so that options can be checked without loading it.
 */
import type { Binaryen } from './binaryen.js'
import { customSectionPayloads } from './wasm-sections.js'
import { WasmReader } from './wasm-reader.js'

export const FEATURE_NAMES = {
  atomics: ['Atomics'],
  // Binaryen reads "+bulk-memory" in a target_features section as both.
  'bulk-memory': ['BulkMemory', 'BulkMemoryOpt'],
  'bulk-memory-opt': ['BulkMemoryOpt'],
  'call-indirect-overlong': ['CallIndirectOverlong'],
  'exception-handling': ['ExceptionHandling'],
  'extended-const': ['ExtendedConst'],
  fp16: ['FP16'],
  gc: ['GC'],
  memory64: ['Memory64'],
  multimemory: ['MultiMemory'],
  multivalue: ['Multivalue'],
  'mutable-globals': ['MutableGlobals'],
  'nontrapping-fptoint': ['NontrappingFPToInt'],
  'reference-types': ['ReferenceTypes'],
  'relaxed-simd': ['RelaxedSIMD'],
  'sign-ext': ['SignExt'],
  simd128: ['SIMD128'],
  'tail-call': ['TailCall'],
  'custom-page-sizes': ['CustomPageSizes'],
  'wide-arithmetic': ['WideArithmetic'],
  'acquire-release-atomics': ['AcquireReleaseAtomics'],
  'relaxed-atomics': ['RelaxedAtomics'],
  'stack-switching': ['StackSwitching'],
  'shared-everything': ['SharedEverything'],
  strings: ['Strings'],
} as const satisfies Record<string, readonly string[]>

export type FeatureName = keyof typeof FEATURE_NAMES

export function isFeatureName(name: string): name is FeatureName {
  return Object.hasOwn(FEATURE_NAMES, name)
}

export function featureMask(binaryen: Binaryen, names: readonly FeatureName[]): number {
  // binaryen.js 132 has flags its typings do not list (AcquireReleaseAtomics, ...).
  const flags = binaryen.Features as unknown as Record<string, number>
  let mask = 0
  for (const name of names) for (const feature of FEATURE_NAMES[name]) mask |= flags[feature]!
  return mask
}

/** Every feature Binaryen knows and engines accept; what validation allows. */
export function everyFeature(binaryen: Binaryen): number {
  const flags = binaryen.Features as unknown as Record<'All' | 'CompactImports', number>
  return flags.All & ~flags.CompactImports
}

/** The names of a mask, for messages. */
export function featureNames(binaryen: Binaryen, mask: number): FeatureName[] {
  return (Object.keys(FEATURE_NAMES) as FeatureName[]).filter((name) => {
    const bits = featureMask(binaryen, [name])
    return (mask & bits) === bits
  })
}

/**
 * The features a `target_features` section says the module uses (`+` entries
 * Binaryen knows), as Binaryen itself would read them.
 */
export function declaredFeatures(bytes: Uint8Array): FeatureName[] {
  const [payload] = customSectionPayloads(bytes, 'target_features')
  if (!payload) return []
  const names: FeatureName[] = []
  const reader = new WasmReader(payload)
  try {
    for (let n = reader.u32(); n > 0; n--) {
      const prefix = reader.byte()
      const name = reader.name()
      // '+' used, '=' required; '-' disallowed.
      if ((prefix === 0x2b || prefix === 0x3d) && isFeatureName(name)) names.push(name)
    }
  } catch {
    // A damaged section declares what was read before the damage.
  }
  return names
}

/**
 * The features option against a module's `target_features` section, which
 * wins: the warning that the option is ignored, null when both say the same,
 * undefined when the module has no such section (the option then decides,
 * checked by validating with Binaryen). As `read.ts` compares them: by
 * Binaryen's flags, so `bulk-memory` also covers `bulk-memory-opt`.
 */
export function featuresOptionIgnored(bytes: Uint8Array, features: readonly FeatureName[]): string | null | undefined {
  if (customSectionPayloads(bytes, 'target_features').length === 0) return undefined
  const flagsOf = (names: readonly FeatureName[]) => new Set<string>(names.flatMap((name) => FEATURE_NAMES[name]))
  const declared = flagsOf(declaredFeatures(bytes))
  const given = flagsOf(features)
  if (given.size === declared.size && [...given].every((flag) => declared.has(flag))) return null
  const uses = (Object.keys(FEATURE_NAMES) as FeatureName[]).filter((name) => FEATURE_NAMES[name].every((flag) => declared.has(flag)))
  return (
    `the features option is ignored: the module's target_features section says it uses ` +
    `${uses.join(', ') || 'no post-MVP feature'}, and the output keeps to that`
  )
}
