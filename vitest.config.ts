import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    globalSetup: ['test/cache-env.setup.ts'],
    testTimeout: 120_000,
    hookTimeout: 120_000,
    // Native and GPU suites use their own worker threads; keep files from competing for the 2 CI cores.
    fileParallelism: false,
  },
});
