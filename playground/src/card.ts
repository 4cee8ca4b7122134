/** The frame every demo shares: title, controls, output, build report and C source. */
import type { DemoName } from './host'
import { reports, type BuildReport } from './reports'

export interface Card {
  section: HTMLElement
  /** Where the demo puts its own controls and drawings. */
  body: HTMLElement
  output: HTMLPreElement
}

export function h<K extends keyof HTMLElementTagNameMap>(
  tag: K,
  props: Partial<HTMLElementTagNameMap[K]> & { class?: string } = {},
  ...children: (Node | string)[]
): HTMLElementTagNameMap[K] {
  const { class: className, ...rest } = props
  const element = Object.assign(document.createElement(tag), rest)
  if (className) element.className = className
  element.append(...children)
  return element
}

export function card(demo: DemoName, title: string, blurb: string, file: string, source: string): Card {
  const body = h('div', { class: 'body' })
  const output = h('pre', { class: 'output' })
  output.setAttribute('aria-label', `${title} output`)
  output.setAttribute('aria-live', 'polite')
  const section = h(
    'section',
    { class: 'demo', id: demo },
    h('div', { class: 'run' }, h('h2', {}, title), h('p', { class: 'blurb' }, blurb), body, output, reportView(reports[demo])),
    h('div', { class: 'source' }, h('h3', {}, file), h('pre', {}, h('code', {}, source))),
  )
  section.setAttribute('aria-label', title)
  return { section, body, output }
}

function reportView(report: BuildReport | null): HTMLElement {
  const view = h('dl', { class: 'report' })
  view.setAttribute('aria-label', 'Build report')
  if (report === null) {
    view.append(h('dt', {}, 'Build report'), h('dd', {}, 'not available from this version of the plugin'))
    return view
  }
  const { functions, size } = report
  const bytes = (n: number) => `${n.toLocaleString('en')} bytes`
  view.append(
    h('dt', {}, 'Functions instrumented'),
    h('dd', {}, `${functions.instrumented} of ${functions.total}`),
    h('dt', {}, 'Size'),
    h('dd', {}, `${bytes(size.before)} → ${bytes(size.after)}`),
    h('dt', {}, 'Async imports'),
    h('dd', {}, report.asyncImports.join(', ') || 'none'),
    ...report.warnings.flatMap((warning) => [h('dt', {}, 'Warning'), h('dd', {}, warning)]),
  )
  return view
}

/** Runs `task` with `button` disabled, printing a failure into the output panel. */
export async function running(button: HTMLButtonElement, output: HTMLPreElement, task: () => Promise<void>) {
  button.disabled = true
  output.textContent = ''
  output.classList.remove('failed')
  try {
    await task()
  } catch (error) {
    output.classList.add('failed')
    output.append(`\nError: ${error instanceof Error ? error.message : String(error)}\n`)
  } finally {
    button.disabled = false
  }
}
