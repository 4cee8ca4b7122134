// Sorts numbers with libc's qsort, whose comparator first awaits the
// page: it animates the two values being compared. The suspension
// happens beneath qsort's indirect call to the comparator, inside
// wasi-libc.
#include <stdlib.h>
#include "host.h"

// Resolves once the page has shown values[i] and values[j] being
// compared.
ASYNC_IMPORT("show_compare") void show_compare(int i, int j);
// Draws the values once more, sorted.
IMPORT("show_sorted") void show_sorted(void);

#define COUNT 12

static int values[COUNT];
static int comparisons;

EXPORT("values") int *values_address(void) { return values; }
EXPORT("count") int count(void) { return COUNT; }

static int by_value(const void *a, const void *b) {
  const int *x = a, *y = b;
  comparisons++;
  show_compare((int)(x - values), (int)(y - values));
  return (*x > *y) - (*x < *y);
}

// Fills values with numbers from 1 to 99 drawn from seed.
EXPORT("shuffle") void shuffle(unsigned seed) {
  for (int i = 0; i < COUNT; i++) {
    seed = seed * 1103515245u + 12345u;
    values[i] = (int)((seed >> 16) % 99) + 1;
  }
}

// Sorts values; returns the number of comparisons made.
EXPORT("sort") int sort(void) {
  comparisons = 0;
  qsort(values, COUNT, sizeof values[0], by_value);
  show_sorted();
  print("Sorted:");
  for (int i = 0; i < COUNT; i++) {
    print(" ");
    print_int(values[i]);
  }
  print("\n");
  print_int(comparisons);
  print(" comparisons, each awaited by the page.\n");
  return comparisons;
}
