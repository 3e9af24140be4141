import { defineConfig } from 'vitest/config';

// The fault suite: each file starts its own processes, injects one fault and counts.
// Files run one at a time so that a fault in one (a stopped database, a killed
// process) never lands on another's measurements.
export default defineConfig({
  test: {
    include: ['test/faults/**/*.test.ts'],
    globalSetup: ['test/faults/summary.ts'],
    testTimeout: 600_000,
    hookTimeout: 120_000,
    pool: 'forks',
    fileParallelism: false,
    maxWorkers: 1,
  },
});
