import type { HarnessInput } from './measure.js'

/** The harness input as it crosses into a child process or a page: the modules as base64. */
export type WireInput = Omit<HarnessInput, 'untouched' | 'asyncified' | 'asyncifiedForSpeed' | 'nativeAsyncified' | 'jspi'> & {
  untouched: string
  asyncified: string
  asyncifiedForSpeed: string
  nativeAsyncified: string
  jspi: string
}
