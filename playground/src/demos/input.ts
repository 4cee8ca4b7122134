import source from '../../c/input.c?raw'
import { card, h, running } from '../card'
import type { RunProgram } from '../host'

/** Demo 2: a blocking C guessing game whose read_line() waits for the text box. */
export function inputDemo(run: RunProgram) {
  const view = card(
    'input',
    '2. Input',
    'A number-guessing game in plain blocking C. Its read_line() import returns a Promise that ' +
      'resolves when you press Enter in the text box.',
    'input.c',
    source,
  )
  const start = h('button', { type: 'button' }, 'New game')
  const line = h('input', { type: 'text', name: 'line', disabled: true, autocomplete: 'off', placeholder: 'Start a game first' })
  line.setAttribute('aria-label', 'Your guess')
  const send = h('button', { type: 'submit', disabled: true }, 'Send')
  const form = h('form', { class: 'controls' }, line, send)
  view.body.append(h('div', { class: 'controls' }, start), form)

  let pending: ((line: string) => void) | null = null
  form.addEventListener('submit', (event) => {
    event.preventDefault()
    if (pending === null) return
    const resolve = pending
    pending = null
    line.disabled = send.disabled = true
    resolve(line.value)
    line.value = ''
  })
  start.addEventListener('click', () =>
    running(start, view.output, async () => {
      await run('input', crypto.getRandomValues(new Uint32Array(1))[0]!)
      line.placeholder = 'Start a game first'
    }),
  )
  return {
    section: view.section,
    output: view.output,
    readLine() {
      line.disabled = send.disabled = false
      line.placeholder = 'A number from 1 to 100, then Enter'
      line.focus()
      return new Promise<string>((resolve) => (pending = resolve))
    },
  }
}
