/*
 * The types a user writes against: the imports object they pass and the
 * exports they get back. Types only; nothing here reaches the bundle.
 */

/**
 * Exports of a module whose types are not known (no `dts`, no type argument):
 * every member may be used, as `instance.exports.run(5)`. Pass the module's
 * own type to `instantiate<Exports>()` or `init<Exports>()` to check calls.
 */
// `any`, not `unknown`: with `unknown` a user's first `exports.run()` fails `strict`, and every call needs a cast.
export type UntypedExports = Record<string, any>

/**
 * Every value a wasm import may be given. The call signature makes the parameters
 * of an inline function `any` rather than implicitly so (`WebAssembly.ImportValue`
 * gives a function only the type `Function`).
 */
type ImportValue = ((...args: any[]) => unknown) | WebAssembly.ImportValue

/** One function of `AsyncImports<Spec>`: the wasm-side signature, answered directly or through a Promise or thenable. */
type AsyncFunction<F> = F extends (...args: infer Params) => infer Result ? (...args: Params) => Result | PromiseLike<Result> : F

/**
 * The imports object of `instantiate()` and `init()`: functions may return their
 * value, or a Promise (or thenable) of it, which suspends the wasm until it settles.
 *
 * Without a type argument it accepts any imports, and the parameters of inline
 * functions are `any` (`WebAssembly.Imports` would leave them implicitly `any`,
 * an error under `strict`). With the synchronous signatures the wasm module
 * sees, each function may return its result or a Promise of it:
 *
 * @example
 * ```ts
 * const imports: AsyncImports<{ env: { sleep(ms: number): void; read(key: number): number } }> = {
 *   env: { sleep: (ms) => new Promise((resolve) => setTimeout(resolve, ms)), read: async (key) => key * 10 },
 * }
 * ```
 */
export type AsyncImports<Spec extends Record<string, Record<string, unknown>> = Record<string, Record<string, ImportValue>>> = {
  [Module in keyof Spec]: { [Name in keyof Spec[Module]]: AsyncFunction<Spec[Module][Name]> }
}
