import source from '../../c/sort.c?raw'
import { card, h, running } from '../card'
import type { RunProgram } from '../host'
import { scaled } from '../timing'

/** Demo 4: libc qsort with a comparator that awaits an animation on the page. */
export function sortDemo(run: RunProgram) {
  const view = card(
    'sort',
    '4. Async comparator',
    "C sorts twelve numbers with libc's qsort. Its comparator calls show_compare(i, j), an async " +
      'import that animates the two values being compared: the wasm suspends inside an indirect call.',
    'sort.c',
    source,
  )
  const pause = h('input', { type: 'number', name: 'pause', value: '250', min: '0', max: '2000' })
  const start = h('button', { type: 'button' }, 'Shuffle and sort')
  const bars = h('div', { class: 'bars' })
  const status = h('span', { class: 'status' }, 'Not started')
  status.setAttribute('role', 'status')
  view.body.append(
    h('div', { class: 'controls' }, h('label', {}, 'Pause per comparison (ms) ', pause), start),
    bars,
    h('div', { class: 'meter' }, status),
  )
  let comparisons = 0
  start.addEventListener('click', () =>
    running(start, view.output, async () => {
      comparisons = 0
      await run('sort', crypto.getRandomValues(new Uint32Array(1))[0]!)
    }),
  )
  const draw = (values: number[], compared: number[]) =>
    bars.replaceChildren(
      ...values.map((value, index) => {
        const bar = h('div', { class: compared.includes(index) ? 'bar compared' : 'bar' }, String(value))
        bar.style.height = `${value}%`
        return bar
      }),
    )
  return {
    section: view.section,
    output: view.output,
    showCompare(values: number[], i: number, j: number) {
      comparisons++
      draw(values, [i, j])
      status.textContent = `Comparison ${comparisons}: ${values[i]} and ${values[j]}`
      return new Promise<void>((resolve) => setTimeout(resolve, scaled(pause.valueAsNumber || 0)))
    },
    showSorted(values: number[]) {
      draw(values, [])
      status.textContent = `Sorted after ${comparisons} comparisons`
    },
  }
}
