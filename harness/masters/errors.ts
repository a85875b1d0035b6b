/**
 * Errors thrown by protocol masters. All are MeterLabErrors: the CLI prints the message on one
 * line. Each carries the exchange record (request bytes, attempts, rejected and discarded
 * frames), so a suite can attach the evidence of a failure to its verdict.
 */
import { MeterLabError, TimeoutError } from '../core/errors.ts';
import type { ErrorWordBit } from '../protocols/dlt645/types.ts';
import { ERROR_WORD_BITS } from '../protocols/dlt645/types.ts';
import type { Cjt188Status } from '../protocols/cjt188/dictionary.ts';
import type { Cjt188Exchange, Exchange } from './exchange.ts';

/**
 * The base of every master's no-reply error: no acceptable reply within the timeout after every
 * attempt. A TimeoutError, created when the request was made so its stack names the caller's line
 * (STYLE.md, zwave-js TimedExpectation); `exchange` holds what did arrive (rejected replies,
 * discarded bytes) and every attempt. A suite catches this one for any protocol.
 */
export class NoReplyError<X = unknown> extends TimeoutError {
  readonly exchange: X;
  constructor(message: string, exchange: X) {
    super(message);
    this.exchange = exchange;
  }
}

/** The base of every master's abnormal-reply error: the device answered, and refused. */
export class AbnormalReplyError<X = unknown> extends MeterLabError {
  readonly exchange: X;
  constructor(code: string, message: string, exchange: X) {
    super(code, message);
    this.exchange = exchange;
  }
}

/** The base of every master's protocol error: a matching reply whose content is unusable. */
export class MasterProtocolError<X = unknown> extends MeterLabError {
  readonly exchange: X | undefined;
  constructor(code: string, message: string, exchange?: X) {
    super(code, message);
    this.exchange = exchange;
  }
}

/**
 * No acceptable reply within the timeout, after every attempt (CON-05: 3000 ms, 3 attempts).
 * Created when the request was made, so its stack names the caller's line (STYLE.md, zwave-js
 * TimedExpectation); `exchange` holds what did arrive (rejected replies, discarded bytes).
 */
export class Dlt645NoReplyError extends NoReplyError<Exchange> {
  /** Set for a missing read follow-up (12H) reply: the SEQ that got no answer. */
  readonly seq: number | undefined;
  constructor(message: string, exchange: Exchange, seq?: number) {
    super(message, exchange);
    this.seq = seq;
  }
}

/**
 * The meter answered with an abnormal reply (D6 = 1, PROTOCOLS.md 1.3) carrying an error word
 * (PROTOCOLS.md 1.7). `errors` names the bits that are set, bit 0 first.
 */
export class Dlt645AbnormalReplyError extends AbnormalReplyError<Exchange> {
  readonly functionCode: number;
  readonly errorWord: number;
  readonly errors: readonly ErrorWordBit[];
  constructor(message: string, exchange: Exchange, functionCode: number, errorWord: number) {
    super('dlt645.abnormal-reply', message, exchange);
    this.functionCode = functionCode;
    this.errorWord = errorWord;
    this.errors = errorWordNames(errorWord);
  }
}

/**
 * A reply that matched the request but whose content is unusable (for example a follow-up chain
 * longer than SEQ can count, or a read-address reply that disagrees with its own frame address).
 */
export class Dlt645ProtocolError extends MasterProtocolError<Exchange> {
  constructor(message: string, exchange?: Exchange) {
    super('dlt645.protocol', message, exchange);
  }
}

/** Names of the error-word bits that are set (PROTOCOLS.md 1.7), bit 0 first. */
export function errorWordNames(errorWord: number): ErrorWordBit[] {
  const out: ErrorWordBit[] = [];
  for (let bit = 0; bit < 8; bit++) if ((errorWord >> bit) & 1) out.push(ERROR_WORD_BITS[bit]!);
  return out;
}

// =============================================================================================
// CJ/T 188 (Cjt188Master)

/**
 * No acceptable CJ/T 188 reply after every attempt. The message names the request, the meter, the
 * attempts with their wake-up preambles, and what arrived instead; the stack names the caller's
 * line; `exchange.attemptLog` has every attempt (request bytes, preamble, silent or not).
 */
export class Cjt188NoReplyError extends NoReplyError<Cjt188Exchange> {
  /** Attempts made. */
  readonly attempts: number;
  constructor(message: string, exchange: Cjt188Exchange) {
    super(message, exchange);
    this.attempts = exchange.attempts;
  }
}

/**
 * The meter answered with an abnormal reply (D6 = 1: C1, C3, C4, C9, D5, D6 ..., PROTOCOLS.md 2.3).
 * `status` is ST when the reply carries it (DI SER ST0 ST1, [BK] layout), `payload` the bytes
 * after SER as sent.
 */
export class Cjt188AbnormalReplyError extends AbnormalReplyError<Cjt188Exchange> {
  /** C as received (e.g. C1H). */
  readonly control: number;
  /** D5..D0. */
  readonly functionCode: number;
  readonly status: Cjt188Status | null;
  readonly payload: Uint8Array;
  constructor(message: string, exchange: Cjt188Exchange, control: number, functionCode: number, status: Cjt188Status | null, payload: Uint8Array) {
    super('cjt188.abnormal-reply', message, exchange);
    this.control = control;
    this.functionCode = functionCode;
    this.status = status;
    this.payload = payload;
  }
}

/** A CJ/T 188 reply that matched the request but whose content is unusable. */
export class Cjt188ProtocolError extends MasterProtocolError<Cjt188Exchange> {
  constructor(message: string, exchange?: Cjt188Exchange) {
    super('cjt188.protocol', message, exchange);
  }
}
