/**
 * The interface converter suite as a vitest file: `npm test` runs it against the reference converter
 * (suites/profiles/reference-interface-converter.json); `meterlab run --target <profile>` runs it
 * against any converter target (METERLAB_TARGET), captures under METERLAB_OUT/captures/.
 */
import { openSuiteTarget } from '../framework/suite-target.ts';
import { defineConformanceSuite } from '../framework/vitest.ts';
import { converterCases } from './cases.ts';

defineConformanceSuite('converter', converterCases, () => openSuiteTarget({ suite: 'converter', protocol: 'converter', kind: 'interface-converter' }));
