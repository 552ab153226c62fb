import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    testTimeout: 60_000,
    hookTimeout: 30_000,
    // Tests spawn real processes and open real sockets: a little parallelism only (2 cores).
    maxWorkers: 2,
    fileParallelism: true,
  },
});
