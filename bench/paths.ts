import { dirname, join, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'

export const repoDir = resolve(dirname(fileURLToPath(import.meta.url)), '..')
/** Bundled child scripts and compiled fixtures; inside the repository so that bare imports resolve to its node_modules. */
export const buildDir = join(repoDir, 'bench/.build')
/** The Node versions besides the machine's (tools/nodes): Node 26 has JSPI; 22 and 24, the LTS lines without it, run the Asyncify build. */
export const nodeBinary = (major: 22 | 24 | 26) => join(repoDir, `tools/nodes/node_modules/node${major}/bin/node`)
export const WASM_OPT = '/usr/bin/wasm-opt'
