import { defineConfig } from 'vitest/config';
import { BaseSequencer, type TestSpecification } from 'vitest/node';

/**
 * Test files that take minutes of real time while barely using a CPU (a vendor's concentrator
 * judged through socat ptys, six nights in about 6 minutes): started first, so their waiting
 * overlaps the CPU-bound files on the other worker instead of ending the run alone. Otherwise the
 * default order (longest first from the cache; on a fresh clone, largest first).
 */
const REAL_TIME_FIRST = [/suites\/collection\/concentrator-over-pty\.test\.ts$/];

class RealTimeFirst extends BaseSequencer {
  override async sort(files: TestSpecification[]): Promise<TestSpecification[]> {
    const sorted = await super.sort(files);
    const first = (f: TestSpecification): boolean => REAL_TIME_FIRST.some((r) => r.test(f.moduleId.split('\\').join('/')));
    return [...sorted.filter(first), ...sorted.filter((f) => !first(f))];
  }
}

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
    // Two workers on the 2-core CI machine (vitest's default is cores - 1 = one): about a third of the
    // run is real-time files that wait on ptys, sockets and real clocks with an idle CPU, so a second
    // file runs meanwhile instead of the run taking the sum of both.
    maxWorkers: 2,
    sequence: { sequencer: RealTimeFirst },
    reporters: ['default', './scripts/closing-line-reporter.ts'],
  },
});
