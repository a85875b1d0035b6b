/** Demo suite: a single passing case (see ../README.md). */
import { defineConformanceSuite } from '../../vitest.ts';

defineConformanceSuite(
  'bell',
  [
    {
      id: 'bell.rings',
      requirement: 'DLT645-12',
      title: 'the bell rings',
      async run(ctx, bell: { rings: boolean }) {
        ctx.check(bell.rings, 'the bell did not ring');
      },
    },
  ],
  async () => ({ rings: true, close: async () => undefined }),
);
