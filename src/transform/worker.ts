/*
 * The transform worker. Binaryen runs here, off the caller's main thread,
 * because binaryen.js is process-global (options, pass arguments), takes about
 * a second to load, and can abort in ways that leave it unusable: the pool
 * throws this worker away after any failure it cannot vouch for.
 */
import { parentPort } from 'node:worker_threads'
import { AsyncifyError } from '../runtime-shim/errors.js'
import { BinaryenFailure, flushOutputWith, installOutputCapture, printedText, withOutput } from './binaryen-output.js'
import { binaryenMessage } from './binaryen.js'
import { loadBinaryen } from './binaryen-load.js'
import type { ResolvedTransformOptions } from './options.js'
import { runPipeline, type TransformResult } from './pipeline.js'
import type { Binaryen } from './binaryen.js'
import { buildWithoutBinaryen, fastBuildOrFallback } from './without-binaryen.js'

export interface WorkerRequest {
  id: number
  bytes: Uint8Array
  options: ResolvedTransformOptions
}

export type WorkerResponse =
  | { id: number; ok: true; result: ReturnType<typeof runPipeline> }
  | { id: number; ok: false; code: AsyncifyError['code']; message: string; fatal: boolean }

installOutputCapture()
const port = parentPort!
let loaded: Promise<Binaryen> | null = null

/** binaryen.js, loaded the first time a module needs it (most need only the direct engine). */
function binaryenOnce(): Promise<Binaryen> {
  loaded ??= loadBinaryen().then(({ binaryen }) => {
    flushOutputWith(binaryen)
    return binaryen
  })
  return loaded
}

let queue = Promise.resolve()
port.on('message', (request: WorkerRequest) => {
  queue = queue.then(() => handle(request))
})

async function handle(request: WorkerRequest): Promise<void> {
  let built: { fast: TransformResult | null; warning: string | null }
  try {
    built = fastBuildOrFallback(() => buildWithoutBinaryen(request.bytes, request.options))
  } catch (error) {
    // Bad input, the one failure it throws (an AsyncifyError), is said as the pipeline would say it.
    const { code, message } = error as AsyncifyError
    port.postMessage({ id: request.id, ok: false, code, message, fatal: false } satisfies WorkerResponse)
    return
  }
  const { fast, warning } = built
  if (fast) {
    port.postMessage({ id: request.id, ok: true, result: fast } satisfies WorkerResponse, transferables(fast))
    return
  }
  let binaryen: Binaryen
  try {
    binaryen = await binaryenOnce()
  } catch (error) {
    port.postMessage({
      id: request.id,
      ok: false,
      code: 'ASYNCIFY_BINARYEN_FAILED',
      message: `${request.options.filename}: binaryen.js failed to load: ${error instanceof Error ? error.message : String(error)}`,
      fatal: true,
    } satisfies WorkerResponse)
    return
  }
  let response: WorkerResponse
  // Whatever Binaryen prints during this job and no step claimed belongs to this file and no other.
  try {
    const { result, output } = withOutput(() => runPipeline(binaryen, request.bytes, request.options))
    if (warning !== null) result.report.warnings.push(warning)
    if (output.length > 0) result.report.warnings.push(`Binaryen printed: ${printedText(output)}`)
    response = { id: request.id, ok: true, result }
    port.postMessage(response, transferables(result))
    return
  } catch (failure) {
    const error = failure instanceof BinaryenFailure ? failure.original : failure
    const printed = failure instanceof BinaryenFailure ? printedText(failure.output) : ''
    const also = printed ? ` (Binaryen printed: ${printed})` : ''
    if (error instanceof AsyncifyError) {
      response = { id: request.id, ok: false, code: error.code, message: error.message + also, fatal: false }
    } else {
      response = {
        id: request.id,
        ok: false,
        code: 'ASYNCIFY_BINARYEN_FAILED',
        message:
          `${request.options.filename}: Binaryen failed while transforming this module: ${binaryenMessage(binaryen, error)}${also}; ` +
          `this is a bug in unplugin-asyncify or Binaryen, please report it with the .wasm file`,
        fatal: true,
      }
    }
  }
  port.postMessage(response)
}

function transferables(result: TransformResult): ArrayBuffer[] {
  return [result.wasm, result.jspi?.wasm].filter((bytes) => bytes != null).map((bytes) => bytes.buffer as ArrayBuffer)
}
