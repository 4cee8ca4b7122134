import { join, resolve } from 'node:path'
import { build, type Plugin } from 'esbuild'
import { buildDir, repoDir } from './paths.js'

/*
 * Child processes and the browser page run plain JavaScript bundled here, not
 * tsx, so a measured process starts like a user's would. Our own code is
 * imported from dist/ (what users get) and left unbundled: the transform
 * starts its Binaryen worker from a file next to it.
 */
const distExternal: Plugin = {
  name: 'dist-external',
  setup(builder) {
    builder.onResolve({ filter: /\/dist\// }, (args) => ({ path: resolve(args.resolveDir, args.path), external: true }))
  },
}

/** Bundles a Node entry (ESM, packages external) and returns its path. */
export async function bundleNode(entry: string): Promise<string> {
  const outfile = join(buildDir, entry.replace(/^.*\//, '').replace(/\.ts$/, '.mjs'))
  await build({
    entryPoints: [join(repoDir, 'bench', entry)],
    outfile,
    bundle: true,
    platform: 'node',
    format: 'esm',
    packages: 'external',
    plugins: [distExternal],
    logLevel: 'error',
  })
  return outfile
}

/** Bundles a browser entry into one script (runtime included) and returns its text. */
export async function bundleBrowser(entry: string): Promise<string> {
  const result = await build({
    entryPoints: [join(repoDir, 'bench', entry)],
    bundle: true,
    platform: 'browser',
    format: 'iife',
    target: 'es2022',
    write: false,
    logLevel: 'error',
  })
  return result.outputFiles[0]!.text
}
