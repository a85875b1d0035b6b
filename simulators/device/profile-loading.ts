/**
 * Profile loading every simulated device shares: a zod schema turns a parsed JSON value (or a
 * JSON file) into a validated profile, and every problem is one ProfileError line that names the
 * source and the field path: `water meter profile: meter.address: must be 14 digits; valve.motorMs: ...`.
 */
import { readFileSync } from 'node:fs';
import type { z } from 'zod';
import { ProfileError } from '../../harness/core/errors.ts';
import { parseJsonText } from '../../harness/core/json-text.ts';

/** `simulation.load.steps[2].from` style path of a zod issue; `(profile)` for the whole document. */
export function formatIssuePath(path: readonly PropertyKey[]): string {
  let out = '';
  for (const p of path) {
    if (typeof p === 'number') out += `[${p}]`;
    else out += (out ? '.' : '') + String(p);
  }
  return out || '(profile)';
}

/**
 * Validates a parsed JSON value against a device's profile schema. Throws one ProfileError
 * naming `source` and every bad field (`<source>: a.b: message; c: message`).
 */
export function parseDeviceProfile<S extends z.ZodType>(schema: S, json: unknown, source: string): z.output<S> {
  const r = schema.safeParse(json);
  if (r.success) return r.data;
  const lines = r.error.issues.map((i) => `${formatIssuePath(i.path)}: ${i.message}`);
  throw new ProfileError(`${source}: ${lines.join('; ')}`);
}

/**
 * Reads a device profile from a JSON file (a BOM is ignored): a missing file, a JSON syntax error
 * (with its line and column) and every invalid field are one ProfileError naming the file.
 */
export function readDeviceProfileFile<S extends z.ZodType>(schema: S, file: string, kind = 'simulator profile'): z.output<S> {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (e) {
    const code = (e as { code?: unknown } | null)?.code;
    const why = code === 'ENOENT' ? 'no such file' : code === 'EISDIR' ? 'is a directory, not a JSON file' : e instanceof Error ? e.message : String(e);
    throw new ProfileError(`${kind} ${file}: ${why}`, { cause: e });
  }
  const parsed = parseJsonText(text.replace(/^\uFEFF/, ''));
  if (!parsed.ok) {
    const { line, column, message } = parsed.problem;
    throw new ProfileError(`${kind} ${file}: invalid JSON at line ${line}, column ${column}: ${message}`);
  }
  return parseDeviceProfile(schema, parsed.value, `${kind} ${file}`);
}
