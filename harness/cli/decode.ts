/**
 * `meterlab decode <protocol> <hex>` and `meterlab decode <protocol> --stdin`, for every protocol
 * in DECODE_PROTOCOLS (dlt645, cjt188, mbus, gw1376): one plumbing, one decoder per protocol.
 *
 * Input is one frame as hex (separators, 0x prefixes and FE wake-up bytes allowed). Output is one
 * JSON object per frame on stdout:
 * - a decoded frame: the protocol's `frameToJson(...)` (`"ok": true`, frame fields, message, item);
 * - a frame whose message did not decode: the frame fields with `"ok": false` and `error`;
 * - anything else (bad hex, not a frame, bytes after the frame): `{"ok":false,"error":{code,message,offset}}`
 *   where offset is a character index for hex errors (`hex.*`) and a byte index otherwise.
 * Exit code 0 when every frame decoded, 1 otherwise (see exit.ts). Never throws on any input.
 *
 * `--stdin` runs in bounded memory whatever the input and however slow the reader of stdout:
 * input is pulled chunk by chunk (the stream's own backpressure), each output line waits for
 * 'drain' when the writer says its buffer is full, and a line longer than MAX_LINE_LENGTH is not
 * collected: it gets one `input.line-too-long` error line as soon as the limit is crossed, the
 * rest of it is skipped, and decoding goes on with the next line.
 */
import { StringDecoder } from 'node:string_decoder';
import type { Readable, Writable } from 'node:stream';
import { MeterLabError } from '../core/errors.ts';
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
import * as cjt188 from '../protocols/cjt188/index.ts';
import * as gw1376 from '../protocols/gw1376/index.ts';
import * as mbus from '../protocols/mbus/index.ts';
import { decodeHexWith, type DecodedLine } from '../core/decoded-line.ts';
import { EXIT, type ExitCode } from './exit.ts';

export type { DecodedLine };

/** `<protocol>.trailing`: bytes after the one frame an input line may hold. */
function trailing(protocol: string, end: number, length: number): DecodedLine {
  return {
    ok: false,
    json: errorToJson(decodeError(`${protocol}.trailing`, `${length - end} byte(s) after the end of the frame (one frame per input)`, end)),
  };
}

/** Decodes one hex DL/T 645 frame (names and values from the data dictionary); never throws. */
export function decodeDlt645Hex(text: string, dictionary: Dlt645Dictionary | undefined = DICTIONARY): DecodedLine {
  return decodeHexWith(text, (bytes) => {
    const frame = decodeFrame(bytes, 0);
    if (!frame.ok) return { ok: false, json: errorToJson(frame.error) };
    if (frame.value.end < bytes.length) return trailing('dlt645', frame.value.end, bytes.length);
    const { frame: f, start } = frame.value;
    const message = decodeMessage(f, start + f.preamble + HEADER_LENGTH);
    const json = frameToJson(frame.value, message, dictionary);
    return { ok: json.ok, json };
  });
}

/**
 * Decodes one hex CJ/T 188 frame under a dialect (default the standard, which also reads the
 * DI byte order Fox-Edge devices send; values typed by the CJ/T 188 dictionary); never throws.
 */
export function decodeCjt188Hex(text: string, dialect: cjt188.Cjt188Dialect = cjt188.STANDARD_DIALECT): DecodedLine {
  return decodeHexWith(text, (bytes) => {
    const frame = cjt188.decodeFrame(bytes, 0, { maxDataLength: dialect.maxDataLength, addressBytes: dialect.addressBytes });
    if (!frame.ok) return { ok: false, json: cjt188.errorToJson(frame.error) };
    if (frame.value.end < bytes.length) return trailing('cjt188', frame.value.end, bytes.length);
    const { frame: f, start } = frame.value;
    const message = cjt188.decodeMessage(f, start + f.preamble + cjt188.HEADER_LENGTH, dialect);
    const json = cjt188.frameToJson(frame.value, message);
    return { ok: json.ok, json };
  });
}

/**
 * Decodes one hex Q/GDW 1376.1 frame (frame, AUX, data units through the 1376.1 dictionary; an
 * AFN 10 F1 DL/T 645 payload decoded too); never throws.
 */
export function decodeGw1376Hex(text: string): DecodedLine {
  return decodeHexWith(text, (bytes) => {
    const frame = gw1376.decodeFrame(bytes, 0);
    if (!frame.ok) return { ok: false, json: gw1376.errorToJson(frame.error) };
    if (frame.value.end < bytes.length) return trailing('gw1376', frame.value.end, bytes.length);
    const json = gw1376.frameToJson(frame.value, gw1376.decodeMessage(frame.value));
    return { ok: json.ok, json };
  });
}

/** The protocols `meterlab decode` knows (program.ts registers one command for each). */
export const DECODE_PROTOCOLS = {
  dlt645: { decodeHex: (text: string): DecodedLine => decodeDlt645Hex(text) },
  cjt188: { decodeHex: (text: string): DecodedLine => decodeCjt188Hex(text) },
  // The M-Bus codec brings its own hex entry point (hex parsing and the internal-error guard included).
  mbus: { decodeHex: (text: string): DecodedLine => mbus.decodeMbusHex(text) },
  gw1376: { decodeHex: (text: string): DecodedLine => decodeGw1376Hex(text) },
} as const;

export type DecodeProtocol = keyof typeof DECODE_PROTOCOLS;

export async function decodeCommand(
  hexText: string,
  out: Writable,
  protocol: DecodeProtocol = 'dlt645',
  decodeHex: (text: string) => DecodedLine = DECODE_PROTOCOLS[protocol].decodeHex,
): Promise<ExitCode> {
  const r = decodeHex(hexText);
  out.write(`${JSON.stringify(r.json)}\n`);
  return r.ok ? EXIT.ok : EXIT.negative;
}

/**
 * Longest input line `--stdin` accepts, in characters. The longest DL/T 645 frame is 4 FE + 12
 * + 200 data bytes + CS + 16 = 218 bytes (PROTOCOLS.md 1.2, L <= 200), 654 characters as spaced
 * hex: 64 Ki characters leaves room for any separator style and still bounds what one line costs.
 */
export const MAX_LINE_LENGTH = 64 * 1024;

export interface DecodeStdinOptions {
  /** The decoder to use instead of the protocol's default (e.g. a CJ/T 188 dialect's). */
  readonly decodeHex?: (text: string) => DecodedLine;
  /** Default MAX_LINE_LENGTH. */
  readonly maxLineLength?: number;
  /** Default dlt645. */
  readonly protocol?: DecodeProtocol;
}

/** The write side of `--stdin`: waits for 'drain' when the writer's buffer is full; remembers a write error. */
class LineWriter {
  private failure: Error | null = null;
  private readonly onError = (e: Error): void => {
    this.failure ??= e;
    this.wake?.();
  };
  private wake: (() => void) | null = null;

  constructor(private readonly out: Writable) {
    out.on('error', this.onError);
  }

  async write(line: string): Promise<void> {
    this.check();
    if (this.out.write(line)) return;
    await new Promise<void>((resolve) => {
      const done = (): void => {
        this.out.off('drain', done);
        this.out.off('close', done);
        this.wake = null;
        resolve();
      };
      this.wake = done;
      this.out.on('drain', done);
      this.out.on('close', done);
    });
    if (this.out.destroyed && this.failure === null) this.failure = new Error('closed');
    this.check();
  }

  dispose(): void {
    this.out.off('error', this.onError);
  }

  private check(): void {
    const e = this.failure as (Error & { code?: string }) | null;
    if (e) throw new MeterLabError('output', `cannot write to stdout: ${e.code ?? e.message}`, { cause: e });
  }
}

/**
 * One hex frame per line (LF, CRLF or CR); blank lines skipped; one JSON object per line out, in
 * input order. Bounded memory: see the file header.
 */
export async function decodeStdinCommand(input: Readable, out: Writable, options: DecodeStdinOptions = {}): Promise<ExitCode> {
  const maxLineLength = options.maxLineLength ?? MAX_LINE_LENGTH;
  const decodeHex = options.decodeHex ?? DECODE_PROTOCOLS[options.protocol ?? 'dlt645'].decodeHex;
  const writer = new LineWriter(out);
  const text = new StringDecoder('utf8');
  let allOk = true;
  let line = '';
  /** The current line passed the limit: its error line is out, the rest is skipped. */
  let overlong = false;

  const emit = async (json: unknown): Promise<void> => writer.write(`${JSON.stringify(json)}\n`);
  const append = async (piece: string): Promise<void> => {
    if (overlong || piece.length === 0) return;
    if (line.length + piece.length <= maxLineLength) {
      line += piece;
      return;
    }
    overlong = true;
    line = '';
    allOk = false;
    await emit(
      errorToJson(
        decodeError(
          'input.line-too-long',
          `line longer than ${maxLineLength} characters (one hex frame per line); skipped up to the next line break`,
          maxLineLength,
        ),
      ),
    );
  };
  const endLine = async (): Promise<void> => {
    const wasOverlong = overlong;
    const current = line;
    overlong = false;
    line = '';
    if (wasOverlong || current.trim() === '') return;
    const r = decodeHex(current);
    if (!r.ok) allOk = false;
    await emit(r.json);
  };
  const feed = async (chunk: string): Promise<void> => {
    const lineBreak = /[\r\n]/g;
    let start = 0;
    for (let m = lineBreak.exec(chunk); m !== null; m = lineBreak.exec(chunk)) {
      await append(chunk.slice(start, m.index));
      await endLine(); // CRLF ends a line, then an empty one, which is skipped like any blank line
      start = m.index + 1;
    }
    await append(chunk.slice(start));
  };

  try {
    for await (const chunk of input) {
      await feed(typeof chunk === 'string' ? chunk : text.write(chunk as Buffer));
    }
    await feed(text.end());
    await endLine();
  } finally {
    writer.dispose();
  }
  return allOk ? EXIT.ok : EXIT.negative;
}
