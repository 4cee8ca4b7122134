import source from '../../c/fetch.c?raw'
import { card, h, running } from '../card'
import type { RunProgram } from '../host'

/** Demo 3: C that fetches a file through an async import and analyses it. */
export function fetchDemo(run: RunProgram) {
  const view = card(
    'fetch',
    '3. Fetch',
    'C calls fetch_text(url), an async import backed by fetch(), then counts the lines and words of ' +
      'the text it gets back. Try a file that does not exist, too.',
    'fetch.c',
    source,
  )
  const url = h('input', { type: 'text', name: 'url', value: 'texts/the-road-not-taken.txt', size: 32 })
  url.setAttribute('aria-label', 'File to fetch')
  const start = h('button', { type: 'button' }, 'Fetch and count')
  view.body.append(h('div', { class: 'controls' }, url, start))
  start.addEventListener('click', () =>
    running(start, view.output, async () => {
      await run('fetch', url.value)
    }),
  )
  return { section: view.section, output: view.output }
}
