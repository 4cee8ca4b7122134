import { execFile } from 'node:child_process'
import { createHash } from 'node:crypto'
import { cpSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs'
import { join, resolve } from 'node:path'
import { promisify } from 'node:util'
import { beforeAll, describe, expect, test } from 'vitest'
import { appOptions, expectedResult, fixtures, makeApp, runMain } from './helpers.js'

/**
 * The oldest release of each peer major that differs from the devDependencies:
 * the floor of the range package.json claims. The rest of the suite runs the
 * newest majors.
 */
const OLDEST = { vite: '6.0.0', '@rspack/core': '1.0.0', esbuild: '0.25.0' }

const root = resolve(import.meta.dirname, '../..')
const execFileAsync = promisify(execFile)
const pkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as Record<string, unknown>

/**
 * A project of its own that installs the packed package beside the oldest
 * majors, as a user's `npm install` would (so the peer ranges are checked by
 * npm too). It is kept under node_modules/.cache, keyed by everything that
 * changes what npm resolves; a rerun only swaps in the freshly packed package.
 */
const project = join(
  root,
  'node_modules/.cache/oldest-majors',
  createHash('sha256')
    .update(JSON.stringify([OLDEST, pkg.dependencies, pkg.peerDependencies]))
    .digest('hex')
    .slice(0, 16),
)

async function npm(args: string[], cwd: string): Promise<string> {
  const { stdout } = await execFileAsync('npm', [...args, '--no-audit', '--no-fund', '--loglevel=error'], { cwd })
  return stdout
}

/** Packs this package into the project under a name of its content, so `npm install` sees a new dependency when the build changed. */
async function packInto(dir: string): Promise<string> {
  for (const file of readdirSync(dir)) if (file.endsWith('.tgz')) rmSync(join(dir, file))
  const [packed] = JSON.parse(await npm(['pack', '--json', '--ignore-scripts', '--pack-destination', dir], root)) as { filename: string; shasum: string }[]
  const name = `unplugin-asyncify-${packed!.shasum.slice(0, 12)}.tgz`
  renameSync(join(dir, packed!.filename), join(dir, name))
  return name
}

/** Builds a copy of the fixture app with one of the project's build scripts; returns the bundler's version and the bundle. */
async function build(bundler: 'vite' | 'rspack' | 'esbuild'): Promise<{ version: string; bundle: string }> {
  const app = join(project, `app-${bundler}`)
  rmSync(app, { recursive: true, force: true })
  cpSync(makeApp(`oldest-${bundler}`), app, { recursive: true })
  const { stdout } = await execFileAsync(process.execPath, [join(project, `build-${bundler}.mjs`), app, JSON.stringify(appOptions())], { cwd: project })
  return JSON.parse(stdout) as { version: string; bundle: string }
}

describe('the oldest supported majors, installed from the npm registry', () => {
  beforeAll(async () => {
    mkdirSync(project, { recursive: true })
    const tarball = await packInto(project)
    const dependencies = { ...OLDEST, 'unplugin-asyncify': `file:./${tarball}` }
    writeFileSync(join(project, 'package.json'), JSON.stringify({ private: true, type: 'module', dependencies }, null, 2))
    for (const script of ['build-vite.mjs', 'build-rspack.mjs', 'build-esbuild.mjs']) cpSync(join(fixtures, 'oldest-majors', script), join(project, script))
    await npm(['install', '--prefer-offline'], project)
  }, 240_000)

  test('Vite 6 builds the fixture app, and the bundle runs in Node', async () => {
    const { version, bundle } = await build('vite')
    expect(version).toBe(OLDEST.vite)
    expect(await runMain(bundle)).toEqual(expectedResult())
  })

  test('Rspack 1 builds the fixture app, and the bundle runs in Node', async () => {
    const { version, bundle } = await build('rspack')
    expect(version).toBe(OLDEST['@rspack/core'])
    expect(await runMain(bundle)).toEqual(expectedResult())
  })

  test('esbuild 0.25 builds the fixture app, and the bundle runs in Node', async () => {
    const { version, bundle } = await build('esbuild')
    expect(version).toBe(OLDEST.esbuild)
    expect(await runMain(bundle)).toEqual(expectedResult())
  })
})
