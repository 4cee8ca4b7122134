#!/usr/bin/env node
/* wasm-asyncify: the transform from the command line. */
import { readFile, writeFile } from 'node:fs/promises'
import { parseArgs } from 'node:util'
import { AsyncifyError } from './runtime-shim/errors.js'
import { asyncifyWasm, type OptimizeLevel, type TransformOptions } from './transform/index.js'
import type { TransformMode } from './transform/options.js'

const USAGE = `usage: wasm-asyncify <in.wasm> -o <out.wasm> [--mode auto|asyncify|jspi] [--imports env.sleep,env.read_*]
                     [--runtime name,...] [--optimize 0|1|2|3|s|z] [--preoptimize] [--stack-size BYTES]
                     [--features sign-ext,bulk-memory,...] [--report]

  --mode auto      (default) the asyncified module to out.wasm and the module for engines
                   with JSPI to out.jspi.wasm; instantiate({ jspi, asyncify }) picks one.
                   A module Asyncify cannot transform gets only out.jspi.wasm, with a warning.
  --mode asyncify  only the asyncified module, to out.wasm
  --mode jspi      only the module for engines with JSPI, to out.wasm`

const MODES: readonly TransformMode[] = ['auto', 'asyncify', 'jspi']

function fail(message: string): never {
  // One line, so scripts and build logs can grep it.
  process.stderr.write(`wasm-asyncify: ${message.replace(/\s*\n\s*/g, ' ')}\n`)
  process.exit(1)
}

function list(value: string | undefined): string[] | undefined {
  return value === undefined ? undefined : value.split(',').map((entry) => entry.trim()).filter(Boolean)
}

function mode(value: string | undefined): TransformMode | undefined {
  if (value === undefined || (MODES as readonly string[]).includes(value)) return value as TransformMode | undefined
  return fail(`--mode takes auto, asyncify or jspi; got "${value}"`)
}

/** Where auto mode writes the JSPI build: `out.wasm` -> `out.jspi.wasm`, in the same directory. */
function jspiPath(output: string): string {
  return `${output.endsWith('.wasm') ? output.slice(0, -'.wasm'.length) : output}.jspi.wasm`
}

function optimizeLevel(value: string | undefined): OptimizeLevel | undefined {
  if (value === undefined) return undefined
  if (value === 's' || value === 'z') return value
  if (/^[0-3]$/.test(value)) return Number(value) as OptimizeLevel
  return fail(`--optimize takes 0, 1, 2, 3, s or z; got "${value}"`)
}

async function main(): Promise<void> {
  let parsed
  try {
    parsed = parseArgs({
      allowPositionals: true,
      options: {
        output: { type: 'string', short: 'o' },
        mode: { type: 'string' },
        imports: { type: 'string' },
        runtime: { type: 'string' },
        optimize: { type: 'string' },
        preoptimize: { type: 'boolean' },
        'stack-size': { type: 'string' },
        features: { type: 'string' },
        report: { type: 'boolean' },
        help: { type: 'boolean', short: 'h' },
      },
    })
  } catch (error) {
    return fail(`${(error as Error).message} (see wasm-asyncify --help)`)
  }
  const { values, positionals } = parsed
  if (values.help) {
    process.stdout.write(`${USAGE}\n`)
    return
  }
  if (positionals.length !== 1) fail(`expected one input file, got ${positionals.length} (see wasm-asyncify --help)`)
  if (!values.output) fail(`missing -o <out.wasm> (see wasm-asyncify --help)`)
  const input = positionals[0]!
  const output = values.output!
  const chosenMode = mode(values.mode)
  const stackSize = values['stack-size'] === undefined ? undefined : Number(values['stack-size'])
  let bytes: Uint8Array
  try {
    bytes = await readFile(input)
  } catch (error) {
    return fail(`${input}: cannot read the input (${(error as NodeJS.ErrnoException).code ?? (error as Error).message})`)
  }
  try {
    const { wasm, jspi, report } = await asyncifyWasm(bytes, {
      imports: list(values.imports),
      runtime: list(values.runtime),
      optimize: optimizeLevel(values.optimize),
      preoptimize: values.preoptimize,
      stackSize,
      features: list(values.features) as TransformOptions['features'],
      mode: chosenMode,
      filename: input,
    })
    // Mode jspi has one build, so it goes to -o itself; next to an asyncified one it takes the `.jspi.wasm` name.
    const outputs: { path: string; build: string; bytes: Uint8Array }[] = []
    if (wasm !== null) outputs.push({ path: output, build: 'asyncify', bytes: wasm })
    if (jspi !== null) outputs.push({ path: chosenMode === 'jspi' ? output : jspiPath(output), build: 'jspi', bytes: jspi.wasm })
    for (const { path, bytes } of outputs) await write(path, bytes)
    for (const warning of report.warnings) process.stderr.write(`wasm-asyncify: warning: ${input}: ${warning}\n`)
    if (report.asyncifyUnsupported !== null) {
      const why = report.asyncifyUnsupported
      const reason = why.startsWith(`${input}: `) ? why.slice(input.length + 2) : why
      process.stderr.write(
        `wasm-asyncify: warning: ${input}: Asyncify cannot transform this module, so ${output} was not written and ` +
          `engines without JSPI cannot run it: ${reason.replace(/\s*\n\s*/g, ' ')}\n`,
      )
    }
    for (const { path, build, bytes } of outputs) process.stdout.write(`wrote ${path} (${build} build, ${bytes.length} bytes)\n`)
    if (values.report) {
      process.stdout.write(
        `${input}\n` +
          `  builds: ${report.paths.join(', ')}\n` +
          `  functions instrumented: ${report.functions.instrumented} / ${report.functions.total}\n` +
          `  size: ${report.size.before} -> ${report.size.after} bytes\n` +
          `  async imports: ${report.asyncImports.join(', ') || 'none'}\n` +
          `  suspending exports: ${report.suspendingExports.join(', ') || 'none'}\n` +
          `  time: ${report.timeMs} ms\n`,
      )
    }
  } catch (error) {
    if (error instanceof AsyncifyError) fail(error.message)
    throw error
  }
}

const WRITE_FIXES: Record<string, string> = {
  ENOENT: 'its directory does not exist: create it first',
  ENOTDIR: 'a parent of it is a file, not a directory',
  EISDIR: 'it is a directory: give -o a file name',
  EACCES: 'choose a location you can write to',
  EPERM: 'choose a location you can write to',
  EROFS: 'the file system is read-only: choose another location',
}

async function write(path: string, wasm: Uint8Array): Promise<void> {
  try {
    await writeFile(path, wasm)
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code ?? (error as Error).message
    fail(`${path}: cannot write the output (${code}${WRITE_FIXES[code] ? `: ${WRITE_FIXES[code]}` : ''})`)
  }
}

// Whatever escapes is a bug, but it still gets one line, not a stack trace the user must dig through.
await main().catch((error: unknown) =>
  fail(`internal error: ${error instanceof Error ? error.message : String(error)}; this is a bug in unplugin-asyncify, please report it`),
)
