import { delimiter, sep } from 'node:path'

/**
 * The environment to run clang in. clang's wasm driver runs `wasm-opt` after
 * linking whenever one is on PATH, and npm scripts put binaryen's there
 * (node_modules/.bin): it would strip the name section and optimize behind the
 * build's back. Dropping those PATH entries keeps clang's own output.
 */
export function clangEnv(): NodeJS.ProcessEnv {
  const path = (process.env.PATH ?? '')
    .split(delimiter)
    .filter((entry) => !entry.endsWith(`${sep}node_modules${sep}.bin`))
    .join(delimiter)
  return { ...process.env, PATH: path }
}
