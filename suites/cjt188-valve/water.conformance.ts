/**
 * The CJ/T 188 valve suite against a water meter: `npm test` runs it against the reference water
 * meter (../profiles/reference-water-meter.json); `meterlab run --target <profile>` against any
 * CJ/T 188 water meter (METERLAB_TARGET), captures under METERLAB_OUT/captures/.
 */
import { defineConformanceSuite } from '../framework/vitest.ts';
import { openCjt188SuiteTarget } from '../cjt188-reading/open-target.ts';
import { cjt188ValveCases } from './cases.ts';

defineConformanceSuite('cjt188-valve water', cjt188ValveCases, () => openCjt188SuiteTarget('cjt188-valve water', 'water-meter'));
