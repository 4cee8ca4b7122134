import { AsyncifyError } from '../runtime-shim/errors.js'
import { BinaryenFailure, printedText, withOutput } from './binaryen-output.js'
import { binaryenMessage, type Binaryen, type BinaryenModule } from './binaryen.js'

function features(binaryen: Binaryen): number {
  // Everything Binaryen knows except CompactImports, whose import encoding
  // engines do not accept yet (Node 20: "unknown import kind 0x7f").
  const all = binaryen.Features as unknown as Record<'All' | 'CompactImports', number>
  return all.All & ~all.CompactImports
}

/** Bytes -> a validated Binaryen module, or ASYNCIFY_INVALID_WASM naming what is wrong. */
export function read(binaryen: Binaryen, bytes: Uint8Array, filename: string): BinaryenModule {
  let module: BinaryenModule
  try {
    module = withOutput(() => binaryen.readBinary(bytes)).result
  } catch (error) {
    const original = error instanceof BinaryenFailure ? error.original : error
    // The cause ("[parse exception: ...]") is printed; the exception only says "error in parsing wasm binary".
    const printed = error instanceof BinaryenFailure ? printedText(error.output) : ''
    throw new AsyncifyError(
      'ASYNCIFY_INVALID_WASM',
      `${filename}: not a valid WebAssembly module (${printed || binaryenMessage(binaryen, original)}); ` +
        `the file is truncated or corrupted: rebuild it`,
      { cause: error },
    )
  }
  module.setFeatures(features(binaryen))
  // DWARF would describe the code before instrumentation; the name section is kept instead.
  module.runPasses(['strip-dwarf'])
  const { result: valid, output } = withOutput(() => module.validate())
  if (!valid) {
    module.dispose()
    throw new AsyncifyError(
      'ASYNCIFY_INVALID_WASM',
      `${filename}: the module does not validate (${printedText(output)}); rebuild it with a supported toolchain`,
    )
  }
  return module
}
