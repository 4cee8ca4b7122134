// Fetches a text file served by the page and counts its lines, words
// and most frequent words. fetch_text() is an async import backed by
// fetch(); the C code gets the whole body back as if reading it were a
// blocking call.
#include <ctype.h>
#include <stdlib.h>
#include "host.h"

// Resolves to the body as a NUL-terminated string in memory from
// alloc() (the caller frees it), or to NULL when the request fails.
ASYNC_IMPORT("fetch_text") char *fetch_text(const char *url, int url_length);

EXPORT("alloc") void *alloc(int bytes) { return malloc((size_t)bytes); }

#define MAX_WORDS 4096
#define TOP 5

static int by_text(const void *a, const void *b) {
  return strcmp(*(char *const *)a, *(char *const *)b);
}

// Returns the number of words, or -1 when the file could not be
// fetched.
EXPORT("analyse") int analyse(const char *url) {
  print("Fetching ");
  print(url);
  print(" ...\n");
  char *text = fetch_text(url, (int)strlen(url));
  if (text == NULL) {
    print("Could not fetch ");
    print(url);
    print(".\n");
    return -1;
  }
  static char *words[MAX_WORDS];
  int count = 0, lines = 0;
  size_t bytes = strlen(text);
  // Words are runs of letters and apostrophes, lowercased in place and
  // cut out of the text by overwriting the character after each with
  // NUL.
  for (char *at = text; *at != '\0';) {
    if (*at == '\n') lines++;
    if (!isalpha((unsigned char)*at)) {
      at++;
      continue;
    }
    char *start = at;
    while (isalpha((unsigned char)*at) || *at == '\'') {
      *at = (char)tolower((unsigned char)*at);
      at++;
    }
    int ended_line = *at == '\n';
    if (*at != '\0') *at++ = '\0';
    if (ended_line) lines++;
    if (count < MAX_WORDS) words[count++] = start;
  }
  print_int((long)bytes);
  print(" bytes, ");
  print_int(lines);
  print(" lines, ");
  print_int(count);
  print(" words.\nMost frequent words:\n");
  qsort(words, (size_t)count, sizeof words[0], by_text);
  // Pick the TOP longest runs of equal words, one pass per place.
  int taken[TOP];
  for (int place = 0; place < TOP; place++) {
    int best = -1, best_run = 0;
    for (int i = 0; i < count;) {
      int run = 1;
      while (i + run < count && strcmp(words[i], words[i + run]) == 0)
        run++;
      int used = 0;
      for (int p = 0; p < place; p++) used |= taken[p] == i;
      if (!used && run > best_run) best = i, best_run = run;
      i += run;
    }
    if (best < 0) break;
    taken[place] = best;
    print("  ");
    print(words[best]);
    print(" ");
    print_int(best_run);
    print("\n");
  }
  free(text);
  return count;
}
