/**
 * Until the lead's openSuiteTarget lands (suites/framework/suite-target.ts): opens METERLAB_TARGET,
 * or the reference device profile of `kind` when it is unset or "reference", with the captures
 * under METERLAB_OUT/captures/<suite>.jsonl.
 */
import { join, resolve } from 'node:path';
import { loadDeviceTargetProfile, openDeviceTarget, type DeviceTarget } from '../../harness/targets/index.ts';
import { runOutputDir, selectedTarget } from '../framework/env.ts';

export async function openCjt188SuiteTarget(suite: string, kind: 'water-meter' | 'gas-meter'): Promise<DeviceTarget> {
  const spec = selectedTarget();
  const file = spec === 'reference' ? resolve(import.meta.dirname, '..', 'profiles', `reference-${kind}.json`) : spec;
  const out = runOutputDir();
  return openDeviceTarget(loadDeviceTargetProfile(file), out ? { captureFile: join(out, 'captures', `${suite.replace(/\s+/g, '-')}.jsonl`) } : {});
}
