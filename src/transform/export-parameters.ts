/**
 * The metadata's `exportParameters`: how the runtime converts each
 * suspending export's arguments once per call (runtime-shim/invoke.ts's
 * `convertArguments`), for the exports with a parameter that is not a
 * Number in JavaScript. Trailing numbers are left out (the runtime takes a
 * missing letter as `n`), and so are exports with nothing else.
 */
export function exportParameters(exports: readonly { name: string; params: readonly string[] }[]): Record<string, string> {
  const kinds: Record<string, string> = {}
  for (const { name, params } of exports) {
    const letters = params.map((type) => (type === 'i64' ? 'b' : type === 'i32' || type === 'f32' || type === 'f64' ? 'n' : 'r')).join('').replace(/n+$/, '')
    if (letters !== '') kinds[name] = letters
  }
  return kinds
}
