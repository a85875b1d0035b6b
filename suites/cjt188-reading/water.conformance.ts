/**
 * The CJ/T 188 reading suite against a water meter: `npm test` runs it against the reference water
 * meter (../profiles/reference-water-meter.json); `meterlab run --target <profile>` against any
 * CJ/T 188 water meter (METERLAB_TARGET), captures under METERLAB_OUT/captures/.
 */
import { defineConformanceSuite } from '../framework/vitest.ts';
import { cjt188ReadingCases } from './cases.ts';
import { openCjt188SuiteTarget } from './open-target.ts';

defineConformanceSuite('cjt188-reading water', cjt188ReadingCases, () => openCjt188SuiteTarget('cjt188-reading water', 'water-meter'));
