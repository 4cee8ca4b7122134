import { defineConfig } from 'vitest/config'

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    // Node 20 cannot instantiate these modules; vitest.jspi.config.ts runs them under Node 26.
    exclude: ['**/node_modules/**', 'test/engine/multi-memory.test.ts', 'test/engine/gc.test.ts'],
    testTimeout: 60_000,
    hookTimeout: 120_000,
  },
})
