/**
 * Fuzz targets for the CLI's input readers (issue 5): `meterlab decode dlt645 <hex>` and the
 * simulator profile file of `meterlab simulate meter --profile`. Test support
 * (harness/core/fuzz-support.ts): never imported by production code.
 *
 * `decodeDlt645Hex` catches any exception and reports it as error code `internal`, so the
 * command survives a codec bug; the fuzz target treats `internal` as the exception it hides.
 */
import fc from 'fast-check';
import { parseHex } from '../core/bytes.ts';
import { ProfileError } from '../core/errors.ts';
import { expectJsonClean, expectThat, fuzzTarget, mutatedText, SPECIAL_TEXT } from '../core/fuzz-support.ts';
import { formatHexLoosely, HEX_ERROR_CODES } from '../core/hex-fuzz.ts';
import { SeededRandom } from '../core/random.ts';
import { decode } from '../protocols/dlt645/messages.ts';
import { FRAME_ERROR_CODES, MESSAGE_ERROR_CODES, wireBytesArbitrary, messageFrameArbitrary } from '../protocols/dlt645/fuzz-support.ts';
import { REFERENCE_METER_PROFILE_INPUT } from '../../simulators/electricity-meter/index.ts';
import { CONTROL_CHARACTERS, ScratchFile, SMALL_SIMULATOR_PROFILE, profileTextArbitrary } from '../targets/profile-fuzz.ts';
import { decode as decodeCjt188 } from '../protocols/cjt188/messages.ts';
import { FRAME_CODES as CJT188_FRAME_CODES, MESSAGE_CODES as CJT188_MESSAGE_CODES, messageFrameArbitrary as cjt188FrameArbitrary, wireBytesArbitrary as cjt188WireBytesArbitrary } from '../protocols/cjt188/fuzz-support.ts';
import { decode as decodeGw1376 } from '../protocols/gw1376/messages.ts';
import { FRAME_CODES as GW1376_FRAME_CODES, MESSAGE_CODES as GW1376_MESSAGE_CODES, messageFrameArbitrary as gw1376FrameArbitrary, wireBytesArbitrary as gw1376WireBytesArbitrary } from '../protocols/gw1376/fuzz-support.ts';
import { decodeCjt188Hex, decodeDlt645Hex, decodeGw1376Hex, type DecodedLine } from './decode.ts';
import { describeFailure, EXIT } from './exit.ts';
import { simulatorProfileFor } from './simulate.ts';

const DECODE_ERROR_CODES: ReadonlySet<string> = new Set([...HEX_ERROR_CODES, ...FRAME_ERROR_CODES, ...MESSAGE_ERROR_CODES, 'dlt645.trailing']);

/** What a user pastes: frames as hex in any style, two frames on one line, edited hex, junk. */
const decodeTextArbitrary: fc.Arbitrary<string> = fc.oneof(
  { weight: 4, arbitrary: fc.tuple(wireBytesArbitrary, fc.integer()).filter(([b]) => b.length > 0).map(([b, seed]) => formatHexLoosely(b, new SeededRandom(seed))) },
  { weight: 1, arbitrary: fc.tuple(messageFrameArbitrary, messageFrameArbitrary, fc.integer()).map(([a, b, seed]) => formatHexLoosely(Uint8Array.from([...a, ...b]), new SeededRandom(seed))) },
  { weight: 2, arbitrary: mutatedText(fc.tuple(messageFrameArbitrary, fc.integer()).map(([b, seed]) => formatHexLoosely(b, new SeededRandom(seed)))) },
  { weight: 1, arbitrary: fc.oneof(fc.string({ maxLength: 40 }), fc.array(fc.constantFrom(...SPECIAL_TEXT), { maxLength: 8 }).map((a) => a.join(''))) },
);

export const cliDecodeTarget = fuzzTarget({
  name: 'cli.decode',
  description: 'meterlab decode dlt645 <hex> (decodeDlt645Hex): never the internal error, JSON-clean, ok exactly when the hex is one whole frame that decodes',
  arbitrary: decodeTextArbitrary,
  run: (text: string): DecodedLine => decodeDlt645Hex(text),
  verify(text, r) {
    expectJsonClean(r.json, 'decode output');
    const json = r.json as { ok: boolean; error?: { code: string; message: string; offset: number } };
    expectThat(json.ok === r.ok, 'the JSON ok differs from the exit status');
    if (json.error) {
      expectThat(json.error.code !== 'internal', () => `the decoder threw (reported as internal): ${json.error!.message}`);
      expectThat(DECODE_ERROR_CODES.has(json.error.code), () => `unknown error code ${json.error!.code}`);
    }
    const bytes = parseHex(text);
    const whole = bytes.ok ? decode(bytes.value) : undefined;
    const expected = bytes.ok && whole !== undefined && whole.ok && whole.value.end === bytes.value.length;
    expectThat(r.ok === expected, () => `decode says ok=${r.ok}, expected ${expected}`);
  },
  size: (text) => Buffer.byteLength(text),
  show: (text) => JSON.stringify(text),
});

const CJT188_DECODE_ERROR_CODES: ReadonlySet<string> = new Set([...HEX_ERROR_CODES, ...CJT188_FRAME_CODES, ...CJT188_MESSAGE_CODES, 'cjt188.trailing']);

const cjt188TextArbitrary: fc.Arbitrary<string> = fc.oneof(
  { weight: 4, arbitrary: fc.tuple(cjt188WireBytesArbitrary, fc.integer()).filter(([b]) => b.length > 0).map(([b, seed]) => formatHexLoosely(b, new SeededRandom(seed))) },
  { weight: 1, arbitrary: fc.tuple(cjt188FrameArbitrary, cjt188FrameArbitrary, fc.integer()).map(([a, b, seed]) => formatHexLoosely(Uint8Array.from([...a, ...b]), new SeededRandom(seed))) },
  { weight: 2, arbitrary: mutatedText(fc.tuple(cjt188FrameArbitrary, fc.integer()).map(([b, seed]) => formatHexLoosely(b, new SeededRandom(seed)))) },
  { weight: 1, arbitrary: fc.oneof(fc.string({ maxLength: 40 }), fc.array(fc.constantFrom(...SPECIAL_TEXT), { maxLength: 8 }).map((a) => a.join(''))) },
);

export const cliDecodeCjt188Target = fuzzTarget({
  name: 'cli.decode-cjt188',
  description: 'meterlab decode cjt188 <hex> (decodeCjt188Hex): never the internal error, JSON-clean, ok exactly when the hex is one whole frame that decodes',
  arbitrary: cjt188TextArbitrary,
  run: (text: string): DecodedLine => decodeCjt188Hex(text),
  verify(text, r) {
    expectJsonClean(r.json, 'decode output');
    const json = r.json as { ok: boolean; error?: { code: string; message: string } };
    expectThat(json.ok === r.ok, 'the JSON ok differs from the exit status');
    if (json.error) {
      expectThat(json.error.code !== 'internal', () => `the decoder threw (reported as internal): ${json.error!.message}`);
      expectThat(CJT188_DECODE_ERROR_CODES.has(json.error.code), () => `unknown error code ${json.error!.code}`);
    }
    const bytes = parseHex(text);
    const whole = bytes.ok ? decodeCjt188(bytes.value) : undefined;
    const expected = bytes.ok && whole !== undefined && whole.ok && whole.value.end === bytes.value.length;
    expectThat(r.ok === expected, () => `decode says ok=${r.ok}, expected ${expected}`);
  },
  size: (text) => Buffer.byteLength(text),
  show: (text) => JSON.stringify(text),
});

const GW1376_DECODE_ERROR_CODES: ReadonlySet<string> = new Set([...HEX_ERROR_CODES, ...GW1376_FRAME_CODES, ...GW1376_MESSAGE_CODES, 'gw1376.trailing']);

const gw1376TextArbitrary: fc.Arbitrary<string> = fc.oneof(
  { weight: 4, arbitrary: fc.tuple(gw1376WireBytesArbitrary, fc.integer()).filter(([b]) => b.length > 0).map(([b, seed]) => formatHexLoosely(b, new SeededRandom(seed))) },
  { weight: 1, arbitrary: fc.tuple(gw1376FrameArbitrary, gw1376FrameArbitrary, fc.integer()).map(([a, b, seed]) => formatHexLoosely(Uint8Array.from([...a, ...b]), new SeededRandom(seed))) },
  { weight: 2, arbitrary: mutatedText(fc.tuple(gw1376FrameArbitrary, fc.integer()).map(([b, seed]) => formatHexLoosely(b, new SeededRandom(seed)))) },
  { weight: 1, arbitrary: fc.oneof(fc.string({ maxLength: 40 }), fc.array(fc.constantFrom(...SPECIAL_TEXT), { maxLength: 8 }).map((a) => a.join(''))) },
);

export const cliDecodeGw1376Target = fuzzTarget({
  name: 'cli.decode-gw1376',
  description: 'meterlab decode gw1376 <hex> (decodeGw1376Hex): never the internal error, JSON-clean, ok exactly when the hex is one whole frame that decodes',
  arbitrary: gw1376TextArbitrary,
  run: (text: string): DecodedLine => decodeGw1376Hex(text),
  verify(text, r) {
    expectJsonClean(r.json, 'decode output');
    const json = r.json as { ok: boolean; error?: { code: string; message: string } };
    expectThat(json.ok === r.ok, 'the JSON ok differs from the exit status');
    if (json.error) {
      expectThat(json.error.code !== 'internal', () => `the decoder threw (reported as internal): ${json.error!.message}`);
      expectThat(GW1376_DECODE_ERROR_CODES.has(json.error.code), () => `unknown error code ${json.error!.code}`);
    }
    const bytes = parseHex(text);
    const whole = bytes.ok ? decodeGw1376(bytes.value) : undefined;
    const expected = bytes.ok && whole !== undefined && whole.ok && whole.value.decoded.end === bytes.value.length;
    expectThat(r.ok === expected, () => `decode says ok=${r.ok}, expected ${expected}`);
  },
  size: (text) => Buffer.byteLength(text),
  show: (text) => JSON.stringify(text),
});

const SIMULATOR_KEYS = ['description', 'meter', 'simulation', 'behaviours', 'name', 'address', 'identifiers', 'line', 'baudRate', 'tariffs', 'count', 'load', 'kW', 'registers', 'relay', 'responseDelayMs', 'replyPreamble', 'maxFrameDataLength', 'delayMs'];
const simulatorDocs = fc.constantFrom<unknown>(SMALL_SIMULATOR_PROFILE, REFERENCE_METER_PROFILE_INPUT, { meter: { address: '000000000001', identifiers: ['00010000'] } });
const scratch = new ScratchFile();

export type SimulatorProfileOutput = { readonly ok: true } | { readonly error: ProfileError; readonly file: string };

export const simulatorProfileTarget = simulatorProfileFuzzTarget(20_000, true);

/** See profileTextArbitrary for `maxDepth`, targetProfileFuzzTarget for `controlCharacters`. */
export function simulatorProfileFuzzTarget(maxDepth: number, controlCharacters: boolean) {
  return fuzzTarget({
    name: 'cli.simulator-profile',
    description: `meterlab simulate --profile <file> (simulatorProfileFor): simulator profile JSON edited as JSON and as text, nested up to ${maxDepth} deep, junk: a profile or one ProfileError, printed as one clean line`,
    arbitrary: profileTextArbitrary(simulatorDocs, SIMULATOR_KEYS, maxDepth),
    run(text: string): SimulatorProfileOutput {
      const file = scratch.write(text);
      try {
        simulatorProfileFor({ profile: file, address: '123456789012', baud: undefined });
        return { ok: true };
      } catch (e) {
        if (e instanceof ProfileError) return { error: e, file };
        throw e;
      }
    },
    verify(_text: string, out: SimulatorProfileOutput) {
      if ('ok' in out) return;
      const m = out.error.message;
      expectThat(m.startsWith(`simulator profile ${out.file}`), () => `ProfileError does not name the file: ${m.slice(0, 200)}`);
      // What the command prints: exit 2 and one line (exit.ts).
      const { code, line } = describeFailure(out.error);
      expectThat(code === EXIT.usage, () => `exit ${code} for a bad profile`);
      expectThat(!controlCharacters || !CONTROL_CHARACTERS.test(line.replace(/\n/g, ' ')), () => `the error line carries a control character: ${JSON.stringify(line.slice(0, 300))}`);
    },
    size: (text: string) => Buffer.byteLength(text),
    show: (text: string) => (text.length > 2000 ? `${JSON.stringify(text.slice(0, 2000))}… (${text.length} characters)` : JSON.stringify(text)),
    // The reference profile alone is 1435 identifiers (about a millisecond to validate).
    countScale: 1 / 100,
  });
}
