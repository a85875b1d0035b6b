/**
 * In-memory link pair: two ends of a wire with no line time. Bytes written on one end arrive
 * on the other asynchronously (a later microtask, never inside `write()`), in order, as one
 * chunk per write. Closing either end closes both; bytes already written are delivered first.
 *
 * With `latencyMs` (needs a `clock`), each chunk arrives that long after it was written,
 * still in order; the peer's 'close' arrives after the last chunk.
 */
import type { Clock } from '../core/clock.ts';
import { LinkError } from '../core/errors.ts';
import { LinkBase, type Link } from './link.ts';
import { copyBytes } from './internal.ts';

export interface MemoryPairOptions {
  /** Needed only with `latencyMs`. */
  readonly clock?: Clock;
  /** Link names; default `["memory:a", "memory:b"]`. */
  readonly names?: readonly [string, string];
  /** One-way delivery delay on `clock`, in ms. Default 0 (next microtask, no timer). */
  readonly latencyMs?: number;
}

class MemoryLink extends LinkBase {
  peer!: MemoryLink;
  private open = true;
  private closeEmitted = false;

  constructor(
    readonly name: string,
    private readonly deliverLater: (task: () => void) => void,
  ) {
    super();
  }

  get isOpen(): boolean {
    return this.open;
  }

  write(bytes: Uint8Array): Promise<void> {
    if (!this.open) return Promise.reject(new LinkError(`${this.name} is closed`));
    if (bytes.length === 0) return Promise.resolve();
    const chunk = copyBytes(bytes);
    const peer = this.peer;
    this.deliverLater(() => peer.receive(chunk));
    return Promise.resolve();
  }

  close(): Promise<void> {
    if (this.open) {
      this.open = false;
      this.peer.open = false;
      queueMicrotask(() => this.finish());
      this.deliverLater(() => this.peer.finish());
    }
    return new Promise((resolve) => {
      if (this.closeEmitted) resolve();
      else this.once('close', resolve);
    });
  }

  private receive(chunk: Uint8Array): void {
    if (!this.closeEmitted) this.emit('data', chunk);
  }

  private finish(): void {
    if (this.closeEmitted) return;
    this.closeEmitted = true;
    this.emit('close');
  }
}

/** Two connected in-memory links: `[a, b]`. */
export function createMemoryPair(options: MemoryPairOptions = {}): [Link, Link] {
  const latency = options.latencyMs ?? 0;
  if (latency > 0 && !options.clock) throw new LinkError('createMemoryPair: latencyMs needs a clock');
  const clock = options.clock;
  const deliverLater =
    latency > 0 && clock
      ? (task: () => void): void => void clock.setTimeout(task, latency)
      : (task: () => void): void => queueMicrotask(task);
  const [na, nb] = options.names ?? ['memory:a', 'memory:b'];
  const a = new MemoryLink(na, deliverLater);
  const b = new MemoryLink(nb, deliverLater);
  a.peer = b;
  b.peer = a;
  return [a, b];
}
