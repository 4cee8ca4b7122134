import { execFile } from 'node:child_process'
import { delimiter, sep } from 'node:path'
import { promisify } from 'node:util'

const execFileAsync = promisify(execFile)

/**
 * npm scripts put node_modules/.bin first on PATH, where binaryen.js installs
 * a JavaScript `wasm-opt` (version 132, and 50 times slower to start than the
 * native one): without those entries, PATH finds Debian's binaryen 108.
 */
const env = {
  ...process.env,
  PATH: (process.env.PATH ?? '')
    .split(delimiter)
    .filter((entry) => !entry.endsWith(`${sep}node_modules${sep}.bin`))
    .join(delimiter),
}

/** Runs a native binaryen tool (`wasm-opt`, `wasm-as`, `wasm-reduce`) and returns its stdout. */
export async function runNative(tool: string, args: string[]): Promise<string> {
  const { stdout } = await execFileAsync(tool, args, { env, maxBuffer: 64 << 20 })
  return stdout
}
