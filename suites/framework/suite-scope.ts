/**
 * Which targets a suite tests: `suites/<suite>/suite.json`, read by `meterlab run` to choose the
 * suites a target runs (harness/cli/run.ts) before any suite starts.
 *
 *   { "protocol": "mbus", "kinds": ["heat-meter"] }
 *
 * `protocol` is a registered target protocol id (harness/targets/protocols.ts), `kinds` the
 * device kinds the suite's cases are written for. A suite folder without the file (the framework's
 * own demo suites) runs on every target.
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { z } from 'zod';
import { ProfileError } from '../../harness/core/errors.ts';
import { readJsonDocument } from '../../harness/core/json-file.ts';
import { DEVICE_KINDS, type DeviceKind } from '../../harness/targets/protocols.ts';

export const SUITE_SCOPE_FILE = 'suite.json';

export const SuiteScopeSchema = z
  .object({
    /** The target protocol the suite speaks (`device.protocol` of the profiles it runs on). */
    protocol: z.string().regex(/^[a-z][a-z0-9-]*$/, 'a target protocol id such as "dlt645"'),
    /** The device kinds its cases are written for (`device.kind`). */
    kinds: z.array(z.enum(DEVICE_KINDS)).min(1, 'name at least one device kind'),
  })
  .strict();

export interface SuiteScope {
  readonly protocol: string;
  readonly kinds: readonly DeviceKind[];
}

/** The scope in `<dir>/suite.json`, or undefined when the folder has none (runs on every target). */
export function readSuiteScope(dir: string): SuiteScope | undefined {
  const file = join(dir, SUITE_SCOPE_FILE);
  if (!existsSync(file)) return undefined;
  const r = SuiteScopeSchema.safeParse(readJsonDocument(file, 'suite scope'));
  if (!r.success) {
    const i = r.error.issues[0]!;
    throw new ProfileError(`suite scope ${file}: ${i.path.join('.') || '(root)'}: ${i.message}`);
  }
  return r.data;
}

/** True when a suite of this scope tests the device (`device.protocol`, `device.kind`) of a target. */
export function scopeCovers(scope: SuiteScope | undefined, device: { readonly protocol: string; readonly kind: string }): boolean {
  return scope === undefined || (scope.protocol === device.protocol && (scope.kinds as readonly string[]).includes(device.kind));
}
