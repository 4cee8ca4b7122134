import { mkdirSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { compileWasm } from '../scripts/clang-env.js'
import { compileC } from '../test/helpers/compile-c.js'
import { buildDir, repoDir } from './paths.js'

/** A module the build rows transform, with the same async-import list for us and for native wasm-opt. */
export interface Subject {
  name: string
  /** Where it comes from, for the report. */
  origin: string
  file: string
  imports: string[]
  /**
   * Features native wasm-opt needs as flags for a module without a
   * `target_features` section (Emscripten and wasm-bindgen strip it), by
   * clang's names; the smallest set it validates with. Ours is given only the
   * imports, as a user gives it: it finds the features itself.
   */
  features: string[]
  large: boolean
}

export const npmSubjects: Omit<Subject, 'large'>[] = [
  {
    name: 'QuickJS',
    origin: '@jitl/quickjs-wasmfile-release-sync dist/emscripten-module.wasm',
    file: 'node_modules/@jitl/quickjs-wasmfile-release-sync/dist/emscripten-module.wasm',
    // Emscripten minified the import names; by its glue code these are the host
    // function call, module source loading and module name normalizing, the
    // three callbacks quickjs-emscripten's own asyncify build makes async.
    imports: ['a.s', 'a.h', 'a.g'],
    features: ['sign-ext', 'bulk-memory', 'nontrapping-fptoint'],
  },
  {
    name: 'resvg',
    origin: '@resvg/resvg-wasm index_bg.wasm',
    file: 'node_modules/@resvg/resvg-wasm/index_bg.wasm',
    imports: ['wbg.__wbindgen_string_get', 'wbg.__wbg_push_a5b05aedc7234f9f'],
    features: [],
  },
  {
    name: 'SQLite',
    origin: '@sqlite.org/sqlite-wasm sqlite-wasm/jswasm/sqlite3.wasm',
    file: 'node_modules/@sqlite.org/sqlite-wasm/sqlite-wasm/jswasm/sqlite3.wasm',
    imports: ['wasi_snapshot_preview1.fd_read', 'wasi_snapshot_preview1.fd_write', 'env.__syscall_openat'],
    features: ['sign-ext'],
  },
]

/** The program of the run-time rows (bench/fixtures/suspend.c), compiled like the test fixtures. */
export const SUSPEND_IMPORTS = ['env.tick', 'env.value']

let suspendCompiled = false

export function suspendFixture(): string {
  const output = join(buildDir, 'suspend.wasm')
  if (suspendCompiled) return output
  mkdirSync(buildDir, { recursive: true })
  compileWasm({
    source: join(repoDir, 'bench/fixtures/suspend.c'),
    output,
    compileFlags: ['-O2'],
    linkFlags: ['-mexec-model=reactor'],
  })
  suspendCompiled = true
  return output
}

function testFixture(source: string): string {
  const output = join(buildDir, source.replace(/\.c$/, '.wasm'))
  writeFileSync(output, compileC(source))
  return output
}

/** The build rows' subjects: small C programs always, the npm modules unless `smoke`. */
export function buildSubjects(smoke: boolean): Subject[] {
  const c = (name: string, file: string, imports: string[]): Subject => ({
    name,
    origin: 'C fixture, clang -O2',
    file,
    imports,
    features: [],
    large: false,
  })
  const small = [c('suspend.c', suspendFixture(), SUSPEND_IMPORTS), c('loop.c', testFixture('loop.c'), ['env.next'])]
  if (smoke) return small
  return [
    ...small,
    c('sort.c', testFixture('sort.c'), ['env.compare']),
    ...npmSubjects.map((subject) => ({ ...subject, file: join(repoDir, subject.file), large: true })),
  ]
}
