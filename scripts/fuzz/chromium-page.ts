/*
 * The asyncified phase of a fuzz case inside a Chromium page (bundled by
 * chromium.ts): the same harness and answers as in Node, with the runtime as
 * a page loads it.
 */
import { asyncifyStats, instantiate } from 'unplugin-asyncify/runtime'
import { deliver } from './answers.js'
import type { FuzzCase } from './fuzz-case.js'
import { observe, type Observation } from './harness.js'
import { readSignatures } from './signatures.js'

/** An Observation as it crosses to Node: JSON, so the memory travels as base64. */
export type PageObservation = Omit<Observation, 'memory'> & { memory: string | null }

export interface PageRun {
  fuzzCase: FuzzCase
  /** The untouched module (base64), for the signatures, and the build under test. */
  original: string
  transformed: string
  engine: 'asyncify' | 'jspi'
}

const unhandled: string[] = []
addEventListener('unhandledrejection', (event) => unhandled.push(`unhandled rejection: ${String(event.reason)}`))

async function run({ fuzzCase, original, transformed, engine }: PageRun): Promise<PageObservation> {
  const wasm = fromBase64(transformed)
  unhandled.length = 0
  const observation = await observe(fuzzCase, readSignatures(fromBase64(original)), {
    async instantiate(imports) {
      const { instance } = await instantiate(wasm, imports, { name: `${fuzzCase.id}.wasm`, mode: engine })
      const { mode } = asyncifyStats(instance)
      if (mode !== engine) throw new Error(`the runtime took the ${mode} path, not ${engine}`)
      return { exports: instance.exports, stats: () => asyncifyStats(instance) }
    },
    deliver,
  })
  // Rejections nobody handled surface after the microtasks of the run.
  await new Promise((resolve) => setTimeout(resolve, 0))
  observation.problems.push(...unhandled)
  return { ...observation, memory: observation.memory && toBase64(observation.memory) }
}

function fromBase64(text: string): Uint8Array {
  return Uint8Array.from(atob(text), (char) => char.charCodeAt(0))
}

function toBase64(bytes: Uint8Array): string {
  let text = ''
  for (let i = 0; i < bytes.length; i += 0x8000) text += String.fromCharCode(...bytes.subarray(i, i + 0x8000))
  return btoa(text)
}

Object.assign(globalThis, { fuzzRun: run })
