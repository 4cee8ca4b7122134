import { WASM_OPT } from '../paths.js'

/** wasm-opt 108 spells two features differently from clang's `-m` names. */
const NATIVE_FLAG: Record<string, string> = { 'nontrapping-fptoint': 'nontrapping-float-to-int', simd128: 'simd' }

/**
 * The native command ours is measured against: Binaryen's Asyncify with the
 * same import list, then -O2 (wasm-opt runs passes in the order given).
 * The module's own target_features section wins when present, as in ours.
 */
export function nativeCommand(input: string, output: string, imports: readonly string[], features: readonly string[]): [string, string[]] {
  return [
    WASM_OPT,
    [
      input,
      ...features.map((feature) => `--enable-${NATIVE_FLAG[feature] ?? feature}`),
      '--asyncify',
      `--pass-arg=asyncify-imports@${imports.join(',')}`,
      '-O2',
      '-o',
      output,
    ],
  ]
}
