/**
 * Which targets a suite tests: `suites/<suite>/suite.json`, read by `meterlab run` to choose the
 * suites a target runs (harness/cli/run.ts) before any suite starts.
 *
 *   { "protocol": "mbus", "kinds": ["heat-meter"] }
 *
 * `protocol` is a registered target protocol id (harness/targets/protocols.ts), `kinds` the
 * device kinds the suite's cases are written for; `systemCases: true` marks a suite that also holds
 * system cases, the only suites a vendor's station profile (no meter of its own) runs. A suite folder without the file (the framework's
 * own demo suites) runs on every target.
 */
import { existsSync } from 'node:fs';
import { basename, join } from 'node:path';
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
    /** The suite holds system cases (a master station as the system under test), so it runs on a station-only profile too. */
    systemCases: z.boolean().default(false),
    /**
     * A suite with one conformance file per device kind: which kind each file is for
     * (`{ "water.conformance.ts": "water-meter" }`), so a target of one kind starts only its file.
     */
    files: z.record(z.string().regex(/\.conformance\.ts$/, 'a conformance file name'), z.enum(DEVICE_KINDS)).optional(),
  })
  .strict();

export interface SuiteScope {
  readonly protocol: string;
  readonly kinds: readonly DeviceKind[];
  readonly systemCases?: boolean;
  readonly files?: Readonly<Record<string, DeviceKind>>;
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
export function scopeCovers(scope: SuiteScope | undefined, device: { readonly protocol: string; readonly kind: string; readonly stationOnly?: boolean }): boolean {
  if (scope === undefined) return true;
  if (device.stationOnly && !scope.systemCases) return false;
  return scope.protocol === device.protocol && (scope.kinds as readonly string[]).includes(device.kind);
}

/**
 * The conformance files of a suite a target's device runs: all of them, except that a file the
 * scope gives to another device kind is left out (`files` in suite.json). No device (the built-in
 * reference): every file.
 */
export function filesForDevice(files: readonly string[], scope: SuiteScope | undefined, device: { readonly kind: string } | undefined): string[] {
  const kinds = scope?.files;
  if (!kinds || !device) return [...files];
  return files.filter((f) => {
    const kind = kinds[basename(f)];
    return kind === undefined || kind === device.kind;
  });
}
