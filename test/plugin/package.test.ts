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

describe('the bundled Node side', () => {
  const pkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as { name: string } & Record<string, Record<string, string>>
  // Its own name too: the examples in its comments import it.
  const declared = new Set([pkg.name, ...Object.keys(pkg.dependencies!), ...Object.keys(pkg.peerDependencies!)])

  // What scripts/bundle-node.ts inlines is a devDependency: an import of it left in dist would fail in a user's install.
  test('imports only Node builtins, its own files and the packages it declares', async () => {
    const undeclared: string[] = []
    for (const path of await packedFiles()) {
      if (!path.endsWith('.js')) continue
      const code = readFileSync(join(root, path), 'utf8')
      for (const [, specifier] of code.matchAll(/(?:^import[^'"]*|\bfrom |\bimport\(|\brequire\()\s*['"]([^'"]+)['"]/gm)) {
        if (specifier!.startsWith('.') || specifier!.startsWith('node:')) continue
        const name = specifier!.startsWith('@') ? specifier!.split('/').slice(0, 2).join('/') : specifier!.split('/')[0]!
        if (!declared.has(name)) undeclared.push(`${path} imports ${specifier}`)
      }
    }
    expect(undeclared).toEqual([])
  })

  test('ships the license of each package bundled into it', async () => {
    const files = await packedFiles()
    expect(files).toContain('dist/THIRD-PARTY-LICENSES.md')
    const notices = readFileSync(join(root, 'dist/THIRD-PARTY-LICENSES.md'), 'utf8')
    const chunks = [...files].filter((path) => path.startsWith('dist/chunks/')).map((path) => readFileSync(join(root, path), 'utf8')).join('\n')
    // Each inlined package, found by code only it has, with its license text as its package ships it.
    for (const [name, marker, license] of [
      ['matcher', 'Expected \'${inputName}\' to be a string or an array', 'license'],
      ['@jridgewell/sourcemap-codec', 'var StringReader = class', 'LICENSE'],
    ] as const) {
      expect(chunks).toContain(marker)
      expect(notices).toContain(`## ${name} `)
      expect(notices).toContain(readFileSync(join(root, 'node_modules', name, license), 'utf8').trim())
    }
  })
})
