import binaryen from 'binaryen'
import { everyFeature } from '../../src/transform/features.js'

/**
 * Assembles WAT with Binaryen's text parser. `features` lists the proposals the
 * text uses (names of binaryen.Features), or 'every' for any proposal
 * binaryen.js reads and engines accept; names are kept in the name section.
 */
export function wat(text: string, features: (keyof typeof binaryen.Features)[] | 'every' = []): Uint8Array {
  const module = binaryen.parseText(text)
  try {
    let mask = binaryen.Features.MVP | binaryen.Features.MutableGlobals | binaryen.Features.SignExt
    if (features === 'every') mask = everyFeature(binaryen)
    else for (const feature of features) mask |= binaryen.Features[feature]
    module.setFeatures(mask)
    if (!module.validate()) throw new Error('test WAT does not validate')
    binaryen.setDebugInfo(true)
    return module.emitBinary()
  } finally {
    binaryen.setDebugInfo(false)
    module.dispose()
  }
}

/** The text of function `name` in `wasm`, as Binaryen prints it. */
export function functionText(wasm: Uint8Array, name: string): string {
  const module = binaryen.readBinary(wasm)
  try {
    return module.emitText().split('\n (func ').find((text) => text.startsWith(`$${name} `))!
  } finally {
    module.dispose()
  }
}
