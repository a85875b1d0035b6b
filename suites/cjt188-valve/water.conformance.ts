/**
 * The CJ/T 188 valve suite against a water meter: `npm test` runs it against the reference water
 * meter (../profiles/reference-water-meter.json); `meterlab run --target <profile>` against any
 * CJ/T 188 water meter (METERLAB_TARGET), captures under METERLAB_OUT/captures/. A target of another
 * protocol or kind: every case not applicable (openSuiteTarget). Case ids name the kind
 * (cjt188-valve.water.…): support.ts casesForKind.
 */
import { defineConformanceSuite } from '../framework/vitest.ts';
import { openSuiteTarget } from '../framework/suite-target.ts';
import { casesForKind } from '../cjt188-reading/support.ts';
import { cjt188ValveCases } from './cases.ts';

defineConformanceSuite('cjt188-valve water', casesForKind(cjt188ValveCases, 'water'), () => openSuiteTarget({ suite: 'cjt188-valve', protocol: 'cjt188', kind: 'water-meter' }));
