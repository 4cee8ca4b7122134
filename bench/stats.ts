/** The figures of one measurement repeated: every sample kept, so a reader can judge the spread. */
export interface Summary {
  median: number
  min: number
  samples: number[]
}

export function summarize(samples: readonly number[]): Summary {
  if (samples.length === 0) throw new Error('summarize(): no samples')
  const sorted = [...samples].sort((a, b) => a - b)
  const middle = sorted.length >> 1
  const median = sorted.length % 2 === 1 ? sorted[middle]! : (sorted[middle - 1]! + sorted[middle]!) / 2
  return { median, min: sorted[0]!, samples: [...samples] }
}

/**
 * Ratios of samples taken side by side (the i-th of each in the same repeat),
 * so that noise from other load on the machine hits both sides of each ratio.
 */
export function pairedRatios(candidate: readonly number[], baseline: readonly number[]): Summary {
  const count = Math.min(candidate.length, baseline.length)
  return summarize(Array.from({ length: count }, (_, i) => candidate[i]! / baseline[i]!))
}
