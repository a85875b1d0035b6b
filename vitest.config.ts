import { defineConfig } from 'vitest/config';

/**
 * The project's own tests: unit tests next to the code (`*.test.ts`) and the conformance suites
 * (`suites/**\/*.conformance.ts`) run against the built-in reference target.
 * `meterlab run` starts vitest with its own configuration (harness/cli/run.ts).
 */
export default defineConfig({
  test: {
    include: ['harness/**/*.test.ts', 'simulators/**/*.test.ts', 'suites/**/*.test.ts', 'suites/**/*.conformance.ts', 'scripts/**/*.test.ts', 'bench/**/*.test.ts', 'captures/**/*.test.ts'],
    environment: 'node',
    testTimeout: 60_000,
    hookTimeout: 60_000,
    silent: 'passed-only',
    pool: 'forks',
    reporters: ['default', './scripts/closing-line-reporter.ts'],
  },
});
