/**
 * Demo suite: a case that never finishes, so `meterlab run` shows what a case that runs out of
 * time looks like (its own budget, a MeterLab reason, never the test runner's timeout text).
 * Used by harness/cli/run-preflight.test.ts only.
 */
import { defineConformanceSuite } from '../../vitest.ts';

defineConformanceSuite(
  'stuck',
  [
    {
      id: 'stuck.never-finishes',
      requirement: 'DLT645-12',
      title: 'a case that waits for a reply that never comes',
      timeoutMs: () => 300,
      progress: () => 'waiting for a reply to the first read',
      run: () => new Promise<void>(() => undefined),
    },
    {
      id: 'stuck.next-case-runs',
      requirement: 'DLT645-12',
      title: 'the case after it still runs',
      async run(ctx) {
        ctx.check(true, 'not reached');
      },
    },
  ],
  async () => ({ close: async () => undefined }),
);
