/**
 * A meter channel THROUGH a concentrator (issue 12: "remote trip and close through AFN 05 or
 * forwarding, so the master station's switching works through it"): a `Link` whose writes go to
 * one port of a concentrator as AFN 10 F1 transparent forwarding (CON-07) and whose 'data' is the
 * meter's reply the concentrator forwards back. Any protocol master (Dlt645Master, Cjt188Master)
 * runs over it unchanged, so the reference master station's switching jobs (or a suite) reach a
 * meter behind a concentrator exactly as they reach one on a bus.
 *
 * - Leading FEH of a write are dropped: they are this side's wake-up preamble, and the concentrator
 *   sends its own before the frame on its port (CON-05, CON-07).
 * - A forward the concentrator denies, or that gets no 1376.1 reply, is silence here: the protocol
 *   master above times out and retries as it would on a bus. Why is kept in `stats.lastFailure`.
 * - Writes go one forward at a time, in order (the Gw1376Master serialises its requests too).
 * - Timing: the reply arrives after the whole 1376.1 round trip, so the master above needs a reply
 *   timeout of at least the forward's frame timeout plus the uplink's (say so in its options).
 */
import { LinkError } from '../core/errors.ts';
import { LinkBase } from '../links/link.ts';
import type { Gw1376Master } from './gw1376-master.ts';

export interface Gw1376ForwardingLinkOptions {
  /** The concentrator's port of the meter (CON-07: 2-4 RS-485 1-3). */
  readonly port: number;
  /** How long the concentrator waits for the meter's reply (AFN 10 F1 frame timeout). Default 3000 ms (CON-05). */
  readonly frameTimeoutMs?: number;
  /** Byte timeout of the reply (AFN 10 F1). Default 500 ms [BK]. */
  readonly byteTimeoutMs?: number;
  readonly name?: string;
}

export interface ForwardingStats {
  forwarded: number;
  answered: number;
  silent: number;
  lastFailure: string | undefined;
}

export class Gw1376ForwardingLink extends LinkBase {
  readonly name: string;
  readonly stats: ForwardingStats = { forwarded: 0, answered: 0, silent: 0, lastFailure: undefined };
  private open = true;
  private queue: Promise<void> = Promise.resolve();

  constructor(
    private readonly master: Gw1376Master,
    private readonly options: Gw1376ForwardingLinkOptions,
  ) {
    super();
    this.name = options.name ?? `gw1376-forward:port-${options.port}`;
  }

  get isOpen(): boolean {
    return this.open && !this.master.isClosed;
  }

  write(bytes: Uint8Array): Promise<void> {
    if (!this.isOpen) return Promise.reject(new LinkError(`${this.name} is closed`));
    let i = 0;
    while (i < bytes.length && bytes[i] === 0xfe) i++;
    const frame = bytes.slice(i);
    if (frame.length === 0) return Promise.resolve();
    this.queue = this.queue.then(() => this.forward(frame));
    return Promise.resolve();
  }

  private async forward(frame: Uint8Array): Promise<void> {
    if (!this.isOpen) return;
    this.stats.forwarded++;
    try {
      const r = await this.master.forward(this.options.port, frame, {
        frameTimeoutMs: this.options.frameTimeoutMs ?? 3000,
        byteTimeoutMs: this.options.byteTimeoutMs ?? 500,
        attempts: 1,
      });
      if ('denied' in r) {
        this.stats.silent++;
        this.stats.lastFailure = `the concentrator denied forwarding on port ${this.options.port} (or the meter was silent)`;
        return;
      }
      this.stats.answered++;
      if (this.open && r.content.length > 0) this.emit('data', r.content);
    } catch (e) {
      this.stats.silent++;
      this.stats.lastFailure = (e as Error).message;
    }
  }

  async close(): Promise<void> {
    if (!this.open) return;
    this.open = false;
    await this.queue;
    this.emit('close');
  }
}
