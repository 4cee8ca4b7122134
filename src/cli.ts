#!/usr/bin/env node
/* wasm-asyncify: the transform from the command line. */
import { readFile, writeFile } from 'node:fs/promises'
import { parseArgs, type ParseArgsConfig } from 'node:util'
import { AsyncifyError } from './runtime-shim/errors.js'
import { whyLines } from './transform/explain.js'
import { asyncifyWasm, type OptimizeLevel, type TransformOptions } from './transform/index.js'
import { DEFAULT_STACK_SIZE, type AsyncifyEngine, type TransformMode } from './transform/options.js'

/** Every flag, in the order `--help` lists them; `HELP` must describe each one. */
const FLAGS = {
  output: { type: 'string', short: 'o' },
  mode: { type: 'string' },
  imports: { type: 'string' },
  runtime: { type: 'string' },
  engine: { type: 'string' },
  optimize: { type: 'string' },
  preoptimize: { type: 'boolean' },
  'stack-size': { type: 'string' },
  features: { type: 'string' },
  debug: { type: 'boolean' },
  report: { type: 'boolean' },
  explain: { type: 'boolean' },
  help: { type: 'boolean', short: 'h' },
  version: { type: 'boolean' },
} as const satisfies ParseArgsConfig['options']

interface FlagHelp {
  /** The value's placeholder; none for a switch. */
  value?: string
  text: string
  default: string
  example: string
}

const HELP: Record<keyof typeof FLAGS, FlagHelp> = {
  output: { value: '<out.wasm>', text: 'where to write the output (required; see the modes below)', default: 'none', example: '-o dist/prog.wasm' },
  mode: { value: 'auto|asyncify|jspi', text: 'which builds to write (see the modes below)', default: 'auto', example: '--mode asyncify' },
  imports: {
    value: '<module.name,...>',
    text: 'function imports that may return a Promise; * matches any run of characters (quote it for the shell)',
    default: 'every function import, which instruments more code than needed',
    example: "--imports 'env.sleep,env.read_*'",
  },
  runtime: {
    value: '<name,...>',
    text: 'function-name patterns of code that drives Asyncify itself, never instrumented',
    default: 'none',
    example: "--runtime 'my_scheduler_*'",
  },
  engine: {
    value: 'direct|binaryen',
    text: 'what builds the asyncified module: direct instruments the bytes without Binaryen and hands Binaryen what it does not handle; binaryen always runs Binaryen\'s Asyncify pass and optimizer',
    default: 'direct',
    example: '--engine binaryen',
  },
  optimize: { value: '0|1|2|3|s|z', text: 'optimization level. Where Binaryen builds: 0 skips Asyncify\'s cleanup of the code it instruments (1-3, s and z give the same build); with --preoptimize, the whole-module level. In the direct engine, s and z share the code that saves and restores locals among functions and leave out branch hints: smaller, a call per frame at each suspension; 3 writes functions whose rewind-only checks cost most twice, once without them for every call to run: faster code that does not suspend, a larger output', default: '2', example: '--optimize 0' },
  preoptimize: { text: 'also optimize the whole module before Asyncify, for input compiled at -O0', default: 'off', example: '--preoptimize' },
  'stack-size': {
    value: '<bytes>',
    text: 'bytes of Asyncify stack for one suspended call stack: a whole number, or KiB with a k suffix',
    default: `${DEFAULT_STACK_SIZE} (64k)`,
    example: '--stack-size 128k',
  },
  features: {
    value: '<name,...>',
    text: 'wasm features the output may use, for a module without a target_features section',
    default: 'the fewest the module validates with',
    example: '--features sign-ext,bulk-memory',
  },
  debug: {
    text: "turn the input's DWARF line tables into a source map embedded in each build (see Debugging the C source in the README)",
    default: 'off',
    example: '--debug',
  },
  report: { text: 'print what the transform did (builds, instrumented functions, sizes, time) to stdout', default: 'off', example: '--report' },
  explain: {
    text: 'print why each function was instrumented (its chain down to an async import) and the bytes it added, largest first',
    default: 'off',
    example: '--explain',
  },
  help: { text: 'print this help', default: 'off', example: '--help' },
  version: { text: 'print the version of unplugin-asyncify', default: 'off', example: '--version' },
}

const MODES_HELP = `modes:
  --mode auto      the asyncified module to out.wasm and the module for engines with JSPI
                   to out.jspi.wasm; instantiate({ jspi, asyncify }) picks one.
                   A module Asyncify cannot transform gets only out.jspi.wasm, with a warning.
  --mode asyncify  only the asyncified module, to out.wasm
  --mode jspi      only the module for engines with JSPI, to out.wasm`

function usage(): string {
  const flags = Object.entries(HELP).map(([name, help]) => {
    const short = (FLAGS[name as keyof typeof FLAGS] as { short?: string }).short
    const flag = `${short ? `-${short}, ` : ''}--${name}${help.value ? ` ${help.value}` : ''}`
    return `  ${flag}\n      ${help.text}\n      default: ${help.default}; e.g. ${help.example}`
  })
  return [
    'usage: wasm-asyncify <in.wasm> -o <out.wasm> [options]',
    '',
    'Lets the module call Promise-returning imports as if they were synchronous.',
    "e.g. wasm-asyncify prog.wasm -o dist/prog.wasm --imports 'env.sleep,env.read_*' --report",
    '',
    'options:',
    ...flags,
    '',
    MODES_HELP,
    '',
  ].join('\n')
}

const MODES: readonly TransformMode[] = ['auto', 'asyncify', 'jspi']

function fail(message: string): never {
  // One line, so scripts and build logs can grep it.
  process.stderr.write(`wasm-asyncify: ${message.replace(/\s*\n\s*/g, ' ')}\n`)
  process.exit(1)
}

function list(value: string | undefined): string[] | undefined {
  return value === undefined ? undefined : value.split(',').map((entry) => entry.trim()).filter(Boolean)
}

/**
 * An empty list would transform with no async import at all, a module that never
 * suspends: certainly a mistake (an unset shell variable), so it is refused.
 */
function imports(value: string | undefined): string[] | undefined {
  const patterns = list(value)
  if (patterns?.length === 0) {
    fail(`--imports takes at least one "module.name" pattern, e.g. --imports 'env.sleep'; got "${value}" (leave --imports out to make every function import async)`)
  }
  return patterns
}

function mode(value: string | undefined): TransformMode | undefined {
  if (value === undefined || (MODES as readonly string[]).includes(value)) return value as TransformMode | undefined
  return fail(`--mode takes auto, asyncify or jspi; got "${value}"`)
}

/** Where auto mode writes the JSPI build: `out.wasm` -> `out.jspi.wasm`, in the same directory. */
function jspiPath(output: string): string {
  return `${output.endsWith('.wasm') ? output.slice(0, -'.wasm'.length) : output}.jspi.wasm`
}

function engine(value: string | undefined): AsyncifyEngine | undefined {
  if (value === undefined || value === 'direct' || value === 'binaryen') return value
  return fail(`--engine takes direct or binaryen; got "${value}"`)
}

function optimizeLevel(value: string | undefined): OptimizeLevel | undefined {
  if (value === undefined) return undefined
  if (value === 's' || value === 'z') return value
  if (/^[0-3]$/.test(value)) return Number(value) as OptimizeLevel
  return fail(`--optimize takes 0, 1, 2, 3, s or z; got "${value}"`)
}

/**
 * Digits only, or KiB with a k: `Number()` alone would take `''`, `0x40` and `1e3`.
 * The transform checks the range (a multiple of 4, at least 64).
 */
function stackSize(value: string | undefined): number | undefined {
  if (value === undefined) return undefined
  const match = /^(\d+)([kK]?)$/.exec(value)
  if (match === null) return fail(`--stack-size takes a whole number of bytes, or of KiB with a k suffix (65536, 64k); got "${value}"`)
  return Number(match[1]) * (match[2] ? 1024 : 1)
}

async function version(): Promise<string> {
  // src/cli.ts and dist/cli.js both sit one directory below the package root.
  const pkg = JSON.parse(await readFile(new URL('../package.json', import.meta.url), 'utf8')) as { version: string }
  return pkg.version
}

async function main(): Promise<void> {
  let parsed
  try {
    parsed = parseArgs({ allowPositionals: true, options: FLAGS })
  } catch (error) {
    return fail(`${(error as Error).message} (see wasm-asyncify --help)`)
  }
  const { values, positionals } = parsed
  if (values.help) {
    process.stdout.write(usage())
    return
  }
  if (values.version) {
    process.stdout.write(`${await version()}\n`)
    return
  }
  if (positionals.length !== 1) fail(`expected one input file, got ${positionals.length} (see wasm-asyncify --help)`)
  if (!values.output) fail(`missing -o <out.wasm> (see wasm-asyncify --help)`)
  const input = positionals[0]!
  const output = values.output!
  // Every flag is checked before the input is read, so a typo costs nothing.
  const transformOptions: TransformOptions = {
    imports: imports(values.imports),
    runtime: list(values.runtime),
    engine: engine(values.engine),
    optimize: optimizeLevel(values.optimize),
    preoptimize: values.preoptimize,
    stackSize: stackSize(values['stack-size']),
    features: list(values.features) as TransformOptions['features'],
    mode: mode(values.mode),
    debug: values.debug,
    filename: input,
  }
  let bytes: Uint8Array
  try {
    bytes = await readFile(input)
  } catch (error) {
    return fail(`${input}: cannot read the input (${(error as NodeJS.ErrnoException).code ?? (error as Error).message})`)
  }
  try {
    const { wasm, jspi, report } = await asyncifyWasm(bytes, transformOptions)
    // Mode jspi has one build, so it goes to -o itself; next to an asyncified one it takes the `.jspi.wasm` name.
    const outputs: { path: string; build: string; bytes: Uint8Array }[] = []
    if (wasm !== null) outputs.push({ path: output, build: 'asyncify', bytes: wasm })
    if (jspi !== null) outputs.push({ path: transformOptions.mode === 'jspi' ? output : jspiPath(output), build: 'jspi', bytes: jspi.wasm })
    // Warnings first: a failed write exits, and the warning may be why the output is not what was wanted.
    for (const warning of report.warnings) process.stderr.write(`wasm-asyncify: warning: ${input}: ${warning}\n`)
    if (report.asyncifyUnsupported !== null) {
      const why = report.asyncifyUnsupported
      const reason = why.startsWith(`${input}: `) ? why.slice(input.length + 2) : why
      process.stderr.write(
        `wasm-asyncify: warning: ${input}: Asyncify cannot transform this module, so ${output} was not written and ` +
          `engines without JSPI cannot run it: ${reason.replace(/\s*\n\s*/g, ' ')}\n`,
      )
    }
    if (report.jspiUnsupported !== null) process.stderr.write(`wasm-asyncify: note: ${input}: no JSPI build, ${report.jspiUnsupported}\n`)
    for (const { path, bytes } of outputs) await write(path, bytes)
    for (const { path, build, bytes } of outputs) process.stdout.write(`wrote ${path} (${build} build, ${bytes.length} bytes)\n`)
    if (values.report) {
      process.stdout.write(
        `${input}\n` +
          `  builds: ${report.paths.join(', ')}\n` +
          (report.engine === null ? '' : `  asyncify engine: ${report.engine}\n`) +
          `  functions instrumented: ${report.functions.instrumented} / ${report.functions.total}\n` +
          `  size: ${report.size.before} -> ${report.size.after} bytes\n` +
          `  async imports: ${report.asyncImports.join(', ') || 'none'}\n` +
          `  suspending exports: ${report.suspendingExports.join(', ') || 'none'}\n` +
          `  time: ${report.timeMs} ms\n`,
      )
    }
    if (values.explain) {
      process.stdout.write(`${input}: ${report.why.length} functions instrumented, by bytes added\n`)
      for (const line of whyLines(report.why)) process.stdout.write(`${line}\n`)
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
