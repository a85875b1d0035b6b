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

/** One protocol's `meterlab decode <protocol> <hex>` for decodeCliTarget. */
interface DecodeCliSpec {
  readonly name: string;
  readonly command: string;
  /** Wire bytes of every kind the protocol's own fuzz targets use, and whole valid frames. */
  readonly wireBytes: fc.Arbitrary<Uint8Array>;
  readonly frames: fc.Arbitrary<Uint8Array>;
  /** Every error code the command may print besides the hex ones (frame, message, `<protocol>.trailing`). */
  readonly errorCodes: Iterable<string>;
  readonly run: (text: string) => DecodedLine;
  /** The end of the one frame at the start of `bytes` when it decodes as a whole, else undefined (the oracle for `ok`). */
  readonly frameEnd: (bytes: Uint8Array) => number | undefined;
}

/**
 * The fuzz target of a `meterlab decode` command: what a user pastes (frames as hex in any style,
 * two frames on one line, edited hex, junk) gives JSON-clean output, never the internal error (a
 * hidden exception), only known error codes, and ok exactly when the hex is one whole frame that
 * decodes.
 */
function decodeCliTarget(spec: DecodeCliSpec) {
  const codes: ReadonlySet<string> = new Set([...HEX_ERROR_CODES, ...spec.errorCodes]);
  const hexOf = (b: Uint8Array, seed: number): string => formatHexLoosely(b, new SeededRandom(seed));
  const text: fc.Arbitrary<string> = fc.oneof(
    { weight: 4, arbitrary: fc.tuple(spec.wireBytes, fc.integer()).filter(([b]) => b.length > 0).map(([b, seed]) => hexOf(b, seed)) },
    { weight: 1, arbitrary: fc.tuple(spec.frames, spec.frames, fc.integer()).map(([a, b, seed]) => hexOf(Uint8Array.from([...a, ...b]), seed)) },
    { weight: 2, arbitrary: mutatedText(fc.tuple(spec.frames, fc.integer()).map(([b, seed]) => hexOf(b, seed))) },
    { weight: 1, arbitrary: fc.oneof(fc.string({ maxLength: 40 }), fc.array(fc.constantFrom(...SPECIAL_TEXT), { maxLength: 8 }).map((a) => a.join(''))) },
  );
  return fuzzTarget({
    name: spec.name,
    description: `${spec.command}: never the internal error, JSON-clean, ok exactly when the hex is one whole frame that decodes`,
    arbitrary: text,
    run: spec.run,
    verify(input: string, r: DecodedLine) {
      expectJsonClean(r.json, 'decode output');
      const json = r.json as { ok: boolean; error?: { code: string; message: string } };
      expectThat(json.ok === r.ok, 'the JSON ok differs from the exit status');
      if (json.error) {
        expectThat(json.error.code !== 'internal', () => `the decoder threw (reported as internal): ${json.error!.message}`);
        expectThat(codes.has(json.error.code), () => `unknown error code ${json.error!.code}`);
      }
      const bytes = parseHex(input);
      const expected = bytes.ok && spec.frameEnd(bytes.value) === bytes.value.length;
      expectThat(r.ok === expected, () => `decode says ok=${r.ok}, expected ${expected}`);
    },
    size: (t: string) => Buffer.byteLength(t),
    show: (t: string) => JSON.stringify(t),
  });
}

export const cliDecodeTarget = decodeCliTarget({
  name: 'cli.decode',
  command: 'meterlab decode dlt645 <hex> (decodeDlt645Hex)',
  wireBytes: wireBytesArbitrary,
  frames: messageFrameArbitrary,
  errorCodes: [...FRAME_ERROR_CODES, ...MESSAGE_ERROR_CODES, 'dlt645.trailing'],
  run: (text) => decodeDlt645Hex(text),
  frameEnd: (bytes) => {
    const r = decode(bytes);
    return r.ok ? r.value.end : undefined;
  },
});

export const cliDecodeCjt188Target = decodeCliTarget({
  name: 'cli.decode-cjt188',
  command: 'meterlab decode cjt188 <hex> (decodeCjt188Hex)',
  wireBytes: cjt188WireBytesArbitrary,
  frames: cjt188FrameArbitrary,
  errorCodes: [...CJT188_FRAME_CODES, ...CJT188_MESSAGE_CODES, 'cjt188.trailing'],
  run: (text) => decodeCjt188Hex(text),
  frameEnd: (bytes) => {
    const r = decodeCjt188(bytes);
    return r.ok ? r.value.end : undefined;
  },
});

export const cliDecodeGw1376Target = decodeCliTarget({
  name: 'cli.decode-gw1376',
  command: 'meterlab decode gw1376 <hex> (decodeGw1376Hex)',
  wireBytes: gw1376WireBytesArbitrary,
  frames: gw1376FrameArbitrary,
  errorCodes: [...GW1376_FRAME_CODES, ...GW1376_MESSAGE_CODES, 'gw1376.trailing'],
  run: (text) => decodeGw1376Hex(text),
  frameEnd: (bytes) => {
    const r = decodeGw1376(bytes);
    return r.ok ? r.value.decoded.end : undefined;
  },
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
    // The reference profile alone is 1442 identifiers (about a millisecond to validate).
    countScale: 1 / 100,
  });
}
