/**
 * The CJ/T 188 valve suite against a gas meter: `npm test` runs it against the reference gas
 * meter (../profiles/reference-gas-meter.json); `meterlab run --target <profile>` against any
 * CJ/T 188 gas meter (METERLAB_TARGET), captures under METERLAB_OUT/captures/.
 */
import { defineConformanceSuite } from '../framework/vitest.ts';
import { openCjt188SuiteTarget } from '../cjt188-reading/open-target.ts';
import { cjt188ValveCases } from './cases.ts';

defineConformanceSuite('cjt188-valve gas', cjt188ValveCases, () => openCjt188SuiteTarget('cjt188-valve gas', 'gas-meter'));
