/**
 * The hex-in, JSON-out half every protocol's `meterlab decode <protocol>` shares: hex parsing, and a
 * codec exception reported as error code `internal` instead of crashing the command.
 */
import { parseHex } from './bytes.ts';
import { decodeError, errorToJson } from './errors.ts';

/** One decoded input line: `ok` for the exit status, `json` to print. */
export interface DecodedLine {
  readonly ok: boolean;
  readonly json: unknown;
}

/** Parses `text` as hex and hands the bytes to `decodeBytes` (the protocol's part); never throws. */
export function decodeHexWith(text: string, decodeBytes: (bytes: Uint8Array) => DecodedLine): DecodedLine {
  try {
    const bytes = parseHex(text);
    if (!bytes.ok) return errorLine(bytes.error);
    return decodeBytes(bytes.value);
  } catch (e) {
    // A codec bug must not crash the command: report it like any rejected input.
    const message = e instanceof Error ? e.message : String(e);
    return errorLine(decodeError('internal', `decoder failed: ${message}`, 0));
  }
}

function errorLine(error: Parameters<typeof errorToJson>[0]): DecodedLine {
  return { ok: false, json: errorToJson(error) };
}
