/**
 * The CJ/T 188 valve suite against a gas meter: `npm test` runs it against the reference gas
 * meter (../profiles/reference-gas-meter.json); `meterlab run --target <profile>` against any
 * CJ/T 188 gas meter (METERLAB_TARGET), captures under METERLAB_OUT/captures/. A target of another
 * protocol or kind: every case not applicable (openSuiteTarget). Case ids name the kind
 * (cjt188-valve.gas.…): support.ts casesForKind.
 */
import { defineConformanceSuite } from '../framework/vitest.ts';
import { openSuiteTarget } from '../framework/suite-target.ts';
import { casesForKind } from '../cjt188-reading/support.ts';
import { cjt188ValveCases } from './cases.ts';

defineConformanceSuite('cjt188-valve gas', casesForKind(cjt188ValveCases, 'gas'), () => openSuiteTarget({ suite: 'cjt188-valve', protocol: 'cjt188', kind: 'gas-meter' }));
