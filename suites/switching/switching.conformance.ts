/**
 * The switching suite as a vitest file (the meter cases, then the system cases): `npm test` runs it against the built-in reference;
 * `meterlab run --target <profile>` runs it against any target (METERLAB_TARGET) and writes the
 * captures under METERLAB_OUT/captures/.
 */
import { join } from 'node:path';
import { loadTargetProfile, openTarget } from '../../harness/targets/index.ts';
import { defineConformanceSuite } from '../framework/vitest.ts';
import { switchingCases } from './cases.ts';
import { systemCases } from './system-cases.ts';

defineConformanceSuite('switching', [...switchingCases, ...systemCases], async () => {
  const profile = await loadTargetProfile(process.env.METERLAB_TARGET ?? 'reference');
  const out = process.env.METERLAB_OUT;
  return openTarget(profile, out ? { captureFile: join(out, 'captures', 'switching.jsonl') } : {});
});
