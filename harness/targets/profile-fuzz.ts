/**
 * Fuzz targets for the target-profile loader (issue 5): JSON text with line/column errors
 * (`parseJsonText`) and `loadTargetProfile` on a file. Contract: a TargetProfile, or one
 * ProfileError whose message names the file and carries no control character but line feeds
 * (which the CLI folds into its one line); never another exception. Test support
 * (harness/core/fuzz-support.ts): never imported by production code.
 */
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import fc from 'fast-check';
import { ProfileError } from '../core/errors.ts';
import { applyJsonEdits, expectThat, fuzzTarget, jsonEditArbitrary, mutatedText, SPECIAL_TEXT } from '../core/fuzz-support.ts';
import { REFERENCE_METER_PROFILE_INPUT } from '../../simulators/electricity-meter/index.ts';
import { BUILT_IN_BEHAVIOUR_NAMES } from '../../simulators/electricity-meter/behaviours.ts';
import { findSyntaxErrorOffset, lineColumn, parseJsonText, type JsonParseResult } from './json-text.ts';
import { loadTargetProfile, type TargetProfile } from './profile.ts';

const PROFILES_DIR = join(import.meta.dirname, '..', '..', 'suites', 'profiles');

/** A small simulator profile (the reference meter with 12 identifiers), for inline `connection.simulator`. */
export const SMALL_SIMULATOR_PROFILE = {
  ...REFERENCE_METER_PROFILE_INPUT,
  meter: { ...REFERENCE_METER_PROFILE_INPUT.meter, identifiers: REFERENCE_METER_PROFILE_INPUT.meter.identifiers.slice(0, 12), followUpIdentifiers: [] },
};

/**
 * A checked-in profile whose `connection.simulator` is a path relative to suites/profiles, with
 * that path made absolute: the fuzz targets write documents to a scratch folder elsewhere.
 */
function withAbsoluteSimulator(doc: unknown): unknown {
  const c = (doc as { connection?: { simulator?: unknown } }).connection;
  if (typeof c?.simulator !== 'string') return doc;
  return { ...(doc as object), connection: { ...c, simulator: resolve(PROFILES_DIR, c.simulator) } };
}

/** A DL/T 645 profile (no `device`, or `device.protocol` "dlt645"): what loadTargetProfile loads. */
function isDlt645Document(doc: unknown): boolean {
  return ((doc as { device?: { protocol?: unknown } }).device?.protocol ?? 'dlt645') === 'dlt645';
}

/** The checked-in DL/T 645 target profiles (those of other protocols load with loadDeviceTargetProfile), plus a reference target with an inline simulator and every behaviour. */
export const BASE_TARGET_PROFILES: readonly unknown[] = [
  ...readdirSync(PROFILES_DIR)
    .filter((f) => f.endsWith('.json'))
    .sort()
    .map((f) => JSON.parse(readFileSync(join(PROFILES_DIR, f), 'utf8')) as unknown)
    .filter(isDlt645Document)
    .map(withAbsoluteSimulator),
  {
    name: 'inline-simulator',
    connection: { type: 'reference', transport: 'memory', simulator: SMALL_SIMULATOR_PROFILE, behaviours: BUILT_IN_BEHAVIOUR_NAMES.map((name) => ({ name })), seed: 7 },
  },
];

const TARGET_KEYS = ['name', 'description', 'connection', 'type', 'transport', 'simulator', 'behaviours', 'seed', 'clockOffsetMs', 'path', 'line', 'baudRate', 'parity', 'host', 'port', 'meter', 'address', 'identifiers', 'master', 'timeoutMs', 'limits'];

const baseDoc = fc.constantFrom(...BASE_TARGET_PROFILES);
/** Deepest nesting `npm run fuzz` generates. */
const DEEPEST = 20_000;
const stringify = (doc: unknown, indent: number): string => JSON.stringify(doc, null, indent) ?? 'undefined';

/**
 * JSON text of profiles: checked-in, edited as JSON, edited as text, nested up to `maxDepth`
 * deep, any JSON, junk. `npm run fuzz` nests up to 20,000 deep; `npm test` stays at 2,000 (the
 * deep case has its own tests, and a 20,000-deep counterexample would flood the test output).
 */
export function profileTextArbitrary(docs: fc.Arbitrary<unknown>, keys: readonly string[], maxDepth = DEEPEST): fc.Arbitrary<string> {
  return fc.oneof(
    { weight: 2, arbitrary: fc.tuple(docs, fc.constantFrom(0, 2), fc.boolean()).map(([d, indent, bom]) => (bom ? '\uFEFF' : '') + stringify(d, indent)) },
    {
      weight: 8,
      arbitrary: fc
        .tuple(docs, fc.array(jsonEditArbitrary(keys), { minLength: 1, maxLength: 3 }), fc.constantFrom(0, 2))
        .map(([d, edits, indent]) => stringify(applyJsonEdits(d, edits), indent)),
    },
    { weight: 6, arbitrary: mutatedText(fc.tuple(docs, fc.constantFrom(0, 2)).map(([d, indent]) => stringify(d, indent))) },
    {
      weight: 1,
      // Deep nesting: a profile whose value opens thousands of arrays or objects.
      arbitrary: fc
        .tuple(fc.oneof(fc.integer({ min: 1, max: Math.min(2_000, maxDepth) }), fc.integer({ min: Math.min(2_000, maxDepth), max: maxDepth })), fc.constantFrom('[', '{"a":', '[{"b":'), fc.boolean())
        .map(([depth, open, closed]) => {
          const closing = open === '[' ? ']' : open === '{"a":' ? '}' : '}]';
          const body = open.repeat(depth) + (closed ? (open === '[' ? '' : '1') + closing.repeat(depth) : '');
          return `{"name":"deep","connection":${body}}`;
        }),
    },
    { weight: 1, arbitrary: fc.jsonValue({ maxDepth: 3 }).map((v) => JSON.stringify(v)) },
    { weight: 1, arbitrary: fc.array(fc.constantFrom(...SPECIAL_TEXT), { maxLength: 16 }).map((a) => a.join('')) },
  );
}

export const jsonTextTarget = jsonTextFuzzTarget(DEEPEST);

export function jsonTextFuzzTarget(maxDepth: number) {
  return fuzzTarget({
    name: 'targets.json-text',
    description: `parseJsonText (JSON.parse + the line/column scanner) on profile text nested up to ${maxDepth} deep: agrees with JSON.parse, offsets inside the text`,
    arbitrary: profileTextArbitrary(baseDoc, TARGET_KEYS, maxDepth),
    run: (text: string): JsonParseResult => parseJsonText(text),
    verify(text: string, r: JsonParseResult) {
      let native = true;
      try {
        JSON.parse(text);
      } catch {
        native = false;
      }
      expectThat(r.ok === native, () => `parseJsonText ok=${r.ok} but JSON.parse ${native ? 'accepts' : 'rejects'} the text`);
      if (r.ok) return;
      // The product asks the scanner only about text JSON.parse rejected: it must find the spot.
      const offset = findSyntaxErrorOffset(text);
      expectThat(offset !== undefined, 'JSON.parse rejects the text but findSyntaxErrorOffset finds it valid');
      const p = r.problem;
      expectThat(Number.isInteger(p.offset) && p.offset >= 0 && p.offset <= text.length, () => `offset ${p.offset} outside the ${text.length}-character text`);
      const lc = lineColumn(text, p.offset);
      expectThat(lc.line === p.line && lc.column === p.column, 'line/column do not match the offset');
      expectThat(p.message.length > 0, 'empty syntax error message');
    },
    size: (text) => Buffer.byteLength(text),
    show: (text: string) => (text.length > 2000 ? `${JSON.stringify(text.slice(0, 2000))}… (${text.length} characters)` : JSON.stringify(text)),
    // About 2 KB of profile text per input (up to 300 KB nested): 1 input per 10 of --count.
    countScale: 1 / 10,
  });
}

/** One scratch file the file-based loaders read (removed at exit). */
export class ScratchFile {
  private dir: string | undefined;
  get path(): string {
    if (this.dir === undefined) {
      const dir = mkdtempSync(join(tmpdir(), 'meterlab-fuzz-'));
      this.dir = dir;
      process.once('exit', () => rmSync(dir, { recursive: true, force: true }));
    }
    return join(this.dir, 'profile.json');
  }
  write(text: string): string {
    const p = this.path;
    writeFileSync(p, text);
    return p;
  }
}

const scratch = new ScratchFile();

/** Control characters other than tab and line feed. */
export const CONTROL_CHARACTERS = /[\u0000-\u0008\u000b-\u001f\u007f]/;

export type ProfileLoadOutput = { readonly profile: TargetProfile } | { readonly error: ProfileError; readonly file: string };

export const targetProfileTarget = targetProfileFuzzTarget(DEEPEST, true);

/**
 * `controlCharacters`: also require messages free of control characters (the one-line rule of
 * the CLI). `npm run fuzz` checks it; the bounded test leaves it to the CLI's own tests while
 * harness/cli/exit.ts is reworked (issue 5: one clear line per CLI case).
 */
export function targetProfileFuzzTarget(maxDepth: number, controlCharacters: boolean) {
  return fuzzTarget({
    name: 'targets.profile',
    description: `loadTargetProfile on a file of profile JSON (checked-in profiles edited as JSON and as text, nested up to ${maxDepth} deep, junk): a profile or one ProfileError`,
    arbitrary: profileTextArbitrary(baseDoc, TARGET_KEYS, maxDepth),
    run(text: string): ProfileLoadOutput {
      const file = scratch.write(text);
      try {
        return { profile: loadTargetProfile(file) };
      } catch (e) {
        if (e instanceof ProfileError) return { error: e, file };
        throw e;
      }
    },
    verify(_text: string, out: ProfileLoadOutput) {
      if ('error' in out) {
        const m = out.error.message;
        expectThat(m.startsWith(`target profile ${out.file}`), () => `ProfileError does not name the file: ${m.slice(0, 200)}`);
        // The CLI folds line feeds into spaces (harness/cli/exit.ts oneLine); any other control
        // character (a carriage return) would reach the terminal inside the one-line message.
        expectThat(!controlCharacters || !CONTROL_CHARACTERS.test(m), () => `ProfileError message carries a control character: ${JSON.stringify(m.slice(0, 300))}`);
        return;
      }
      const p = out.profile;
      expectThat(['reference', 'serial', 'tcp'].includes(p.connection.type), 'unknown connection type accepted');
      expectThat(/^\d{12}$/.test(p.meter.address), () => `meter address ${p.meter.address} accepted`);
      expectThat(p.meter.identifiers.length > 0, 'a profile without identifiers accepted');
    },
    size: (text: string) => Buffer.byteLength(text),
    show: (text: string) => (text.length > 2000 ? `${JSON.stringify(text.slice(0, 2000))}… (${text.length} characters)` : JSON.stringify(text)),
    // Validating a reference target revalidates the 1442-identifier simulator profile (about a
    // millisecond): 1 input per 100 of --count.
    countScale: 1 / 100,
  });
}
