/*
 * unplugin-asyncify's guest API for C and C++ (clang, wasi-sdk, Emscripten).
 * Add `-I node_modules/unplugin-asyncify/include`.
 */
#ifndef UNPLUGIN_ASYNCIFY_H
#define UNPLUGIN_ASYNCIFY_H

/*
 * Declares a function import that may return a Promise, at file scope, in
 * place of `__attribute__((import_module(module), import_name(name)))`:
 *
 *   ASYNCIFY_IMPORT("env", "sleep") int sleep_ms(int ms);
 *
 * Besides importing the function, it records the import in the module's
 * "asyncify.imports" custom section (the module, then the name, each ended by
 * a NUL byte; wasm-ld merges the records of every object file). With no
 * `imports` option the transform instruments for exactly the declared
 * imports, and warns about nothing; an `imports` option still wins.
 * `module` and `name` must be string literals.
 */
#define ASYNCIFY_IMPORT(module, name)                                                       \
  __asm__(".section .custom_section.asyncify.imports,\"\",@\n"                             \
          ".ascii \"" module "\\000" name "\\000\"\n");                                    \
  __attribute__((import_module(module), import_name(name)))

#endif
