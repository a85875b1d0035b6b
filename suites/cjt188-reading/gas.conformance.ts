/**
 * The CJ/T 188 reading suite against a gas meter: `npm test` runs it against the reference gas
 * meter (../profiles/reference-gas-meter.json); `meterlab run --target <profile>` against any
 * CJ/T 188 gas meter (METERLAB_TARGET), captures under METERLAB_OUT/captures/.
 */
import { defineConformanceSuite } from '../framework/vitest.ts';
import { cjt188ReadingCases } from './cases.ts';
import { openCjt188SuiteTarget } from './open-target.ts';

defineConformanceSuite('cjt188-reading gas', cjt188ReadingCases, () => openCjt188SuiteTarget('cjt188-reading gas', 'gas-meter'));
