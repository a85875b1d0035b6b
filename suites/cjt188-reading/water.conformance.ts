/**
 * The CJ/T 188 reading suite against a water meter: `npm test` runs it against the reference water
 * meter (../profiles/reference-water-meter.json); `meterlab run --target <profile>` against any
 * CJ/T 188 water meter (METERLAB_TARGET), captures under METERLAB_OUT/captures/. A target of another
 * protocol or kind: every case not applicable (openSuiteTarget). Case ids name the kind
 * (cjt188-reading.water.…): support.ts casesForKind.
 */
import { defineConformanceSuite } from '../framework/vitest.ts';
import { openSuiteTarget } from '../framework/suite-target.ts';
import { casesForKind } from './support.ts';
import { cjt188ReadingCases } from './cases.ts';

defineConformanceSuite('cjt188-reading water', casesForKind(cjt188ReadingCases, 'water'), () => openSuiteTarget({ suite: 'cjt188-reading', protocol: 'cjt188', kind: 'water-meter' }));
