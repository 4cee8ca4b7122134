/** Child process side of the Node runs: reads the harness input (JSON, wasm as base64) from stdin, prints the output. */
import { getHeapStatistics } from 'node:v8'
import { runHarness, type AllocatedBytes, type HarnessInput } from './measure.js'
import type { WireInput } from './wire.js'

let text = ''
for await (const chunk of process.stdin) text += chunk
const wire = JSON.parse(text) as WireInput
const bytes = (base64: string) => new Uint8Array(Buffer.from(base64, 'base64'))
const input: HarnessInput = { ...wire, untouched: bytes(wire.untouched), asyncified: bytes(wire.asyncified), asyncifiedForSpeed: bytes(wire.asyncifiedForSpeed), nativeAsyncified: bytes(wire.nativeAsyncified), jspi: bytes(wire.jspi) }
// Node 26 counts the bytes its heap allocated; Node 20 does not.
const allocated = () => (getHeapStatistics() as { total_allocated_bytes?: number }).total_allocated_bytes
const allocatedBytes: AllocatedBytes | null = allocated() === undefined ? null : () => allocated()!
process.stdout.write(JSON.stringify(await runHarness(input, allocatedBytes)))
