/**
 * Opening the target of a suite for one protocol and device kind (suite.json, suite-scope.ts):
 *
 *   defineConformanceSuite('mbus-reading', mbusReadingCases, () =>
 *     openSuiteTarget({ suite: 'mbus-reading', protocol: 'mbus', kind: 'heat-meter' }));
 *
 * - METERLAB_TARGET unset or "reference": the reference device of that kind,
 *   `suites/profiles/reference-<kind>.json` (a normal device profile on a reference connection;
 *   DL/T 645: the built-in reference meter),
 *   so `meterlab run --target reference` runs every suite, each against its own reference device;
 * - a profile file: loaded with loadDeviceTargetProfile; when its device is not the suite's
 *   protocol and kind, TargetNotInScope: every case "not applicable" with the reason (`meterlab
 *   run` does not start such suites, so this is for a suite file run by hand).
 * Captures go to `<METERLAB_OUT>/captures/<suite>.<kind>.jsonl` under `meterlab run`.
 */
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Clock } from '../../harness/core/clock.ts';
import { loadDeviceTargetProfile } from '../../harness/targets/device-profile.ts';
import { DLT645_TARGET_PROTOCOL } from '../../harness/targets/dlt645-protocol.ts';
import { REFERENCE_TARGET_SPEC } from '../../harness/targets/profile.ts';
import { targetProtocol, type DeviceKind } from '../../harness/targets/protocols.ts';
import { openDeviceTarget, type DeviceTarget } from '../../harness/targets/target.ts';
import { TargetNotInScope } from './case.ts';
import { runOutputDir, selectedTarget } from './env.ts';

export interface SuiteTargetScope {
  /** The suite's name (captures file). */
  readonly suite: string;
  /** The target protocol id the suite speaks. */
  readonly protocol: string;
  /** The device kind this conformance file's cases run on. */
  readonly kind: DeviceKind;
}

/** Where the reference devices of the suites live: suites/profiles/reference-<kind>.json. */
export const REFERENCE_PROFILES_DIR = fileURLToPath(new URL('../profiles/', import.meta.url));

/** The reference device profile of a device kind (a file in suites/profiles). */
export function referenceDeviceProfilePath(kind: DeviceKind): string {
  return join(REFERENCE_PROFILES_DIR, `reference-${kind}.json`);
}

/** The target profile a suite of `scope` runs on: the kind's reference device, or the selected profile file. */
export function suiteTargetSpec(scope: SuiteTargetScope, selected: string = selectedTarget()): string {
  if (selected !== REFERENCE_TARGET_SPEC) return selected;
  // The DL/T 645 electricity meter is the built-in reference (profile.ts referenceTargetProfile).
  return scope.protocol === DLT645_TARGET_PROTOCOL.id ? REFERENCE_TARGET_SPEC : referenceDeviceProfilePath(scope.kind);
}

export async function openSuiteTarget(scope: SuiteTargetScope, options: { readonly clock?: Clock } = {}): Promise<DeviceTarget> {
  const profile = loadDeviceTargetProfile(suiteTargetSpec(scope));
  const { kind, protocol } = profile.device;
  if (protocol !== scope.protocol || kind !== scope.kind) {
    const title = (id: string): string => targetProtocol(id)?.title ?? id;
    throw new TargetNotInScope(`the target "${profile.name}" is a ${kind} read over ${title(protocol)}; this suite tests ${scope.kind}s read over ${title(scope.protocol)}`);
  }
  const out = runOutputDir();
  return openDeviceTarget(profile, {
    ...(out ? { captureFile: join(out, 'captures', `${scope.suite}.${scope.kind}.jsonl`) } : {}),
    ...(options.clock ? { clock: options.clock } : {}),
  });
}
