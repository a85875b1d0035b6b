/**
 * What every protocol master shares, whatever frames it speaks: the record types of attempts and
 * discarded bytes, the receiver that turns link chunks into timed frames (FlushOnSilence over a
 * protocol's scanner, with each byte's arrival estimate), the per-attempt reply wait, the
 * caller's-stack capture, Td, and argument checks. Moved out of dlt645-master.ts when the
 * CJ/T 188 master came (issue 10); the DL/T 645 master uses them unchanged.
 *
 * All instants are milliseconds on the master's Clock (virtual or real).
 */
import type { Clock, TimerHandle } from '../core/clock.ts';
import { UsageError, type DecodeError } from '../core/errors.ts';
import type { Result } from '../core/result.ts';
import { FlushOnSilence, type ChunkTiming, type DeliveryCause, type StreamScanner } from '../core/silence.ts';

/** Where a master writes its debug lines (one per request, reply, rejection). */
export interface MasterLogger {
  debug(message: string): void;
}

// ---------------------------------------------------------------------------------------------
// Records

/** When a received frame arrived (see Dlt645Master "Timing"). */
export interface FrameArrival {
  /** Estimated instant the first byte of the frame started to arrive. */
  readonly firstByteAt: number;
  /** Instant the chunk holding the first byte was delivered (no line-time correction). */
  readonly firstChunkAt: number;
  /** Instant the last byte (16H) was delivered. */
  readonly at: number;
}

/** A complete, checksum-valid frame taken off the link, of any protocol. */
export interface ReceivedFrameOf<F, M> extends FrameArrival {
  /** Frame bytes as received, including any FE preamble. */
  readonly raw: Uint8Array;
  readonly frame: F;
  /** The decoded application message, or null when the frame is valid but its content is not. */
  readonly message: M | null;
  /** Why `message` is null. */
  readonly decodeError?: DecodeError;
}

/** Bytes the frame scanner skipped (noise, bad checksum, truncated frame...). */
export interface DiscardedBytes {
  readonly bytes: Uint8Array;
  readonly error: DecodeError;
  readonly at: number;
  readonly attempt: number;
}

export interface AttemptRecord {
  /** 1-based. */
  readonly attempt: number;
  /** Instant write() was called. */
  readonly sentAt: number;
  /** Instant write() resolved. */
  readonly writtenAt: number;
  /** Estimated instant the last request byte left the wire (see Dlt645Master "Timing"). */
  readonly transmittedAt: number;
  readonly outcome: 'reply' | 'timeout' | 'sent';
}

/** How Td was obtained (see responseDelay). */
export type TimingKind = 'paced' | 'raw' | 'unpaced';

// ---------------------------------------------------------------------------------------------
// Receiving

/** The scanner events both protocols' streaming scanners emit. */
export type ScanEventOf<F, M> =
  | {
      readonly type: 'frame';
      readonly decoded: { readonly frame: F; readonly start: number; readonly raw: Uint8Array };
      readonly message: Result<M, DecodeError>;
    }
  | { readonly type: 'discarded'; readonly bytes: Uint8Array; readonly error: DecodeError };

export interface TimedFrameReceiverOptions<F, M> {
  readonly scanner: StreamScanner<ScanEventOf<F, M>>;
  readonly clock: Clock;
  /** Silence that ends a pending partial frame (DL/T 645 Tb). */
  readonly silenceMs: number;
  readonly onFrame: (frame: ReceivedFrameOf<F, M>) => void;
  readonly onDiscarded: (d: { bytes: Uint8Array; error: DecodeError; at: number }) => void;
  /** Told when the scanner was flushed by silence or by the owner with a partial frame pending. */
  readonly onFlush?: (cause: DeliveryCause) => void;
}

/**
 * Link chunks in, timed frames out: the receive discipline of a master. Each byte's start is
 * estimated (see Dlt645Master "Timing": the link's ChunkTiming when it gives one, else line time
 * back from delivery, else the delivery instant), the scanner is driven by FlushOnSilence, and
 * every frame comes out with its arrival instants.
 */
export class TimedFrameReceiver<F, M> {
  private readonly receiver: FlushOnSilence<ScanEventOf<F, M>>;
  private readonly clock: Clock;
  private readonly onFrame: (frame: ReceivedFrameOf<F, M>) => void;
  private readonly onDiscarded: (d: { bytes: Uint8Array; error: DecodeError; at: number }) => void;
  private readonly onFlush: ((cause: DeliveryCause) => void) | undefined;
  /** Arrival estimates of recent bytes; rxTimes[i] is stream offset rxTimesBase + i. */
  private rxTimesBase = 0;
  private rxTimes: number[] = [];
  /** Delivery instant of the chunk each recent byte came in, parallel to rxTimes. */
  private rxDelivered: number[] = [];
  private lastByteStart = -Infinity;

  constructor(options: TimedFrameReceiverOptions<F, M>) {
    this.clock = options.clock;
    this.onFrame = options.onFrame;
    this.onDiscarded = options.onDiscarded;
    this.onFlush = options.onFlush;
    this.receiver = new FlushOnSilence({
      scanner: options.scanner,
      clock: options.clock,
      silenceMs: options.silenceMs,
      deliver: (events, cause) => this.handle(events, cause),
    });
  }

  /** Bytes the scanner holds back. */
  get pending(): number {
    return this.receiver.pending;
  }

  /**
   * Feeds a chunk from the link. `charMs` is the master's character time (0 when it knows no line
   * settings); `timing` the link's, when it gives one.
   */
  push(chunk: Uint8Array, timing: ChunkTiming | undefined, charMs: number): void {
    const at = this.clock.now();
    const n = chunk.length;
    if (n === 0) return;
    // Arrival estimate of each byte; indexed by stream offset, as the scanner's are. With the
    // link's timing the start of byte j is known: its arrival minus one character time.
    for (let j = 0; j < n; j++) {
      let start = timing ? timing.firstByteAt + (j - 1) * timing.characterTimeMs : charMs > 0 ? at - (n - j) * charMs : at;
      if (start < this.lastByteStart) start = this.lastByteStart;
      this.lastByteStart = start;
      this.rxTimes.push(start);
      this.rxDelivered.push(at);
    }
    this.receiver.push(chunk, timing);
    // Keep arrival estimates for what the scanner may still hold (its buffer bound) and drop the rest.
    const keep = this.receiver.pending + 1;
    if (this.rxTimes.length > keep + 1024) {
      const drop = this.rxTimes.length - keep;
      this.rxTimes = this.rxTimes.slice(drop);
      this.rxDelivered = this.rxDelivered.slice(drop);
      this.rxTimesBase += drop;
    }
  }

  /** Decides what is pending now (before a request: those bytes predate it). */
  flush(): void {
    this.receiver.flush();
  }

  /** Stops watching the silence. */
  cancel(): void {
    this.receiver.cancel();
  }

  private handle(events: readonly ScanEventOf<F, M>[], cause: DeliveryCause): void {
    const at = this.clock.now();
    if (cause !== 'data') this.onFlush?.(cause);
    for (const event of events) {
      if (event.type === 'discarded') {
        this.onDiscarded({ bytes: event.bytes, error: event.error, at });
        continue;
      }
      const { decoded, message } = event;
      const firstByteAt = this.rxTimes[decoded.start - this.rxTimesBase] ?? at;
      const firstChunkAt = this.rxDelivered[decoded.start - this.rxTimesBase] ?? at;
      const f: ReceivedFrameOf<F, M> = message.ok
        ? { raw: decoded.raw, frame: decoded.frame, message: message.value, firstByteAt, firstChunkAt, at }
        : { raw: decoded.raw, frame: decoded.frame, message: null, decodeError: message.error, firstByteAt, firstChunkAt, at };
      this.onFrame(f);
    }
  }
}

// ---------------------------------------------------------------------------------------------
// Timing

/**
 * Td of a reply (see Dlt645Master "Timing"). With line settings the corrected value is used
 * unless it is negative: a reply cannot start before the request has left the wire on a line that
 * carries bytes at the declared rate, so a negative value proves the link does not pace bytes (a
 * socat pseudo-terminal, a virtual COM port) and Td is taken from delivery instants instead.
 */
export function responseDelay(
  reply: FrameArrival,
  transmittedAt: number,
  writtenAt: number,
  paced: boolean,
): { ms: number; timing: TimingKind } {
  if (!paced) return { ms: reply.firstByteAt - transmittedAt, timing: 'raw' };
  const corrected = reply.firstByteAt - transmittedAt;
  if (corrected >= 0) return { ms: corrected, timing: 'paced' };
  return { ms: reply.firstChunkAt - writtenAt, timing: 'unpaced' };
}

/**
 * The wait for one attempt's reply: `start(ms)` resolves with the value given to `settle`, or
 * null once `ms` of clock time passed without one (the timer starts at `start`, after the
 * request left; a reply settled before that is kept), and rejects with the error given to `fail`.
 * The same outcome as racing the reply against core's withTimeout, without the TimeoutError
 * (an Error and its stack) withTimeout creates for every wait.
 */
export class ReplyWait<T> {
  private outcome: { value: T | null } | { error: Error } | undefined;
  private resolve: ((v: T | null) => void) | undefined;
  private reject: ((e: Error) => void) | undefined;
  private timer: TimerHandle | undefined;
  constructor(private readonly clock: Clock) {}

  settle(value: T): void {
    this.end({ value });
  }

  fail(error: Error): void {
    this.end({ error });
  }

  start(ms: number): Promise<T | null> {
    return new Promise<T | null>((resolve, reject) => {
      if (this.outcome === undefined) {
        this.resolve = resolve;
        this.reject = reject;
        this.timer = this.clock.setTimeout(() => this.end({ value: null }), ms);
      } else if ('error' in this.outcome) {
        reject(this.outcome.error);
      } else {
        resolve(this.outcome.value);
      }
    });
  }

  /** Drops the wait (the request could not be sent). */
  cancel(): void {
    this.outcome ??= { value: null };
    this.clock.clearTimeout(this.timer);
  }

  private end(outcome: { value: T | null } | { error: Error }): void {
    if (this.outcome !== undefined) return;
    this.outcome = outcome;
    this.clock.clearTimeout(this.timer);
    if ('error' in outcome) this.reject?.(outcome.error);
    else this.resolve?.(outcome.value);
  }
}

// ---------------------------------------------------------------------------------------------
// Caller's stack (STYLE.md, zwave-js TimedExpectation)

export type CallSite = { stack?: string };

export const NO_CALL_SITE: CallSite = Object.freeze({});

/** Captures the caller's stack now (the line that started the wait, STYLE.md). */
export function captureCallSite(above: (...args: never[]) => unknown): CallSite {
  const site: CallSite = {};
  Error.captureStackTrace(site, above);
  return site;
}

/** Gives `error` the stack of `site` (the caller's line), keeping its name and message. */
export function withCallSite<E extends Error>(error: E, site: CallSite): E {
  const frames = site.stack?.split('\n').slice(1).join('\n');
  if (frames) error.stack = `${error.name}: ${error.message}\n${frames}`;
  return error;
}

// ---------------------------------------------------------------------------------------------
// Small helpers

export function hex2(b: number): string {
  return (b & 0xff).toString(16).toUpperCase().padStart(2, '0');
}

/** "2 address, 1 di (first: ...)": rejected frames by reason, for a no-reply message. */
export function summariseRejections(rejected: readonly { readonly reason: string; readonly detail: string }[]): string {
  const counts = new Map<string, number>();
  for (const r of rejected) counts.set(r.reason, (counts.get(r.reason) ?? 0) + 1);
  const first = rejected[0]!;
  return `${[...counts].map(([k, v]) => `${v} ${k}`).join(', ')} (first: ${first.detail})`;
}

export function positive(v: number, name: string): number {
  if (!(Number.isFinite(v) && v > 0)) throw new UsageError(`${name} must be a positive number, got ${String(v)}`);
  return v;
}

export function nonNegative(v: number, name: string): number {
  if (!(Number.isFinite(v) && v >= 0)) throw new UsageError(`${name} must be zero or more, got ${String(v)}`);
  return v;
}

export function positiveInt(v: number, name: string): number {
  if (!(Number.isInteger(v) && v > 0)) throw new UsageError(`${name} must be a positive integer, got ${String(v)}`);
  return v;
}

export function nonNegativeInt(v: number, name: string): number {
  if (!(Number.isInteger(v) && v >= 0)) throw new UsageError(`${name} must be a whole number of bytes, got ${String(v)}`);
  return v;
}
