/**
 * The record a master keeps of one request: the bytes it sent, every attempt, the reply it
 * accepted, and everything else that arrived meanwhile (rejected frames, discarded bytes).
 * Suites read timings (Td) and evidence from it; reports attach it.
 *
 * All instants are milliseconds on the master's Clock (virtual or real).
 */
import type { Cjt188Frame, Cjt188Message, Cjt188MessageKind } from '../protocols/cjt188/types.ts';
import type { Dlt645Frame, Dlt645Message, Dlt645MessageKind } from '../protocols/dlt645/types.ts';
import type { AttemptRecord, DiscardedBytes, ReceivedFrameOf, TimingKind } from './common.ts';

export type { AttemptRecord, DiscardedBytes, FrameArrival, ReceivedFrameOf, TimingKind } from './common.ts';

/** A complete, checksum-valid DL/T 645 frame taken off the link (arrival instants: see Dlt645Master "Timing"). */
export interface ReceivedFrame extends ReceivedFrameOf<Dlt645Frame, Dlt645Message> {}

/** A frame accepted as the reply to a request. */
export interface AcceptedReply extends ReceivedFrame {
  readonly message: Dlt645Message;
}

/** Why a frame that arrived during a request was not taken as its reply (ROB-03). */
export type RejectReason =
  /** D7 = 0: a request, not a reply (an echo of our own frame, or another master). */
  | 'direction'
  /** The address differs from the addressed meter's. */
  | 'address'
  /** A wildcard or broadcast address in a reply: a meter must answer with its own (PROTOCOLS.md 1.4). */
  | 'wildcard-echo'
  /** The function code D4..D0 differs from the request's. */
  | 'function-code'
  /** A read reply for another data identifier. */
  | 'di'
  /** A follow-up reply for another SEQ. */
  | 'seq'
  /** The frame is valid but its data field cannot be decoded as the message its C says. */
  | 'undecodable'
  /** A normal reply of a kind the request did not declare it expects. */
  | 'unexpected-kind';

export interface RejectedFrame extends ReceivedFrame {
  readonly reason: RejectReason;
  /** One line: what was expected and what came. */
  readonly detail: string;
  /** Attempt (1-based) during which it arrived. */
  readonly attempt: number;
}

export type ExpectSpec = Dlt645MessageKind | readonly Dlt645MessageKind[] | 'none';

export interface Exchange {
  /** Address the request was sent to (12 characters, most significant first). */
  readonly address: string;
  /** The request message. */
  readonly message: Dlt645Message;
  /** Request bytes as written, including the FE preamble. */
  readonly request: Uint8Array;
  /** Reply kinds the request declared it expects ('none': no reply is expected). */
  readonly expect: readonly Dlt645MessageKind[] | 'none';
  /** The accepted reply (normal or abnormal), absent on timeout or for expect 'none'. */
  reply?: AcceptedReply;
  /** The address the reply came from (recorded for wildcard requests, PROTOCOLS.md 1.4). */
  replyAddress?: string;
  /** Attempts made (1..attempts). */
  attempts: number;
  readonly attemptLog: AttemptRecord[];
  /** write() call of the attempt that got the reply (or of the last attempt). */
  sentAt: number;
  /** End of transmission of that attempt. */
  transmittedAt: number;
  /** Estimated instant the first reply byte started to arrive. */
  firstByteAt?: number;
  /** Instant the last reply byte was delivered. */
  replyAt?: number;
  /** Td = firstByteAt − transmittedAt (PROTOCOLS.md 1.1: 20 ms ≤ Td ≤ 500 ms). */
  responseDelayMs?: number;
  /**
   * How Td was obtained: 'paced' with line-time corrections, 'raw' from delivery instants (no
   * line settings known), or 'unpaced' when the corrected value came out negative — impossible on
   * a line that carries bytes at the declared rate, so the link does not pace them (a
   * pseudo-terminal, a virtual COM port) and Td falls back to delivery instants.
   */
  timing?: TimingKind;
  readonly rejected: RejectedFrame[];
  readonly discarded: DiscardedBytes[];
  /** For expect 'none': frames that arrived anyway while listening (a broadcast must not be answered). */
  readonly unexpected: ReceivedFrame[];
}

// =============================================================================================
// CJ/T 188 (Cjt188Master)

/** A complete, checksum-valid CJ/T 188 frame taken off the link. */
export interface Cjt188ReceivedFrame extends ReceivedFrameOf<Cjt188Frame, Cjt188Message> {}

/** A CJ/T 188 frame accepted as the reply to a request. */
export interface Cjt188AcceptedReply extends Cjt188ReceivedFrame {
  readonly message: Cjt188Message;
}

/** Why a CJ/T 188 frame that arrived during a request was not taken as its reply. */
export type Cjt188RejectReason =
  /** D7 = 0: a request, not a reply (an echo of our own frame, or another master). */
  | 'direction'
  /** The address differs from the addressed meter's. */
  | 'address'
  /** A reply that carries the wildcard AA x7: a meter answers with its own address (vectors 6-7). */
  | 'wildcard-echo'
  /** The meter type T is not the request's (see Cjt188MasterOptions.meterTypeMatch). */
  | 'meter-type'
  /** D5..D0 differs from the request's function code. */
  | 'function-code'
  /** A reply for another data identifier. */
  | 'di'
  /** SER differs from the request's (only with matchSer). */
  | 'ser'
  /** The frame is valid but its data field cannot be decoded as the message its C says. */
  | 'undecodable'
  /** A normal reply of a kind the request did not declare it expects. */
  | 'unexpected-kind';

export interface Cjt188RejectedFrame extends Cjt188ReceivedFrame {
  readonly reason: Cjt188RejectReason;
  /** One line: what was expected and what came. */
  readonly detail: string;
  /** Attempt (1-based) during which it arrived. */
  readonly attempt: number;
}

export interface Cjt188AttemptRecord extends AttemptRecord {
  /** Request bytes as written in this attempt, FE preamble included (the wake-up can grow on a retry). */
  readonly request: Uint8Array;
  /** FE bytes before the 68H in this attempt. */
  readonly preamble: number;
  /** Line time of those FE bytes (preamble × character time; 0 without line settings). */
  readonly preambleMs: number;
  /** True when not one byte arrived during this attempt (a sleeping meter, MM-06). */
  readonly silent: boolean;
}

export interface Cjt188Exchange {
  /** Meter type T of the request (AAH: any). */
  readonly meterType: number;
  /** Address the request was sent to (14 characters, A6 first; AA x7 for the wildcard). */
  readonly address: string;
  /** The request message (its SER is the one sent). */
  readonly message: Cjt188Message;
  /** Request bytes of the first attempt, FE preamble included (every attempt's: attemptLog). */
  readonly request: Uint8Array;
  /** Reply kinds the request expects (an abnormal reply is always taken). */
  readonly expect: readonly Cjt188MessageKind[];
  /** The accepted reply (normal or abnormal), absent on timeout. */
  reply?: Cjt188AcceptedReply;
  /** The address the reply came from (differs from `address` for a wildcard request). */
  replyAddress?: string;
  /** The meter type the reply carried (a heat meter asked as 20H answers 25H: vectors 22-23). */
  replyMeterType?: number;
  /** Attempts made (1..attempts). */
  attempts: number;
  readonly attemptLog: Cjt188AttemptRecord[];
  /** write() call of the attempt that got the reply (or of the last attempt). */
  sentAt: number;
  /** End of transmission of that attempt. */
  transmittedAt: number;
  /** Estimated instant the first reply byte started to arrive. */
  firstByteAt?: number;
  /** Instant the last reply byte was delivered. */
  replyAt?: number;
  /** Td = firstByteAt − transmittedAt (see Dlt645Master "Timing"). */
  responseDelayMs?: number;
  timing?: TimingKind;
  readonly rejected: Cjt188RejectedFrame[];
  readonly discarded: DiscardedBytes[];
}
