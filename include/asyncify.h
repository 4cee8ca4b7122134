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

/*
 * Fibers: many stacks in one instance, for coroutines, goroutines and green
 * threads with any toolchain. The runtime (unplugin-asyncify/runtime)
 * supplies these imports itself; a module that uses them is built for
 * Asyncify alone (JSPI cannot switch stacks without the event loop).
 *
 * A fiber runs `entry(arg)` on its own C stack, with its own Asyncify buffer
 * for its state while it does not run. Switching is synchronous: the running
 * fiber stops inside asyncify_fiber_switch and `to` starts, or continues from
 * its own asyncify_fiber_switch. A fiber may also wait for an async import;
 * the export call it runs in then waits, and other calls may run meanwhile.
 *
 * An export call's own stack is a fiber too: asyncify_fiber_current() in it
 * gives its handle, valid until that export returns, and only code running
 * in that same call can switch back to it. A created fiber can run in any
 * call, in one at a time. When a fiber's entry returns, the fiber that
 * switched to it last continues. Misuse is a coded error that rejects the
 * export call: a switch to a fiber that returned (ASYNCIFY_FIBER_FINISHED),
 * to one running or waiting in another call (ASYNCIFY_FIBER_BUSY), or to a
 * handle that was freed (ASYNCIFY_FIBER_INVALID).
 */
typedef int asyncify_fiber_t;

#define ASYNCIFY_GUEST_API(name) __attribute__((import_module("unplugin-asyncify"), import_name(name)))

/*
 * A new fiber, not yet running. `c_stack` is the lowest address of
 * `c_stack_size` bytes of C stack, `asyncify_stack` is `asyncify_stack_size`
 * bytes for its Asyncify state (8 of them a header). Pass NULL and 0 to let
 * the runtime provide either (sizes 0: the instantiate options'
 * shadowStackSize and 8 + stackSize); it reuses them once the fiber is freed.
 */
ASYNCIFY_GUEST_API("fiber_create")
asyncify_fiber_t asyncify_fiber_create(void (*entry)(void *arg), void *arg, void *c_stack, __SIZE_TYPE__ c_stack_size,
                                       void *asyncify_stack, __SIZE_TYPE__ asyncify_stack_size);

/* Stops the running fiber here and runs `to`; returns when some fiber switches back. */
ASYNCIFY_GUEST_API("fiber_switch") void asyncify_fiber_switch(asyncify_fiber_t to);

/* The running fiber. */
ASYNCIFY_GUEST_API("fiber_current") asyncify_fiber_t asyncify_fiber_current(void);

/* Frees a fiber that is not running (new, switched away from, or returned); its stacks may be reused. */
ASYNCIFY_GUEST_API("fiber_free") void asyncify_fiber_free(asyncify_fiber_t fiber);

#endif
