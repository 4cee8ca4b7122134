#!/usr/bin/env node
/* wasm-asyncify: the transform from the command line. */
import { readFile, writeFile } from 'node:fs/promises'
import { parseArgs } from 'node:util'
import { AsyncifyError } from './runtime-shim/errors.js'
import { asyncifyWasm, type OptimizeLevel, type TransformOptions } from './transform/index.js'

const USAGE = `usage: wasm-asyncify <in.wasm> -o <out.wasm> [--imports env.sleep,env.read_*] [--runtime name,...]
                     [--optimize 0|1|2|3|s|z] [--stack-size BYTES] [--features sign-ext,bulk-memory,...] [--report]`

function fail(message: string): never {
  // One line, so scripts and build logs can grep it.
  process.stderr.write(`wasm-asyncify: ${message.replace(/\s*\n\s*/g, ' ')}\n`)
  process.exit(1)
}

function list(value: string | undefined): string[] | undefined {
  return value === undefined ? undefined : value.split(',').map((entry) => entry.trim()).filter(Boolean)
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
        imports: { type: 'string' },
        runtime: { type: 'string' },
        optimize: { type: 'string' },
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
  const stackSize = values['stack-size'] === undefined ? undefined : Number(values['stack-size'])
  let bytes: Uint8Array
  try {
    bytes = await readFile(input)
  } catch (error) {
    return fail(`${input}: cannot read the input (${(error as NodeJS.ErrnoException).code ?? (error as Error).message})`)
  }
  try {
    const { wasm, report } = await asyncifyWasm(bytes, {
      imports: list(values.imports),
      runtime: list(values.runtime),
      optimize: optimizeLevel(values.optimize),
      stackSize,
      features: list(values.features) as TransformOptions['features'],
      filename: input,
    })
    await write(values.output, wasm)
    for (const warning of report.warnings) process.stderr.write(`wasm-asyncify: warning: ${input}: ${warning}\n`)
    if (values.report) {
      process.stdout.write(
        `${input} -> ${values.output}\n` +
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
