/**
 * Debian's Chromium driven by playwright-core: never a downloaded browser, a
 * fresh profile per launch, and nothing that phones home during a run.
 */
import { existsSync, mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { chromium, type BrowserContext } from 'playwright-core'

export const CHROMIUM = '/usr/bin/chromium'

const ARGS = [
  '--no-sandbox',
  '--disable-gpu',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  '--no-first-run',
]

export class BrowserMissingError extends Error {
  readonly code = 'PLAYGROUND_NO_CHROMIUM'
}

export interface Browser {
  context: BrowserContext
  close(): Promise<void>
}

/** Launches Chromium with its own throw-away profile; `close()` removes the profile too. */
export async function launchChromium({ headless = true } = {}): Promise<Browser> {
  if (!existsSync(CHROMIUM)) {
    throw new BrowserMissingError(
      `${CHROMIUM} not found: the browser runs use Debian's chromium package; run "bash scripts/ensure-system-deps.sh"`,
    )
  }
  const profile = mkdtempSync(join(tmpdir(), 'asyncify-chromium-'))
  const context = await chromium.launchPersistentContext(profile, {
    executablePath: CHROMIUM,
    headless,
    args: ARGS,
    viewport: { width: 1280, height: 900 },
  })
  return {
    context,
    async close() {
      await context.close()
      rmSync(profile, { recursive: true, force: true })
    },
  }
}
