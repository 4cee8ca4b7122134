/*
 * Runs transforms in a process of its own, where binaryen.js loads once:
 * through our loader (argv[2] "wasm": its invoke imports answered in wasm)
 * or as binaryen.js loads itself ("js"). Reads the jobs from the JSON file
 * argv[3]; prints, as JSON, each job's outputs (hashed) or error, and what
 * Binaryen's C++ exceptions looked like on the way out.
 */
import { createHash } from 'node:crypto'
import { readFileSync } from 'node:fs'

const dist = new URL('../../dist/transform/', import.meta.url)
const { installOutputCapture, flushOutputWith, withOutput } = await import(new URL('binaryen-output.js', dist).href)
installOutputCapture()
const { loadBinaryen } = await import(new URL('binaryen-load.js', dist).href)
const { binaryenMessage } = await import(new URL('binaryen.js', dist).href)
const { runPipeline } = await import(new URL('pipeline.js', dist).href)
const { resolveTransformOptions } = await import(new URL('options.js', dist).href)

const { binaryen, wasmInvokes } = process.argv[2] === 'wasm' ? await loadBinaryen() : { binaryen: (await import('binaryen')).default, wasmInvokes: 0 }
flushOutputWith(binaryen)

const hash = (bytes) => (bytes ? createHash('sha256').update(bytes).digest('hex') : null)
const results = JSON.parse(readFileSync(process.argv[3], 'utf8')).map(({ file, options }) => {
  try {
    const { wasm, jspi, report } = withOutput(() => runPipeline(binaryen, new Uint8Array(readFileSync(file)), resolveTransformOptions(options))).result
    return { wasm: hash(wasm), jspi: hash(jspi?.wasm), report: { ...report, timeMs: 0 } }
  } catch (failure) {
    const error = failure.original ?? failure
    return { error: `${error.code ?? ''} ${binaryenMessage(binaryen, error)}` }
  }
})

// Thousands of C++ exceptions thrown through Binaryen's frames to JavaScript: a
// C stack pointer not put back on the way would run out of stack long before.
const thrown = new Set()
for (let i = 0; i < 5000; i++) {
  try {
    withOutput(() => binaryen.parseText('(module (func $f (result i32) (i32.const'))
    thrown.add('no exception')
  } catch (error) {
    thrown.add(binaryenMessage(binaryen, error.original ?? error))
  }
}
const after = binaryen.parseText('(module (func $f (export "f") (result i32) (i32.const 7)))')
const valid = after.validate() === 1
after.dispose()
process.stdout.write(JSON.stringify({ wasmInvokes, results, thrown: [...thrown], valid }))
