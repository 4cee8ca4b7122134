// Counts the primes below a limit in steps, and after each step draws
// the progress and sleeps. sleep() is an async import (a setTimeout
// Promise): the loop reads like blocking C, yet the page keeps handling
// clicks meanwhile.
#include "host.h"

ASYNC_IMPORT("sleep") void sleep_ms(int milliseconds);
IMPORT("progress") void progress(int step, int steps, int primes);

#define LIMIT 100000

static int is_prime(int n) {
  if (n < 2) return 0;
  for (int d = 2; d * d <= n; d++)
    if (n % d == 0) return 0;
  return 1;
}

// Returns the number of primes below LIMIT.
EXPORT("count_primes") int count_primes(int steps, int pause_ms) {
  int primes = 0;
  for (int step = 1; step <= steps; step++) {
    int from = (int)((long long)LIMIT * (step - 1) / steps);
    int to = (int)((long long)LIMIT * step / steps);
    for (int n = from; n < to; n++) primes += is_prime(n);
    progress(step, steps, primes);
    if (step < steps) sleep_ms(pause_ms);
  }
  print("Found ");
  print_int(primes);
  print(" primes below ");
  print_int(LIMIT);
  print(".\n");
  return primes;
}
