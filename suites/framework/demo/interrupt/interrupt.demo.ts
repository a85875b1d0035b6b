/**
 * Demo suite for the interrupt tests (harness/cli/run-interrupt.test.ts; see ../README.md): the
 * first case starts a helper process that ignores SIGTERM (`sleep 600`, a grandchild of
 * `meterlab run` through the vitest worker, which only SIGKILL ends) and passes, so its progress
 * line says the whole process tree is up; the second case never finishes, so the run is still
 * going when the test sends its signal.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { defineConformanceSuite } from '../../vitest.ts';

let helper: ChildProcess | undefined;

defineConformanceSuite(
  'interrupt',
  [
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
