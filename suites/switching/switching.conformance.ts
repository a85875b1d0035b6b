/**
 * The switching suite as a vitest file (the meter cases, then the system cases): `npm test` runs it against the built-in reference;
 * `meterlab run --target <profile>` runs it against any target (METERLAB_TARGET) and writes the
 * captures under METERLAB_OUT/captures/.
 */
import { stationOnly, type Target } from '../../harness/targets/index.ts';
import type { ConformanceCase } from '../framework/case.ts';
import { openDlt645SuiteTarget } from '../framework/suite-target.ts';
import { defineConformanceSuite } from '../framework/vitest.ts';
import { switchingCases } from './cases.ts';
import { systemCases } from './system-cases.ts';

/** A meter case is not applicable on a vendor's station profile (no meter of the vendor's to judge). */
const meterCase = (c: ConformanceCase<Target>): ConformanceCase<Target> => ({
  ...c,
  applies: (t) => stationOnly(t.profile) ?? c.applies?.(t) ?? null,
});

defineConformanceSuite('switching', [...switchingCases.map(meterCase), ...systemCases], () => openDlt645SuiteTarget('switching', { meterCasesOnly: false }));
