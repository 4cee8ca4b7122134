import source from '../../c/sleep.c?raw'
import { card, h, running, type Card } from '../card'
import type { RunProgram } from '../host'
import { scaled } from '../timing'

/** Demo 1: a C loop that sleeps between steps while the page stays usable. */
export function sleepDemo(run: RunProgram) {
  const view: Card = card(
    'sleep',
    '1. Sleep',
    'C counts the primes below 100,000 in steps and calls an async sleep(ms) import after each one. ' +
      'While it waits, the page is free: click the counter during a run.',
    'sleep.c',
    source,
  )
  const steps = h('input', { type: 'number', name: 'steps', value: '20', min: '1', max: '100' })
  const pause = h('input', { type: 'number', name: 'pause', value: '150', min: '0', max: '2000' })
  const start = h('button', { type: 'button' }, 'Count primes')
  const bar = h('progress', { max: 20, value: 0 })
  const status = h('span', { class: 'status' }, 'Not started')
  status.setAttribute('role', 'status')
  let clicks = 0
  /** While C sleeps between steps: the step it finished last, so a click shows that it was handled meanwhile. */
  let sleepingAfter: { step: number; total: number } | null = null
  const counter = h('button', { type: 'button', class: 'counter' }, 'Clicked 0 times')
  counter.addEventListener('click', () => {
    const when = sleepingAfter ? ` (the last while C slept after step ${sleepingAfter.step} of ${sleepingAfter.total})` : ''
    counter.textContent = `Clicked ${++clicks} ${clicks === 1 ? 'time' : 'times'}${when}`
  })
  view.body.append(
    h('div', { class: 'controls' }, h('label', {}, 'Steps ', steps), h('label', {}, 'Pause (ms) ', pause), start),
    h('div', { class: 'meter' }, bar, status),
    h('p', { class: 'aside' }, 'Still responsive? ', counter),
  )
  start.addEventListener('click', () =>
    running(start, view.output, async () => {
      bar.value = 0
      status.textContent = 'Starting'
      try {
        await run('sleep', steps.valueAsNumber, scaled(pause.valueAsNumber))
      } finally {
        sleepingAfter = null
      }
    }),
  )
  return {
    section: view.section,
    output: view.output,
    progress(step: number, total: number, primes: number) {
      bar.max = total
      bar.value = step
      // sleep.c sleeps after every step but the last.
      sleepingAfter = step < total ? { step, total } : null
      status.textContent = `Step ${step} of ${total}: ${primes.toLocaleString('en')} primes so far`
    },
  }
}
