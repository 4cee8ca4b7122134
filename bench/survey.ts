/**
 * Modules from npm beyond the bench's subjects, for `npm run bench -- --only
 * survey`: each fetched with `npm pack` on first use into bench/.build/survey
 * (the registry is the only network it needs), then built by ours and by
 * native wasm-opt as the subjects are, with its first two function imports as
 * the async list. Not pinned as devDependencies (together they are hundreds of
 * MB) and not in the default run (native takes minutes on some). The first
 * survey, of 2026-11-25, is in docs/performance-notes.md.
 */
import { execFileSync } from 'node:child_process'
import { existsSync, mkdirSync, readFileSync } from 'node:fs'
import { join } from 'node:path'
import { buildDir } from './paths.js'
import type { Subject } from './subjects.js'

interface SurveyModule {
  /** The package as npm names it, with its version. */
  spec: string
  /** The module's path in the package. */
  file: string
}

/** Emscripten, then Rust (wasm-bindgen). esbuild's Go module is left out: native takes 515 s and 7.6 GB on it. */
export const SURVEY: SurveyModule[] = [
  { spec: '@jsquash/webp@1.5.0', file: 'codec/dec/webp_dec.wasm' },
  { spec: '@jsquash/webp@1.5.0', file: 'codec/enc/webp_enc_simd.wasm' },
  { spec: 'web-tree-sitter@0.27.2', file: 'web-tree-sitter.wasm' },
  { spec: '@bokuweb/zstd-wasm@0.0.27', file: 'dist/esm/zstd.wasm' },
  { spec: 'wasmoon@1.16.0', file: 'dist/glue.wasm' },
  { spec: 'vscode-oniguruma@2.0.1', file: 'release/onig.wasm' },
  { spec: 'sql.js@1.16.0', file: 'dist/sql-wasm.wasm' },
  { spec: '@silvia-odwyer/photon@0.3.11', file: 'photon_rs_bg.wasm' },
  { spec: 'brotli-wasm@3.0.1', file: 'pkg.web/brotli_wasm_bg.wasm' },
  { spec: '@dqbd/tiktoken@1.0.22', file: 'lite/tiktoken_bg.wasm' },
]

/**
 * What native wasm-opt is given for these modules, which carry no
 * `target_features` section: every feature any of them uses (clang's names).
 */
const FEATURES = ['sign-ext', 'mutable-globals', 'nontrapping-fptoint', 'bulk-memory', 'simd128', 'multivalue', 'reference-types']

/** The survey's modules as build subjects, fetched when missing. */
export function surveySubjects(log: (message: string) => void): Subject[] {
  const root = join(buildDir, 'survey')
  return SURVEY.map(({ spec, file }) => {
    const dir = join(root, spec.replace(/[^\w.-]+/g, '_'))
    const path = join(dir, 'package', file)
    if (!existsSync(path)) {
      log(`survey: fetching ${spec}`)
      mkdirSync(dir, { recursive: true })
      try {
        const tarball = execFileSync('npm', ['pack', spec, '--pack-destination', dir, '--loglevel', 'error'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] }).trim().split('\n').pop()!
        execFileSync('tar', ['-xzf', join(dir, tarball), '-C', dir, `package/${file}`], { stdio: ['ignore', 'pipe', 'pipe'] })
      } catch (error) {
        // npm's error lines end with a blank `npm error 404`: the reason is the first.
        const stderr = String((error as { stderr?: unknown }).stderr ?? '').split('\n').find((line) => line.startsWith('npm error ') && !line.includes(' code '))
        throw new Error(`survey: cannot fetch ${file} of ${spec} (${stderr || (error as Error).message}); the survey needs the npm registry`, { cause: error })
      }
    }
    const imports = WebAssembly.Module.imports(new WebAssembly.Module(readFileSync(path)))
      .filter((entry) => entry.kind === 'function')
      .slice(0, 2)
      .map((entry) => `${entry.module}.${entry.name}`)
    return { name: `${spec} ${file.split('/').pop()}`, origin: `npm ${spec}, ${file}`, file: path, imports, features: FEATURES, large: true }
  })
}
