/** Demo suite: one case per verdict against a fake lamp (see ../README.md). */
import { LinkError } from '../../../../harness/core/errors.ts';
import type { ConformanceCase } from '../../case.ts';
import { defineConformanceSuite } from '../../vitest.ts';

export interface Lamp {
  readonly watts: number;
  readonly declaresDimmer: boolean;
  readonly frames: readonly string[];
}

export const lampCases: ConformanceCase<Lamp>[] = [
  {
    id: 'lamp.reads-power',
    requirement: 'DLT645-02',
    title: 'the lamp reports its power within limits',
    async run(ctx, lamp) {
      await ctx.step('read power', async () => {
        ctx.log(`power ${lamp.watts} W`);
        ctx.measure('power', lamp.watts, 'W', { min: 5, max: 20 });
      });
      ctx.evidence('frames', lamp.frames.join('\n'));
    },
  },
  {
    id: 'lamp.answers-broadcast',
    requirement: 'DLT645-04',
    title: 'the lamp stays silent on broadcast',
    async run(ctx) {
      ctx.check(false, 'the lamp answered a broadcast frame');
      ctx.measure('response delay', 612, 'ms', { min: 20, max: 500 });
    },
  },
  {
    id: 'lamp.dims',
    requirement: 'DLT645-12',
    title: 'the lamp dims when asked',
    applies: (lamp) => (lamp.declaresDimmer ? null : 'the lamp does not declare a dimmer (capabilities.dimmer = false)'),
    async run() {
      throw new Error('not reached');
    },
  },
  {
    id: 'lamp.clock',
    requirement: 'DLT645-09',
    title: 'the lamp clock can be judged',
    async run(ctx) {
      ctx.inconclusive('the lamp clock was busy; no reading to judge');
    },
  },
  {
    id: 'lamp.link',
    requirement: 'DLT645-01',
    title: 'the lamp link stays open',
    async run() {
      throw new LinkError('lamp link closed unexpectedly');
    },
  },
];

defineConformanceSuite('lamp', lampCases, async () => ({
  watts: 12,
  declaresDimmer: false,
  frames: ['68 12 90 78 56 34 12 68 11 04 33 33 34 33 68 16'],
  close: async () => undefined,
}));
