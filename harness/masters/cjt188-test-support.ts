/**
 * Test support (never imported by the master): a minimal scripted CJ/T 188 responder for the
 * master's tests. It is not a meter simulator (that is issue 10's simulators/ work): it decodes
 * each request with the codec, drops what a meter would drop (another address, another meter
 * type, a request while asleep), and writes whatever the test's handler returns after a delay.
 *
 * Sleep (MM-06): with `wakeUpMs` the responder answers only requests whose FE preamble lasted at
 * least that long on the line (FE count × character time). That is a battery meter that sniffs the
 * line every `wakeUpMs` in the worst phase: a preamble shorter than the sniff period can fall
 * between two sniffs, so a reader must not rely on it.
 */
import type { Clock } from '../core/clock.ts';
import type { Link, LineSettings } from '../links/link.ts';
import { characterTimeMs } from '../links/link.ts';
import {
  Cjt188FrameScanner,
  MeterType,
  STANDARD_DIALECT,
  encodeMessage,
  isWildcardAddress,
  type Cjt188Dialect,
  type Cjt188Frame,
  type Cjt188Message,
} from '../protocols/cjt188/index.ts';

/** What the handler answers: frames written in order (each after the delay), or nothing. */
export type Cjt188Answer = Uint8Array | readonly (Uint8Array | { readonly afterMs: number; readonly bytes: Uint8Array })[] | null;

export interface ScriptedCjt188MeterOptions {
  readonly link: Link;
  readonly clock: Clock;
  readonly meterType: number;
  /** 14 digits, A6 first. */
  readonly address: string;
  /** Line settings, to turn the FE count into line time (needed with wakeUpMs). */
  readonly line?: LineSettings;
  /** Answer only after a FE preamble of at least this long (MM-06). Default 0: always awake. */
  readonly wakeUpMs?: number;
  /** Delay from the end of the request to the first answer byte being written. Default 60 ms. */
  readonly delayMs?: number;
  readonly dialect?: Cjt188Dialect;
  readonly handler: (frame: Cjt188Frame, message: Cjt188Message, meter: ScriptedCjt188Meter) => Cjt188Answer;
}

export interface HeardRequest {
  readonly frame: Cjt188Frame;
  readonly message: Cjt188Message;
  readonly at: number;
  /** Line time of the FE preamble in front of it. */
  readonly preambleMs: number;
  /** Why it went unanswered, or 'answered' / 'handler-silent'. */
  readonly outcome: 'answered' | 'handler-silent' | 'asleep' | 'other-meter';
}

export class ScriptedCjt188Meter {
  readonly meterType: number;
  readonly address: string;
  readonly dialect: Cjt188Dialect;
  /** Every request heard, in order, with what the responder did. */
  readonly heard: HeardRequest[] = [];
  private readonly options: ScriptedCjt188MeterOptions;
  private readonly charMs: number;

  constructor(options: ScriptedCjt188MeterOptions) {
    this.options = options;
    this.meterType = options.meterType;
    this.address = options.address;
    this.dialect = options.dialect ?? STANDARD_DIALECT;
    this.charMs = options.line ? characterTimeMs(options.line) : 0;
    if ((options.wakeUpMs ?? 0) > 0 && !options.line) throw new Error('ScriptedCjt188Meter: wakeUpMs needs line');
    // A big buffer: a 2.5 s wake-up is 546 FE bytes at 2400 8E1, and the FE count is the evidence.
    const scanner = new Cjt188FrameScanner({ dialect: this.dialect, maxBufferLength: 16384 });
    options.link.on('data', (chunk) => {
      for (const e of scanner.push(chunk)) {
        if (e.type !== 'frame' || !e.message.ok) continue;
        this.onRequest(e.decoded.frame, e.message.value);
      }
    });
  }

  /** A reply frame from this meter (2 FE, the dialect's DI order unless the message says). */
  reply(message: Cjt188Message, options: { meterType?: number; address?: string; preamble?: number } = {}): Uint8Array {
    return encodeMessage(options.meterType ?? this.meterType, options.address ?? this.address, message, { preamble: options.preamble ?? 2, dialect: this.dialect });
  }

  private onRequest(frame: Cjt188Frame, message: Cjt188Message): void {
    const o = this.options;
    const at = o.clock.now();
    const preambleMs = frame.preamble * this.charMs;
    const record = (outcome: HeardRequest['outcome']): void => void this.heard.push({ frame, message, at, preambleMs, outcome });
    if (frame.control.isResponse) return;
    const typeOk = frame.meterType === MeterType.Any || frame.meterType === this.meterType;
    const addressOk = isWildcardAddress(frame.address) || frame.address === this.address;
    if (!typeOk || !addressOk) return record('other-meter');
    if (preambleMs < (o.wakeUpMs ?? 0)) return record('asleep');
    const answer = o.handler(frame, message, this);
    if (!answer) return record('handler-silent');
    record('answered');
    const parts = answer instanceof Uint8Array ? [answer] : answer;
    void (async () => {
      await o.clock.sleep(o.delayMs ?? 60);
      for (const p of parts) {
        if (p instanceof Uint8Array) {
          await o.link.write(p);
        } else {
          await o.clock.sleep(p.afterMs);
          await o.link.write(p.bytes);
        }
      }
    })();
  }
}
