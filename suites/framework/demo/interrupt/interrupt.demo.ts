/**
 * Demo suite for the interrupt tests (harness/cli/run-interrupt.test.ts; see ../README.md): a
 * first case holds the worker's event loop for 150 ms, which made vitest's throttled result
 * updates lose the next cases' results (5 runs in 6 printed no verdict line before
 * suites/framework/vitest.ts flushed them at each case start); the second case starts a helper
 * process that ignores SIGTERM (`sleep 600`, a grandchild of `meterlab run` through the vitest
 * worker, which only SIGKILL ends) and passes, so its progress line says the whole process tree
 * is up; the third case never finishes, so the run is still going when the test sends its signal.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { RealClock } from '../../../../harness/core/clock.ts';
import { defineConformanceSuite } from '../../vitest.ts';

const clock = new RealClock();
/** Longer than vitest's 100 ms result-update throttle (@vitest/runner sendTasksUpdateThrottled). */
const BUSY_MS = 150;

let helper: ChildProcess | undefined;

defineConformanceSuite(
  'interrupt',
  [
    {
      id: 'interrupt.busy-loop',
      requirement: 'DLT645-12',
      title: 'keeps the event loop busy',
      async run(ctx) {
        // Synchronous on purpose: the event loop's cached time goes stale, as under a loaded CI.
        const end = clock.now() + BUSY_MS;
        while (clock.now() < end);
        ctx.check(clock.now() >= end, 'the busy loop ended early');
      },
    },
    {
      id: 'interrupt.starts-helper',
      requirement: 'DLT645-12',
      title: 'starts a helper process',
      async run(ctx) {
        // The shell ignores SIGTERM and exec keeps that for sleep.
        helper = spawn('sh', ['-c', 'trap "" TERM; exec sleep 600'], { stdio: 'ignore' });
        await new Promise<void>((resolve, reject) => {
          helper!.once('spawn', resolve);
          helper!.once('error', reject);
        });
        ctx.check(helper.pid !== undefined, 'the helper process did not start');
      },
    },
    {
      id: 'interrupt.never-finishes',
      requirement: 'DLT645-12',
      title: 'waits until the run is interrupted',
      async run() {
        await new Promise<never>(() => undefined);
      },
    },
  ],
  async () => ({ close: async () => undefined }),
);
