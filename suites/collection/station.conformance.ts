/**
 * The collection suite's master-station cases as a vitest file: `npm test` runs them against the
 * reference master station (suites/profiles/reference-master-station.json); `meterlab run --target
 * <profile>` runs them against the master station the profile names (METERLAB_TARGET). suite.json
 * gives this file to device kind "master-station" and collection.conformance.ts to "concentrator".
 */
import { defineConformanceSuite } from '../framework/vitest.ts';
import { stationCases } from './station-cases.ts';
import { openStationTarget } from './station-support.ts';

defineConformanceSuite('collection', stationCases, openStationTarget);
