/**
 * The reading suite as a vitest file: `npm test` runs it against the built-in reference;
 * `meterlab run --target <profile>` runs it against any target (METERLAB_TARGET) and writes
 * the captures under METERLAB_OUT/captures/.
 */
import { openDlt645SuiteTarget } from '../framework/suite-target.ts';
import { defineConformanceSuite } from '../framework/vitest.ts';
import { readingCases } from './cases.ts';

defineConformanceSuite('reading', readingCases, () => openDlt645SuiteTarget('reading', { meterCasesOnly: true }));
