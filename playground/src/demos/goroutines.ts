import source from '../../c/goroutines.c?raw'
import { card, h, running, type Card } from '../card'
import type { RunProgram } from '../host'
import { scaled } from '../timing'

/** Demo 5: goroutines on fibers, a scheduler written in C with many stacks in one instance. */
export function goroutinesDemo(run: RunProgram) {
  const view: Card = card(
    'goroutines',
    '5. Goroutines',
    'A scheduler in C runs goroutines on fibers, each with its own C stack: a producer that sleeps between values ' +
      'and a consumer talk over a channel, then a token goes round a ring of goroutines. Fibers switch without ' +
      'a trip through the event loop, so this module runs on Asyncify even where JSPI exists.',
    'goroutines.c',
    source,
  )
  const items = h('input', { type: 'number', name: 'items', value: '6', min: '1', max: '50' })
  const pause = h('input', { type: 'number', name: 'pause', value: '150', min: '0', max: '2000' })
  const ring = h('input', { type: 'number', name: 'ring', value: '1000', min: '2', max: '5000' })
  const laps = h('input', { type: 'number', name: 'laps', value: '3', min: '1', max: '100' })
  const start = h('button', { type: 'button' }, 'Run goroutines')
  view.body.append(
    h(
      'div',
      { class: 'controls' },
      h('label', {}, 'Values ', items),
      h('label', {}, 'Producer pause (ms) ', pause),
      h('label', {}, 'Ring size ', ring),
      h('label', {}, 'Laps ', laps),
      start,
    ),
  )
  start.addEventListener('click', () =>
    running(start, view.output, async () => {
      await run('goroutines', items.valueAsNumber, scaled(pause.valueAsNumber), ring.valueAsNumber, laps.valueAsNumber)
    }),
  )
  return { section: view.section, output: view.output }
}
