/**
 * Typed errors.
 *
 * - `DecodeError` is a plain value (not an exception) returned by codecs for bad wire bytes:
 *   a stable machine-readable `code`, a human `message` and the byte `offset` where the
 *   problem was found (relative to the start of the buffer handed to the decoder).
 * - `MeterLabError` and its subclasses are thrown for programmer errors, bad arguments,
 *   bad profiles, timeouts and link failures. The CLI prints `message` on one line and exits
 *   non-zero; it never prints a stack for a `MeterLabError`.
 */
import { escapeControlCharacters } from './text.ts';

export interface DecodeError {
  readonly code: string;
  readonly message: string;
  readonly offset: number;
}

export function decodeError(code: string, message: string, offset: number): DecodeError {
  return { code, message, offset };
}

/** A DecodeError as every codec's JSON rendering and `meterlab decode` print it. */
export interface DecodeErrorJson {
  readonly code: string;
  readonly message: string;
  readonly offset: number;
}

/** `{ ok: false, error: { code, message, offset } }`: a rejected input in the decoders' JSON. */
export function errorToJson(error: DecodeError): { ok: false; error: DecodeErrorJson } {
  return { ok: false, error: { code: error.code, message: error.message, offset: error.offset } };
}

export class MeterLabError extends Error {
  readonly code: string;
  constructor(code: string, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.code = code;
    this.name = new.target.name;
  }
}

/** A bad command-line argument or request: one clear message, exit code 2. */
export class UsageError extends MeterLabError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('usage', message, options);
  }
}

/** A target or simulator profile that cannot be read or does not validate. */
export class ProfileError extends MeterLabError {
  constructor(message: string, options?: { cause?: unknown }) {
    // A profile's keys and values are echoed back in the message: a control character among
    // them (a CR, a NUL) is shown escaped, so the message stays lines of text (found by npm run fuzz).
    super('profile', escapeControlCharacters(message, { keepLineFeeds: true }), options);
  }
}

/** A link (serial port, TCP socket, simulated bus) that cannot be opened or failed. */
export class LinkError extends MeterLabError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('link', message, options);
  }
}

/** A wait that ran out. Created where the wait started, so its stack names that line. */
export class TimeoutError extends MeterLabError {
  constructor(message: string) {
    super('timeout', message);
  }
}

/** Encoding was asked to put an invalid value on the wire: a programmer error. */
export class EncodeError extends MeterLabError {
  constructor(message: string) {
    super('encode', message);
  }
}
