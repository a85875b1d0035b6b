/**
 * The M-Bus reading suite as a vitest file: `npm test` runs it against the reference heat meter
 * (suites/profiles/reference-heat-meter.json); `meterlab run --target <profile>` runs it against
 * any M-Bus heat-meter target (METERLAB_TARGET), captures under METERLAB_OUT/captures/.
 */
import { defineConformanceSuite } from '../framework/vitest.ts';
import { openSuiteTarget } from '../framework/suite-target.ts';
import { mbusReadingCases } from './cases.ts';

defineConformanceSuite('mbus-reading', mbusReadingCases, () => openSuiteTarget({ suite: 'mbus-reading', protocol: 'mbus', kind: 'heat-meter' }));
