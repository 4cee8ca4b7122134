import { Random } from './random.js'
import type { Signature, ValueType } from './signatures.js'
import { drawValue, resultsValue } from './values.js'

/*
 * How imports answer. Every import call draws its answer from a seeded stream
 * in call order, so the untouched run and the asyncified run get the same
 * answers as long as they make the same calls. The asyncified run delivers an
 * answer the way the kind says (a plain value, a native Promise, a
 * hand-written thenable, a rejection, now or after a macrotask); the
 * reference run delivers the same value synchronously, or throws the same
 * error synchronously for a rejection. So both runs must behave identically.
 */

export type AnswerKind =
  | 'value'
  | 'throw'
  | 'resolved'
  | 'macrotask'
  | 'thenable'
  | 'thenable-sync'
  | 'thenable-macrotask'
  | 'rejected'
  | 'rejected-macrotask'
  | 'thenable-rejected'
  | 'reenter'

/** Kinds that hand the asyncified run a thenable (a suspension when the import is async). */
export const SUSPENDING_KINDS: ReadonlySet<AnswerKind> = new Set([
  'resolved',
  'macrotask',
  'thenable',
  'thenable-sync',
  'thenable-macrotask',
  'rejected',
  'rejected-macrotask',
  'thenable-rejected',
])

const FAILING_KINDS: ReadonlySet<AnswerKind> = new Set(['throw', 'rejected', 'rejected-macrotask', 'thenable-rejected'])

/** The error an import throws or rejects with; `id` names the answer that failed. */
export class FuzzRejection extends Error {
  constructor(readonly id: string) {
    super(`import answer ${id} failed`)
  }
}

/** How a module's imports tend to answer, drawn once per module. */
export interface Temperament {
  /** Probability that an async import answers through a thenable. */
  asyncShare: number
  /** Probability that an answer throws or rejects. */
  failRate: number
  /** Probability that an async answer first calls another export (re-entrantly). */
  reenterRate: number
}

export function drawTemperament(random: Random): Temperament {
  return {
    asyncShare: random.pick([0.2, 0.5, 0.8, 1]),
    failRate: random.pick([0, 0, 0.003, 0.02]),
    reenterRate: random.pick([0, 0, 0.05, 0.2]),
  }
}

export interface Answer {
  /** Names this answer (stream and position): a rejection carries it. */
  id: string
  kind: AnswerKind
  /** The import's results, encoded. */
  results: string[]
  /** Values the import stores through its buffer argument when it settles, encoded. */
  writes: string[]
  /** For `reenter`: the export called (and its arguments, encoded) before answering. */
  reenter: { export: string; args: string[] } | null
}

export interface AnswerRequest {
  signature: Signature
  /** Whether the import may suspend: listed as async, outside instantiation. */
  mayBeAsync: boolean
  /** Whether this answer may call an export re-entrantly. */
  mayReenter: boolean
  /** Element type and count of the buffer the import fills, if it fills one. */
  buffer: { type: ValueType; length: number } | null
}

/** Callable exports and their parameter types, for re-entrant calls. */
export type Reentry = ReadonlyMap<string, ValueType[]>

/** One stream of answers (one per run, or one per top-level call when calls overlap). */
export class AnswerStream {
  private readonly random: Random
  private count = 0

  constructor(
    seed: number,
    private readonly key: string,
    private readonly temperament: Temperament,
    private readonly reentry: Reentry,
  ) {
    this.random = new Random(seed).fork(`answers:${key}`)
  }

  next(request: AnswerRequest): Answer {
    const { random, temperament } = this
    const id = `${this.key}#${this.count++}`
    const results = request.signature.results.map((type) => drawValue(random, type))
    const writes = request.buffer ? Array.from({ length: request.buffer.length }, () => drawValue(random, request.buffer!.type)) : []
    let kind: AnswerKind = 'value'
    if (random.chance(temperament.failRate)) {
      kind = request.mayBeAsync ? random.pick(['throw', 'rejected', 'rejected-macrotask', 'thenable-rejected'] as const) : 'throw'
    } else if (request.mayBeAsync && random.chance(temperament.asyncShare)) {
      kind =
        request.mayReenter && this.reentry.size > 0 && random.chance(temperament.reenterRate)
          ? 'reenter'
          : random.weighted({ resolved: 4, macrotask: 2, thenable: 2, 'thenable-sync': 1, 'thenable-macrotask': 1 })
    }
    let reenter: Answer['reenter'] = null
    if (kind === 'reenter') {
      const name = random.pick([...this.reentry.keys()])
      reenter = { export: name, args: this.reentry.get(name)!.map((type) => drawValue(random, type)) }
    }
    return { id, kind, results, writes, reenter }
  }
}

/** The reference run's delivery: the value, or the rejection thrown, right away. */
export function settleNow(answer: Answer, signature: Signature, effects: () => void): unknown {
  if (FAILING_KINDS.has(answer.kind)) throw new FuzzRejection(answer.id)
  effects()
  return resultsValue(signature.results, answer.results)
}

/** The asyncified run's delivery: what the import returns to the runtime for this answer. */
export function deliver(answer: Answer, signature: Signature, effects: () => void): unknown {
  const value = () => {
    effects()
    return resultsValue(signature.results, answer.results)
  }
  const error = () => new FuzzRejection(answer.id)
  switch (answer.kind) {
    case 'value':
    case 'reenter':
      return value()
    case 'throw':
      throw error()
    case 'resolved':
      return Promise.resolve().then(value)
    case 'macrotask':
      return new Promise((resolve) => setTimeout(() => resolve(value()), 0))
    case 'thenable':
      return { then: (resolve: (v: unknown) => void) => queueMicrotask(() => resolve(value())) }
    case 'thenable-sync':
      // Settles inside `then`, then tries to settle again: a careless consumer would see the second call.
      return {
        then: (resolve: (v: unknown) => void, reject: (e: unknown) => void) => {
          resolve(value())
          resolve(undefined)
          reject(error())
        },
      }
    case 'thenable-macrotask':
      return { then: (resolve: (v: unknown) => void) => setTimeout(() => resolve(value()), 0) }
    case 'rejected':
      return Promise.reject(error())
    case 'rejected-macrotask':
      return new Promise((_, reject) => setTimeout(() => reject(error()), 0))
    case 'thenable-rejected':
      return { then: (_: unknown, reject: (e: unknown) => void) => queueMicrotask(() => reject(error())) }
  }
}
