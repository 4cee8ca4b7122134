import binaryen from 'binaryen'
import { everyFeature } from '../../src/transform/features.js'

/**
 * The module with every float result that is a NaN replaced by 0 (Binaryen's
 * `denan` pass, which Binaryen's own fuzzer uses to compare across engines). A
 * NaN's sign and payload are nondeterministic in wasm and can escape into
 * ordinary values (`copysign` with a NaN, a reinterpretation, a branch on its
 * bits, a SIMD lane read as an integer), where they no longer look like NaNs;
 * a difference that disappears without NaNs came from their bit patterns.
 * binaryen.js's pass, not Debian's native `wasm-opt` 108's: 108 leaves v128
 * values alone, so a float lane's NaN read back as an integer lane (seed 94,
 * case 1434: V8 quieted the NaN that Binaryen's optimizer folded otherwise)
 * looked like a finding.
 */
export function withoutNaNs(wasm: Uint8Array): Uint8Array {
  const module = binaryen.readBinary(wasm)
  try {
    module.setFeatures(everyFeature(binaryen))
    module.runPasses(['denan'])
    return module.emitBinary()
  } finally {
    module.dispose()
  }
}
