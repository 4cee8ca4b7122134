/**
 * How long the demos really wait. `?timescale=0.05` in the URL shortens every
 * pause the page makes (the C program's sleeps, the comparator's animation) to
 * that fraction: the browser tests use it to wait less, while people and
 * `npm start` get the timing the fields show. The waits stay real timers, so
 * the programs still suspend on every one.
 */
const requested = Number(new URLSearchParams(location.search).get('timescale') ?? 1)
const timeScale = Number.isFinite(requested) && requested >= 0 ? Math.min(requested, 1) : 1

/** `ms` as the page waits it. */
export function scaled(ms: number): number {
  return Math.round(ms * timeScale)
}
