/**
 * The boundary between the C programs and the page. Programs (programs.ts) run
 * either on the page itself or inside a Web Worker (worker.ts); either way they
 * reach the page only through a Host, which the page implements directly and a
 * worker reaches through messages (rpc.ts).
 */

export type DemoName = 'sleep' | 'input' | 'fetch' | 'sort' | 'goroutines'

export interface Host {
  /** Appends C output to a demo's output panel. */
  print(demo: DemoName, text: string): void
  /** The prime counter finished a step. */
  progress(step: number, steps: number, primes: number): void
  /** Resolves with the next line the person submits in the guessing game. */
  readLine(): Promise<string>
  /** Resolves once the page has shown `values[i]` and `values[j]` being compared. */
  showCompare(values: number[], i: number, j: number): Promise<void>
  /** The sort finished with these values. */
  showSorted(values: number[]): void
}

/** What each program takes; every program resolves to a number (its C return value). */
export interface ProgramArgs {
  sleep: [steps: number, pauseMs: number]
  input: [seed: number]
  fetch: [url: string]
  sort: [seed: number]
  goroutines: [items: number, pauseMs: number, ringSize: number, laps: number]
}

export type RunProgram = <D extends DemoName>(demo: D, ...args: ProgramArgs[D]) => Promise<number>
