/**
 * The CJ/T 188 reading suite against a gas meter: `npm test` runs it against the reference gas
 * meter (../profiles/reference-gas-meter.json); `meterlab run --target <profile>` against any
 * CJ/T 188 gas meter (METERLAB_TARGET), captures under METERLAB_OUT/captures/. A target of another
 * protocol or kind: every case not applicable (openSuiteTarget). Case ids name the kind
 * (cjt188-reading.gas.…): support.ts casesForKind.
 */
import { defineConformanceSuite } from '../framework/vitest.ts';
import { openSuiteTarget } from '../framework/suite-target.ts';
import { casesForKind } from './support.ts';
import { cjt188ReadingCases } from './cases.ts';

defineConformanceSuite('cjt188-reading gas', casesForKind(cjt188ReadingCases, 'gas'), () => openSuiteTarget({ suite: 'cjt188-reading', protocol: 'cjt188', kind: 'gas-meter' }));
