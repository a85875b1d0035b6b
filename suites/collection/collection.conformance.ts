/**
 * The collection suite as a vitest file: `npm test` runs it against the reference concentrator
 * (suites/profiles/reference-concentrator.json); `meterlab run --target <profile>` runs it against
 * the concentrator the profile names (METERLAB_TARGET), captures under METERLAB_OUT/captures/.
 */
import { defineConformanceSuite } from '../framework/vitest.ts';
import { collectionCases } from './cases.ts';
import { openCollectionTarget } from './support.ts';

defineConformanceSuite('collection', collectionCases, openCollectionTarget);
