/**
 * Mutation testing of the simulators' protocol servers with the conformance suites as the only
 * kill test (issue 6). Run it with `npm run mutation` (scripts/mutation.ts), not directly: the
 * script also applies mutation/equivalent-mutants.json and writes the score.
 *
 * What is mutated: the DL/T 645 meter server (handler and receive path) and the model's password
 * check. Behaviours (deliberately broken variants) are not. Log statements are ignored
 * (log-ignorer.mjs). METERLAB_MUTATE="file:10-40,file2" narrows the run (development only).
 *
 * Kill test: mutation/kill-test.ts, every conformance suite against the reference through the
 * framework's runCase (what `meterlab run --target reference` runs, without vitest's start-up), so
 * a failed, errored or inconclusive verdict kills the mutant. The command runner knows nothing of
 * coverage: every mutant runs the whole suites (about 3 s each, two at a time on this machine).
 */
import { readFileSync } from 'node:fs';

/** `file:start-end` for the lines of the method `name` in `file` (found by its signature). */
function methodRange(file, name) {
  const lines = readFileSync(file, 'utf8').split('\n');
  const start = lines.findIndex((l) => new RegExp(`^  ${name}\\(`).test(l));
  if (start < 0) throw new Error(`mutation config: method ${name} not found in ${file}`);
  const end = lines.findIndex((l, i) => i > start && l === '  }');
  return `${file}:${start + 1}-${end + 1}`;
}

const mutate = process.env.METERLAB_MUTATE
  ? process.env.METERLAB_MUTATE.split(',')
  : ['simulators/electricity-meter/server.ts', methodRange('simulators/electricity-meter/model.ts', 'checkPassword')];

export default {
  $schema: './node_modules/@stryker-mutator/core/schema/stryker-schema.json',
  packageManager: 'npm',
  testRunner: 'command',
  commandRunner: {
    command: 'node --import tsx mutation/kill-test.ts',
  },
  mutate,
  plugins: ['./mutation/log-ignorer.mjs'],
  ignorers: ['log-statements'],
  concurrency: Number(process.env.METERLAB_MUTATION_CONCURRENCY ?? 2),
  timeoutMS: 60_000,
  timeoutFactor: 2,
  reporters: ['json', 'html', 'progress'],
  jsonReporter: { fileName: 'reports/mutation/mutation.json' },
  htmlReporter: { fileName: 'reports/mutation/mutation.html' },
  tempDirName: '.stryker-tmp',
  cleanTempDir: 'always',
  ignorePatterns: ['reports', 'captures/**/*.jsonl.tmp', '.stryker-tmp', '.vitest-cache'],
  disableTypeChecks: 'simulators/**/*.ts',
};
