import { dirname, join, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'

export const repoDir = resolve(dirname(fileURLToPath(import.meta.url)), '../..')
export const playgroundDir = join(repoDir, 'playground')
