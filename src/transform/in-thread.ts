/**
 * Modules up to this size that the direct engine builds are built in the caller's thread:
 * a worker takes about 40 ms to start with its code loaded, and a real program of this
 * size builds in less (sort.c with libc, 62 KB: 23 ms). The worst made on purpose, 5,200
 * locals all live across 5,200 calls in 62 KB, took 300 ms, once: the plugin caches it.
 * Above it, a build in the caller's thread stops a bundler for longer than a worker takes to
 * start, and several at once add more memory there than in a worker (`npm run bench -- --only
 * survey`: the modules built at once).
 */
export const IN_THREAD_BYTES = 64 * 1024
