/**
 * Flush on silence: the one receive discipline every streaming scanner is driven by, on the
 * master side and the device side, for every protocol.
 *
 * A serial line has no frame boundaries; a receiver knows a frame is over, or was abandoned, only
 * when the line falls silent. DL/T 645 bounds the gap between two bytes of one frame (Tb), and so
 * do CJ/T 188 and M-Bus. A scanner that is never told about silence keeps a stalled partial frame
 * (a reply cut off by a collision, a truncated request) as the start of a frame until enough
 * bytes come to disprove it, and the valid frames behind it are lost in the meantime.
 * `FlushOnSilence` flushes the scanner once the line has been silent for `silenceMs` while a
 * partial frame is pending: the scanner then reports the stalled candidate and rescans the bytes
 * after it, so a valid frame behind it is delivered.
 *
 * Cost: one timer at a time, re-armed only when it fires early, so a chunk costs O(1) timer work
 * whatever the clock (cancelling and re-arming a timer on every byte is what a fleet cannot pay);
 * on a bus with frame delivery a chunk is a whole frame, so silence costs a timer per frame.
 * Time comes from the injected Clock.
 */
import type { Clock, TimerHandle } from './clock.ts';

/**
 * When the bytes of a received chunk arrived, for links that model line time (the RS-485 bus
 * delivers a whole frame as one chunk when its last byte arrives): byte k of the chunk arrived
 * at `firstByteAt + k * characterTimeMs`. The Link 'data' event's optional second argument.
 */
export interface ChunkTiming {
  /** Instant the chunk's first byte arrived (its stop bit ended), epoch ms. */
  readonly firstByteAt: number;
  /** Time one character occupies the line, ms. */
  readonly characterTimeMs: number;
}

/**
 * Instants computed from a chunk's timing and the clock's own sums of fractional character times
 * can differ by float rounding (~1e-10 ms near 2026 epoch values); 1 ns is far below any gap
 * that matters on a line, and keeps rounding from re-arming the silence timer for nothing.
 */
const TIME_TOLERANCE_MS = 1e-6;

/** What `FlushOnSilence` needs of a protocol's streaming scanner. */
export interface StreamScanner<E> {
  push(chunk: Uint8Array): E[];
  /** Decides what is left now (end of input or silence) and rescans the bytes after a stalled candidate. */
  flush(): E[];
  /** Forgets what is buffered, without reporting it. */
  reset(): void;
  /** Bytes held back waiting for the rest of a frame. */
  readonly pending: number;
}

/** Why events were delivered: bytes came in, the line fell silent, or the owner asked. */
export type DeliveryCause = 'data' | 'silence' | 'flush';

export interface FlushOnSilenceOptions<E> {
  readonly scanner: StreamScanner<E>;
  readonly clock: Clock;
  /** Silence after the last byte that ends a pending partial frame (e.g. DL/T 645 Tb). */
  readonly silenceMs: number;
  /** Receives the scanner's events in stream order (an empty push delivers nothing). */
  readonly deliver: (events: E[], cause: DeliveryCause) => void;
}

export class FlushOnSilence<E> {
  readonly scanner: StreamScanner<E>;
  private readonly clock: Clock;
  private readonly silenceMs: number;
  private readonly deliver: (events: E[], cause: DeliveryCause) => void;
  private timer: TimerHandle | undefined;
  private lastByteAt = 0;

  constructor(options: FlushOnSilenceOptions<E>) {
    if (!(options.silenceMs > 0) || !Number.isFinite(options.silenceMs)) {
      throw new RangeError(`silenceMs must be a positive number of milliseconds, got ${String(options.silenceMs)}`);
    }
    this.scanner = options.scanner;
    this.clock = options.clock;
    this.silenceMs = options.silenceMs;
    this.deliver = options.deliver;
  }

  /** Bytes held back by the scanner. */
  get pending(): number {
    return this.scanner.pending;
  }

  /**
   * Feeds bytes from the line; delivers what they complete and watches the silence after them,
   * measured from the chunk's last byte (`timing` when the link gives it, else now).
   */
  push(chunk: Uint8Array, timing?: ChunkTiming): void {
    if (chunk.length === 0) return;
    const now = this.clock.now();
    this.lastByteAt = timing ? Math.min(now, timing.firstByteAt + (chunk.length - 1) * timing.characterTimeMs) : now;
    const events = this.scanner.push(chunk);
    if (events.length > 0) this.deliver(events, 'data');
    if (this.scanner.pending === 0) {
      this.cancel();
    } else if (this.timer === undefined) {
      this.timer = this.clock.setTimeout(this.onTimer, timing ? this.lastByteAt + this.silenceMs - now : this.silenceMs);
    }
  }

  /** Decides what is pending now (e.g. before sending a request, or when the link closes). */
  flush(cause: DeliveryCause = 'flush'): void {
    this.cancel();
    if (this.scanner.pending === 0) return;
    const events = this.scanner.flush();
    if (events.length > 0) this.deliver(events, cause);
  }

  /** Forgets what is pending without reporting it (a new connection, a dead UART). */
  reset(): void {
    this.cancel();
    this.scanner.reset();
  }

  /** Stops watching; pending bytes stay in the scanner. */
  cancel(): void {
    if (this.timer === undefined) return;
    this.clock.clearTimeout(this.timer);
    this.timer = undefined;
  }

  // A bound method rather than an arrow-function field: under tsx (esbuild keepNames) an arrow
  // field gets its own property dictionary, ~300 B for every meter of a fleet (issue 7).
  private readonly onTimer: () => void = this.silenceElapsed.bind(this);

  private silenceElapsed(): void {
    this.timer = undefined;
    if (this.scanner.pending === 0) return;
    const silent = this.clock.now() - this.lastByteAt;
    if (silent < this.silenceMs - TIME_TOLERANCE_MS) {
      // Bytes came since the timer was set: wait for the rest of the silence.
      this.timer = this.clock.setTimeout(this.onTimer, this.silenceMs - silent);
      return;
    }
    this.flush('silence');
  }
}
