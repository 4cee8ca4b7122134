// A number-guessing game written as ordinary blocking C: read_line()
// waits for the person to type into the page's text box, yet the C code
// just calls it.
#include <stdlib.h>
#include "host.h"

// Resolves when the person submits a line: copies at most capacity - 1
// bytes of it into line, NUL-terminates it and returns the number of
// bytes copied.
ASYNC_IMPORT("read_line") int read_line(char *line, int capacity);

// Plays one game; returns the number of guesses it took.
EXPORT("play") int play(unsigned secret_seed) {
  int secret = (int)(secret_seed % 100) + 1;
  print("I am thinking of a number from 1 to 100.\n");
  for (int guesses = 1;; guesses++) {
    // On the C stack: read_line fills it while play() is suspended.
    char line[32];
    print("Your guess? ");
    read_line(line, sizeof line);
    print(line);
    print("\n");
    char *end;
    long guess = strtol(line, &end, 10);
    if (end == line || guess < 1 || guess > 100) {
      print("That is not a number from 1 to 100.\n");
      guesses--;
    } else if (guess < secret) {
      print("Too low.\n");
    } else if (guess > secret) {
      print("Too high.\n");
    } else {
      print("Yes! It was ");
      print_int(secret);
      print(". You found it in ");
      print_int(guesses);
      print(guesses == 1 ? " guess.\n" : " guesses.\n");
      return guesses;
    }
  }
}
