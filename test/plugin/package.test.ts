import { execFile } from 'node:child_process'
import { readFileSync } from 'node:fs'
import { join, posix, resolve } from 'node:path'
import { promisify } from 'node:util'
import { describe, expect, test } from 'vitest'

const root = resolve(import.meta.dirname, '../..')

/** The files `npm publish` would ship, as package-relative paths. */
async function packedFiles(): Promise<Set<string>> {
  const { stdout } = await promisify(execFile)('npm', ['pack', '--dry-run', '--json', '--ignore-scripts', '--loglevel=error'], { cwd: root })
  const [pack] = JSON.parse(stdout) as { files: { path: string }[] }[]
  return new Set(pack!.files.map((file) => file.path))
}

describe('the published package', () => {
  // A map naming a file the package lacks makes Vite's dev server log "points to missing source files" for it.
  test('every source map it ships names only sources it ships, and every map a file points to is shipped', async () => {
    const files = await packedFiles()
    expect(files).toContain('dist/runtime-shim/index.js')
    // The C header of the guest API, for `-I node_modules/unplugin-asyncify/include`.
    expect(files).toContain('include/asyncify.h')
    const missing: string[] = []
    for (const path of files) {
      if (path.endsWith('.map')) {
        const map = JSON.parse(readFileSync(join(root, path), 'utf8')) as { sourceRoot?: string; sources: string[] }
        for (const source of map.sources) {
          const shipped = posix.normalize(posix.join(posix.dirname(path), map.sourceRoot ?? '', source))
          if (!files.has(shipped)) missing.push(`${path} names ${shipped}`)
        }
      }
      if (path.endsWith('.js') || path.endsWith('.d.ts')) {
        const url = /\/\/# sourceMappingURL=(\S+)\s*$/.exec(readFileSync(join(root, path), 'utf8'))?.[1]
        if (url !== undefined && !files.has(posix.join(posix.dirname(path), url))) missing.push(`${path} points to ${url}`)
      }
    }
    expect(missing).toEqual([])
  })
})
