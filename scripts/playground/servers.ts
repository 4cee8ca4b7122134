/**
 * The playground through Vite's own API: the dev server, a production build,
 * and `vite preview` of that build. Every server listens on a free port.
 */
import { mkdtempSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { build, createServer, preview, type LogLevel } from 'vite'
import { compilePrograms } from './compile.js'
import { playgroundDir } from './paths.js'

export interface Served {
  url: string
  close(): Promise<void>
}

export interface Options {
  logLevel?: LogLevel
}

export async function startDevServer({ logLevel = 'warn' }: Options = {}): Promise<Served> {
  compilePrograms()
  const server = await createServer({ root: playgroundDir, logLevel, server: { port: 0, host: '127.0.0.1' } })
  await server.listen()
  return { url: server.resolvedUrls!.local[0]!, close: () => server.close() }
}

/** Builds the playground into `outDir` (a fresh temporary directory by default); returns it. */
export async function buildPlayground({
  logLevel = 'warn',
  outDir = mkdtempSync(join(tmpdir(), 'asyncify-playground-')),
}: Options & { outDir?: string } = {}): Promise<string> {
  compilePrograms()
  await build({ root: playgroundDir, logLevel, build: { outDir, emptyOutDir: true } })
  return outDir
}

/** Serves a build from `buildPlayground` with `vite preview`, adding `headers` to every response. */
export async function startPreview(
  outDir: string,
  { logLevel = 'warn', headers = {} }: Options & { headers?: Record<string, string> } = {},
): Promise<Served> {
  const server = await preview({
    root: playgroundDir,
    logLevel,
    build: { outDir },
    preview: { port: 0, host: '127.0.0.1', headers },
  })
  return {
    url: server.resolvedUrls!.local[0]!,
    close: () => new Promise<void>((resolve, reject) => server.httpServer.close((error) => (error ? reject(error) : resolve()))),
  }
}
