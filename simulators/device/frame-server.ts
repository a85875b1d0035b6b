/**
 * The plain serve loop of a simulated device (README "The serve loop"): bytes from a Link through
 * the protocol's frame scanner (FlushOnSilence: a partial frame is forgotten after the protocol's
 * inter-byte limit), each scan event to the device's handler, and its reply written after the
 * reply's delay on the injected Clock. `stop()` detaches from the link and clears every pending
 * timer. The CJ/T 188 water/gas meter and the M-Bus heat meter are served by it; the DL/T 645
 * meter keeps its own loop with the fleet fast paths (electricity-meter/server.ts).
 */
import type { Clock, TimerHandle } from '../../harness/core/clock.ts';
import { FlushOnSilence, type StreamScanner } from '../../harness/core/silence.ts';
import type { Link } from '../../harness/links/link.ts';

export interface FrameReply {
  readonly bytes: Uint8Array;
  /** Time from the end of the request to the first byte of the reply, ms. */
  readonly delayMs: number;
}

export interface FrameServerOptions<E> {
  readonly link: Link;
  readonly clock: Clock;
  readonly scanner: StreamScanner<E>;
  /** Line silence that ends a partial frame, ms (the protocol's inter-byte limit). */
  readonly silenceMs: number;
  /** The device: its reply to one scan event (a frame or discarded bytes), or null for silence. */
  readonly handle: (event: E) => FrameReply | null;
  readonly log?: (line: string) => void;
}

export class FrameServer<E> {
  private readonly o: FrameServerOptions<E>;
  private readonly receiver: FlushOnSilence<E>;
  private readonly timers = new Set<TimerHandle>();
  private running = false;
  private readonly onData = (chunk: Uint8Array): void => this.receiver.push(chunk);

  constructor(options: FrameServerOptions<E>) {
    this.o = options;
    this.receiver = new FlushOnSilence({
      scanner: options.scanner,
      clock: options.clock,
      silenceMs: options.silenceMs,
      deliver: (events) => {
        for (const e of events) this.dispatch(e);
      },
    });
  }

  get isRunning(): boolean {
    return this.running;
  }

  start(): void {
    if (this.running) return;
    this.running = true;
    this.o.link.on('data', this.onData);
  }

  stop(): void {
    if (!this.running) return;
    this.running = false;
    this.o.link.off('data', this.onData);
    this.receiver.cancel();
    this.receiver.reset();
    for (const t of this.timers) this.o.clock.clearTimeout(t);
    this.timers.clear();
  }

  private dispatch(event: E): void {
    let reply: FrameReply | null;
    try {
      reply = this.o.handle(event);
    } catch (e) {
      // A device bug must not take the serve loop down: log it and stay silent.
      this.o.log?.(`device handler failed: ${(e as Error).message}`);
      return;
    }
    if (!reply || !this.running) return;
    const t = this.o.clock.setTimeout(() => {
      this.timers.delete(t);
      if (!this.running || !this.o.link.isOpen) return;
      this.o.link.write(reply.bytes).catch((e: unknown) => this.o.log?.(`reply not written: ${(e as Error).message}`));
    }, reply.delayMs);
    this.timers.add(t);
  }
}
