import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    // The CLI tests run the bundled command; build it once before any test.
    globalSetup: ['test/helpers/build-cli.ts'],
    testTimeout: 30_000,
    pool: 'forks',
  },
});
