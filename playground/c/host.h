// What every playground program shares: how a function becomes a wasm
// import or export, and how text reaches the page. All imports live in
// module "env" and are provided by the page; nothing here uses stdio,
// so the programs need no WASI imports at all.
#ifndef PLAYGROUND_HOST_H
#define PLAYGROUND_HOST_H

#include <string.h>

#include "asyncify.h"

// An import the page answers at once, and one it may answer with a Promise:
// the latter is recorded in the module (include/asyncify.h), so the plugin
// needs no list of async imports.
#define IMPORT(name) \
  __attribute__((import_module("env"), import_name(name)))
#define ASYNC_IMPORT(name) ASYNCIFY_IMPORT("env", name)
#define EXPORT(name) __attribute__((export_name(name)))

// Appends text to the demo's output panel.
IMPORT("print") void print_bytes(const char *text, int length);

static inline void print(const char *text) {
  print_bytes(text, (int)strlen(text));
}

static inline void print_int(long value) {
  char digits[24];
  int at = sizeof digits;
  unsigned long magnitude = (unsigned long)value;
  if (value < 0) magnitude = 0UL - magnitude;
  do {
    digits[--at] = (char)('0' + magnitude % 10);
    magnitude /= 10;
  } while (magnitude != 0);
  if (value < 0) digits[--at] = '-';
  print_bytes(digits + at, (int)sizeof digits - at);
}

#endif
