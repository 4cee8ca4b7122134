import { readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { describe, expect, test } from 'vitest'
import { root, typecheck, userProject } from './typescript.js'

/** A fenced TypeScript block of the README, named by the line its code starts on. */
interface Snippet {
  line: number
  code: string
}

/** Every ```ts block of the README: each is a file a user could paste, so none is left out. */
function typescriptSnippets(markdown: string): Snippet[] {
  const snippets: Snippet[] = []
  const lines = markdown.split('\n')
  for (let i = 0; i < lines.length; i++) {
    if (!/^```(ts|typescript)\s*$/.test(lines[i]!)) continue
    const end = lines.indexOf('```', i + 1)
    snippets.push({ line: i + 2, code: lines.slice(i + 1, end).join('\n') })
    i = end
  }
  return snippets
}

describe('README', () => {
  test('every TypeScript snippet type-checks under strict, in a project set up as the README says', async () => {
    const snippets = typescriptSnippets(readFileSync(join(root, 'README.md'), 'utf8'))
    expect(snippets.length).toBeGreaterThan(5)
    // Its bundler, and Node's types for the transform; the client types as "TypeScript" says to declare them.
    const dir = userProject(['vite', '@types/node'])
    const files = snippets.map(({ line, code }) => {
      const file = `readme-line-${line}.ts`
      writeFileSync(join(dir, file), code)
      return file
    })
    // Each snippet is a file of its own (a module even without imports); plugin types need skipLibCheck (README, "Entry points").
    const options = { types: ['node', 'unplugin-asyncify/client'], skipLibCheck: true, moduleDetection: 'force' }
    expect(await typecheck(dir, files, options)).toEqual({ ok: true, output: '' })
  })
})
