/**
 * Errors thrown by the M-Bus master (mbus-master.ts). Each carries the exchange record (request
 * bytes, every attempt, rejected frames, discarded bytes), as the DL/T 645 ones do (errors.ts).
 */
import { MeterLabError, TimeoutError } from '../core/errors.ts';
import type { MbusExchange } from './mbus-master.ts';

/** No byte came back within the timeout on any attempt. Its stack names the caller's line. */
export class MbusNoReplyError extends TimeoutError {
  readonly exchange: MbusExchange;
  constructor(message: string, exchange: MbusExchange) {
    super(message);
    this.exchange = exchange;
  }
}

/**
 * Bytes came back but never an acceptable reply: garbled characters (a checksum that fails,
 * frames cut short) or more than one answer, which is what several slaves answering at once
 * produce on a segment (MBUS.md 6; libmbus reports such a read as invalid and a scan probe as a
 * collision). A line fault looks the same from the master's side; `exchange.discarded` and
 * `exchange.rejected` hold what arrived.
 */
export class MbusCollisionError extends MeterLabError {
  readonly exchange: MbusExchange;
  constructor(message: string, exchange: MbusExchange) {
    super('mbus.collision', message);
    this.exchange = exchange;
  }
}

/** The slave answered with an application error (RSP_UD, CI 70; MBUS.md 5). */
export class MbusApplicationError extends MeterLabError {
  readonly exchange: MbusExchange;
  /** The error code byte, or null when the frame carried none. */
  readonly applicationCode: number | null;
  readonly description: string;
  constructor(message: string, exchange: MbusExchange, applicationCode: number | null, description: string) {
    super('mbus.application-error', message);
    this.exchange = exchange;
    this.applicationCode = applicationCode;
    this.description = description;
  }
}

/** A reply that matched the request but whose content is unusable (undecodable, or a chain of telegrams that never ends). */
export class MbusProtocolError extends MeterLabError {
  readonly exchange: MbusExchange | undefined;
  constructor(message: string, exchange?: MbusExchange) {
    super('mbus.protocol', message);
    this.exchange = exchange;
  }
}
