import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    setupFiles: ['test/setup.ts'],
    testTimeout: 60_000,
    hookTimeout: 60_000,
    // The machines are shared and have two cores: keep the pool small so real servers
    // (dynalite, DynamoDB Local, simulators) are not starved.
    maxWorkers: 2,
    allowOnly: false,
  },
});
