import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    testTimeout: 60_000,
    hookTimeout: 60_000,
    // Tests spawn real processes (werift peers, coturn, Chromium) on a 2-core machine: keep file parallelism low so
    // timeouts reflect bugs, not CPU starvation.
    fileParallelism: true,
    maxWorkers: 2,
    reporters: ['default'],
    globalSetup: ['test/setup/build.ts'],
  },
});
