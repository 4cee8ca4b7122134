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
import { runPipeline } from './pipeline.js'

export interface WorkerRequest {
  id: number
  bytes: Uint8Array
  options: ResolvedTransformOptions
}

export type WorkerResponse =
  | { id: number; ok: true; result: ReturnType<typeof runPipeline> }
  | { id: number; ok: false; code: AsyncifyError['code']; message: string; fatal: boolean }

installOutputCapture()
const { binaryen } = await loadBinaryen()
flushOutputWith(binaryen)
const port = parentPort!

port.on('message', (request: WorkerRequest) => {
  let response: WorkerResponse
  // Whatever Binaryen prints during this job and no step claimed belongs to this file and no other.
  try {
    const { result, output } = withOutput(() => runPipeline(binaryen, request.bytes, request.options))
    if (output.length > 0) result.report.warnings.push(`Binaryen printed: ${printedText(output)}`)
    response = { id: request.id, ok: true, result }
    port.postMessage(
      response,
      [result.wasm, result.jspi?.wasm].filter((bytes) => bytes != null).map((bytes) => bytes.buffer as ArrayBuffer),
    )
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
})
