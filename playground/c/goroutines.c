// Goroutines in C: a tiny scheduler on asyncify_fiber_* (include/asyncify.h).
// Each goroutine is a fiber with its own C stack; channels hold one value and
// block a goroutine by switching back to the scheduler. The producer sleeps
// between values with an async import, so the whole scheduler waits for a
// Promise and the page stays responsive; then 1,000 goroutines pass a token
// around a ring of channels.
#include <stdlib.h>

#include "host.h"

ASYNC_IMPORT("sleep") void sleep_ms(int milliseconds);

#define STACK_BYTES 4096
#define STATE_BYTES 1024

struct goroutine {
  void (*body)(void *);
  void *arg;
  asyncify_fiber_t fiber;
  void *stack;
  int done;
};

// The scheduler runs on the export call's own stack; runnable goroutines wait in a ring buffer.
static asyncify_fiber_t scheduler;
static struct goroutine *running;
static struct goroutine **queue;
static int queue_size, queue_head, queue_count;

static void make_ready(struct goroutine *g) {
  queue[(queue_head + queue_count++) % queue_size] = g;
}

static void start_goroutine(void *arg) {
  struct goroutine *g = arg;
  g->body(g->arg);
  g->done = 1;
  // Returning switches back to the scheduler, the fiber that switched here last.
}

static void go(void (*body)(void *), void *arg) {
  struct goroutine *g = malloc(sizeof *g);
  g->body = body;
  g->arg = arg;
  g->done = 0;
  g->stack = malloc(STACK_BYTES + STATE_BYTES);
  g->fiber = asyncify_fiber_create(start_goroutine, g, g->stack, STACK_BYTES, (char *)g->stack + STACK_BYTES, STATE_BYTES);
  make_ready(g);
}

// Blocks the running goroutine until someone makes it ready again.
static void park(void) { asyncify_fiber_switch(scheduler); }

// Runs goroutines until none is runnable; returns how many are still blocked.
static int schedule(int spawned) {
  scheduler = asyncify_fiber_current();
  int finished = 0;
  while (queue_count > 0) {
    running = queue[queue_head];
    queue_head = (queue_head + 1) % queue_size;
    queue_count--;
    asyncify_fiber_switch(running->fiber);
    if (running->done) {
      asyncify_fiber_free(running->fiber);
      free(running->stack);
      free(running);
      finished++;
    }
  }
  return spawned - finished;
}

struct channel {
  int value, full;
  struct goroutine *receiver, *sender;
};

static void send(struct channel *c, int value) {
  while (c->full) {
    c->sender = running;
    park();
  }
  c->value = value;
  c->full = 1;
  if (c->receiver) {
    make_ready(c->receiver);
    c->receiver = 0;
  }
}

static int receive(struct channel *c) {
  while (!c->full) {
    c->receiver = running;
    park();
  }
  c->full = 0;
  if (c->sender) {
    make_ready(c->sender);
    c->sender = 0;
  }
  return c->value;
}

// Part 1: a producer that sleeps between values, and a consumer.
static struct channel numbers;
static int items, pause_ms;

static void producer(void *arg) {
  (void)arg;
  for (int i = 1; i <= items; i++) {
    sleep_ms(pause_ms);
    print("producer: sends ");
    print_int(i * i);
    print("\n");
    send(&numbers, i * i);
  }
  send(&numbers, -1);
}

static void consumer(void *arg) {
  long *total = arg;
  for (int value; (value = receive(&numbers)) >= 0;) {
    *total += value;
    print("consumer: got ");
    print_int(value);
    print(", total ");
    print_int(*total);
    print("\n");
  }
}

// Part 2: a ring; each goroutine adds one to the token and passes it on.
static struct channel *ring;
static int ring_size, hops_wanted, last_token;

static void ring_node(void *arg) {
  int id = (int)(long)arg;
  struct channel *next = &ring[(id + 1) % ring_size];
  for (;;) {
    int token = receive(&ring[id]);
    if (token < 0 || token == hops_wanted) {
      if (token == hops_wanted) last_token = token;
      send(next, -1);
      return;
    }
    send(next, token + 1);
  }
}

EXPORT("run") int run(int item_count, int pause, int size, int laps) {
  items = item_count;
  pause_ms = pause;
  queue_size = size + 2;
  queue = malloc(sizeof *queue * queue_size);
  queue_head = queue_count = 0;

  long total = 0;
  go(producer, 0);
  go(consumer, &total);
  int blocked = schedule(2);
  print("Producer and consumer done: total ");
  print_int(total);
  print(", ");
  print_int(blocked);
  print(" goroutines blocked.\n");

  ring_size = size;
  hops_wanted = size * laps;
  last_token = 0;
  ring = calloc(size, sizeof *ring);
  for (int i = 0; i < size; i++) go(ring_node, (void *)(long)i);
  send(&ring[0], 0);
  blocked += schedule(size);
  print("Ring of ");
  print_int(size);
  print(" goroutines: the token came back as ");
  print_int(last_token);
  print(" after ");
  print_int(laps);
  print(" laps; ");
  print_int(blocked);
  print(" goroutines blocked.\n");
  free(ring);
  free(queue);
  return blocked == 0 ? (int)total : -1;
}
