import { defineConfig } from 'vitest/config'

/*
 * The engine's behaviour tests again, on the JSPI path: `npm test` runs this
 * config under Node 26 (tools/nodes) with ASYNCIFY_TEST_ENGINE=jspi, so
 * test/helpers/engine.ts instantiates the JSPI build of every module.
 * Files that need Node 26 whatever the path (multi-memory.test.ts, gc.test.ts) choose
 * their path per test.
 */
export default defineConfig({
  test: {
    include: [
      'test/engine/runtime-behaviour.test.ts',
      'test/engine/c-programs.test.ts',
      'test/engine/edges.test.ts',
      'test/engine/stack-pointer.test.ts',
      'test/engine/heap-ownership.test.ts',
      'test/engine/stress.test.ts',
      'test/engine/jspi.test.ts',
      'test/engine/cpp-exceptions.test.ts',
      'test/engine/indirect-reach.test.ts',
      'test/engine/fibers.test.ts',
      'test/engine/asyncify-api.test.ts',
      'test/engine/debug-info.test.ts',
      'test/engine/multi-memory.test.ts',
      'test/engine/gc.test.ts',
      'test/engine/stack-rest.test.ts',
      'test/engine/stack-moved.test.ts',
      // Node 26's engine runs binaryen.js's invokes in wasm too.
      'test/engine/binaryen-load.test.ts',
      'test/fuzz/fuzz.test.ts',
    ],
    testTimeout: 60_000,
    hookTimeout: 120_000,
  },
})
