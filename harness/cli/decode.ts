/**
 * `meterlab decode dlt645 <hex>` and `meterlab decode dlt645 --stdin`.
 *
 * Input is one frame as hex (separators, 0x prefixes and FE wake-up bytes allowed). Output is one
 * JSON object per frame on stdout:
 * - a decoded frame: `frameToJson(...)` (`"ok": true`, frame fields, message, dictionary item);
 * - a frame whose message did not decode: the frame fields with `"ok": false` and `error`;
 * - anything else (bad hex, not a frame, bytes after the frame): `{"ok":false,"error":{code,message,offset}}`
 *   where offset is a character index for hex errors (`hex.*`) and a byte index otherwise.
 * Exit code 0 when every frame decoded, 1 otherwise (see exit.ts). Never throws on any input.
 */
import { createInterface } from 'node:readline';
import type { Readable, Writable } from 'node:stream';
import { parseHex } from '../core/bytes.ts';
import { decodeError } from '../core/errors.ts';
import {
  decodeFrame,
  decodeMessage,
  DICTIONARY,
  errorToJson,
  frameToJson,
  HEADER_LENGTH,
  type Dlt645Dictionary,
} from '../protocols/dlt645/index.ts';
import { EXIT, type ExitCode } from './exit.ts';

export interface DecodedLine {
  readonly ok: boolean;
  readonly json: unknown;
}

/** Decodes one hex frame (names and values from the data dictionary); never throws. */
export function decodeDlt645Hex(text: string, dictionary: Dlt645Dictionary | undefined = DICTIONARY): DecodedLine {
  try {
    const bytes = parseHex(text);
    if (!bytes.ok) return { ok: false, json: errorToJson(bytes.error) };
    const frame = decodeFrame(bytes.value, 0);
    if (!frame.ok) return { ok: false, json: errorToJson(frame.error) };
    if (frame.value.end < bytes.value.length) {
      const extra = bytes.value.length - frame.value.end;
      return {
        ok: false,
        json: errorToJson(decodeError('dlt645.trailing', `${extra} byte(s) after the end of the frame (one frame per input)`, frame.value.end)),
      };
    }
    const { frame: f, start } = frame.value;
    const message = decodeMessage(f, start + f.preamble + HEADER_LENGTH);
    const json = frameToJson(frame.value, message, dictionary);
    return { ok: json.ok, json };
  } catch (e) {
    // A codec bug must not crash the command: report it like any rejected input.
    const message = e instanceof Error ? e.message : String(e);
    return { ok: false, json: errorToJson(decodeError('internal', `decoder failed: ${message}`, 0)) };
  }
}

export async function decodeCommand(hexText: string, out: Writable): Promise<ExitCode> {
  const r = decodeDlt645Hex(hexText);
  out.write(`${JSON.stringify(r.json)}\n`);
  return r.ok ? EXIT.ok : EXIT.negative;
}

/** One hex frame per line; blank lines skipped; one JSON object per line out. */
export async function decodeStdinCommand(input: Readable, out: Writable): Promise<ExitCode> {
  let allOk = true;
  const lines = createInterface({ input, crlfDelay: Infinity });
  for await (const line of lines) {
    if (line.trim() === '') continue;
    const r = decodeDlt645Hex(line);
    if (!r.ok) allOk = false;
    out.write(`${JSON.stringify(r.json)}\n`);
  }
  return allOk ? EXIT.ok : EXIT.negative;
}
