/** Page side of the Chromium runs: `globalThis.runBench(wire)` resolves to the harness output. */
import { runHarness } from './measure.js'
import type { WireInput } from './wire.js'

const bytes = (base64: string) => Uint8Array.from(atob(base64), (char) => char.charCodeAt(0))

;(globalThis as Record<string, unknown>).runBench = (wire: WireInput) =>
  runHarness({ ...wire, untouched: bytes(wire.untouched), asyncified: bytes(wire.asyncified), asyncifiedForSpeed: bytes(wire.asyncifiedForSpeed), nativeAsyncified: bytes(wire.nativeAsyncified), jspi: bytes(wire.jspi) })
