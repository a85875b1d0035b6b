/**
 * A micro-power wireless hop between an interface converter and one battery meter (issue 10): a
 * half-duplex radio channel with two ends, in the injected clock's time, seeded.
 *
 * Why a link and not part of the converter or meter simulator: loss, latency and air time are
 * properties of the medium, the same whichever protocol rides on it (CJ/T 188 frames in
 * transparent mode, MLGW frames in protocol-converting mode) and whichever device sits at either
 * end; as a Link the hop carries a real converter's frames as well as the simulator's, is captured
 * like any other link, and is reusable by a fleet. What belongs to the meter (its sniff period, its
 * sleep) stays in the meter: the wake-up costs what its preamble costs on the air here, and the
 * meter decides whether that preamble was long enough (MM-06).
 *
 * Model, per write (one radio frame):
 * - Air time: bytes x characterTimeMs(line) (default 2400 bit/s 8N1: 4.167 ms a byte). One channel
 *   for both ends: a frame waits until the channel is free (half duplex), and write() resolves when
 *   its last byte is off the air. A wake-up preamble of 600 bytes costs 2.5 s of air time here.
 * - Latency: a fixed or seeded-uniform delay per frame on top of the air time (the radio module's
 *   turnaround and UART hand-over), default 0.
 * - Loss: each frame independently lost whole with `lossProbability` (a radio frame below
 *   sensitivity or with a bad radio CRC is dropped by the receiving module, never delivered
 *   partly), drawn from the seeded generator in write order, so a seed always means the same losses.
 * - Delivery: a frame arrives at the other end as ONE 'data' chunk when its last byte arrives, with
 *   `ChunkTiming` (byte k at firstByteAt + k * characterTimeMs), as the RS-485 bus model does.
 * Not modelled: collisions with other hops (one converter talks to one meter at a time), partial
 * corruption (wrap an end in FaultInjectingLink for that), fading over time.
 */
import type { Clock } from '../core/clock.ts';
import { LinkError } from '../core/errors.ts';
import type { SeededRandom } from '../core/random.ts';
import { copyBytes } from './internal.ts';
import { characterTimeMs, LinkBase, type ChunkTiming, type LineSettings, type Link } from './link.ts';

/** Air line of a micro-power wireless meter hop: 2400 bit/s, 10 bit times a byte (docs/protocols/meterlab-gas-wireless.md 1). */
export const WIRELESS_AIR_LINE: LineSettings = { baudRate: 2400, dataBits: 8, parity: 'none', stopBits: 1 };

export interface WirelessHopOptions {
  readonly clock: Clock;
  /** Draws losses and latencies; give each hop its own (`random.fork('hop:3')`). */
  readonly random: SeededRandom;
  /** Link names are `${name}:converter` and `${name}:meter`. Default "hop". */
  readonly name?: string;
  /** Air character timing. Default WIRELESS_AIR_LINE. */
  readonly line?: LineSettings;
  /** Probability that a frame is lost, 0..1, each direction. Default 0. */
  readonly lossProbability?: number;
  /** Extra delay per frame, ms: fixed, or uniform in [min, max]. Default 0. */
  readonly latencyMs?: number | readonly [number, number];
}

export interface HopDirectionStats {
  frames: number;
  lost: number;
  bytes: number;
  /** Air time of every frame sent, ms (lost ones too: they occupied the channel). */
  airMs: number;
}

export interface WirelessHopStats {
  /** Converter -> meter. */
  readonly down: HopDirectionStats;
  /** Meter -> converter. */
  readonly up: HopDirectionStats;
}

export interface WirelessHop {
  /** The converter's end. */
  readonly converter: Link;
  /** The meter's end. */
  readonly meter: Link;
  readonly line: LineSettings;
  readonly stats: WirelessHopStats;
  /** Changes the loss probability from now on (a test's bad day). */
  setLossProbability(p: number): void;
  close(): Promise<void>;
}

class HopEnd extends LinkBase {
  peer!: HopEnd;
  open = true;
  private closeEmitted = false;

  constructor(
    readonly name: string,
    private readonly channel: HopChannel,
    readonly direction: 'down' | 'up',
  ) {
    super();
  }

  get isOpen(): boolean {
    return this.open;
  }

  write(bytes: Uint8Array): Promise<void> {
    if (!this.open) return Promise.reject(new LinkError(`${this.name} is closed`));
    if (bytes.length === 0) return Promise.resolve();
    return this.channel.transmit(this, copyBytes(bytes));
  }

  close(): Promise<void> {
    return this.channel.close().then(() => undefined);
  }

  receive(chunk: Uint8Array, timing: ChunkTiming): void {
    if (this.open) this.emit('data', chunk, timing);
  }

  finish(): void {
    this.open = false;
    if (this.closeEmitted) return;
    this.closeEmitted = true;
    this.emit('close');
  }
}

class HopChannel {
  /** Instant the channel is free again. */
  private freeAt = Number.NEGATIVE_INFINITY;
  private closing: Promise<void> | undefined;
  private readonly pending = new Set<ReturnType<Clock['setTimeout']>>();
  readonly charMs: number;
  lossProbability: number;
  readonly stats: WirelessHopStats = { down: zero(), up: zero() };
  a!: HopEnd;
  b!: HopEnd;

  constructor(
    private readonly clock: Clock,
    private readonly random: SeededRandom,
    readonly line: LineSettings,
    loss: number,
    private readonly latency: number | readonly [number, number],
  ) {
    this.charMs = characterTimeMs(line);
    this.lossProbability = checkProbability(loss);
  }

  transmit(from: HopEnd, bytes: Uint8Array): Promise<void> {
    const now = this.clock.now();
    const start = Math.max(now, this.freeAt);
    const air = bytes.length * this.charMs;
    const end = start + air;
    this.freeAt = end;
    // Draws in write order: the fate of a frame does not depend on when timers fire.
    const lost = this.lossProbability > 0 && this.random.chance(this.lossProbability);
    const extra = typeof this.latency === 'number' ? this.latency : this.random.int(this.latency[0], this.latency[1]);
    const st = this.stats[from.direction];
    st.frames++;
    st.bytes += bytes.length;
    st.airMs += air;
    if (lost) st.lost++;
    const to = from.peer;
    if (!lost) {
      const arrive = end + extra;
      const t = this.clock.setTimeout(() => {
        this.pending.delete(t);
        to.receive(bytes, { firstByteAt: arrive - (bytes.length - 1) * this.charMs, characterTimeMs: this.charMs });
      }, arrive - now);
      this.pending.add(t);
    }
    return new Promise<void>((resolve) => {
      const t = this.clock.setTimeout(() => {
        this.pending.delete(t);
        resolve();
      }, end - now);
      this.pending.add(t);
    });
  }

  close(): Promise<void> {
    this.closing ??= (async () => {
      this.a.open = false;
      this.b.open = false;
      for (const t of this.pending) this.clock.clearTimeout(t);
      this.pending.clear();
      await Promise.resolve();
      this.a.finish();
      this.b.finish();
    })();
    return this.closing;
  }
}

function zero(): HopDirectionStats {
  return { frames: 0, lost: 0, bytes: 0, airMs: 0 };
}

function checkProbability(p: number): number {
  if (!(p >= 0 && p <= 1)) throw new RangeError(`lossProbability must be 0..1, got ${String(p)}`);
  return p;
}

/** A hop: `converter` and `meter` ends of one half-duplex radio channel. */
export function createWirelessHop(o: WirelessHopOptions): WirelessHop {
  const name = o.name ?? 'hop';
  const latency = o.latencyMs ?? 0;
  const lat = typeof latency === 'number' ? [latency, latency] : latency;
  if (!(lat[0]! >= 0) || !(lat[1]! >= lat[0]!) || !Number.isFinite(lat[1])) throw new RangeError(`latencyMs must be >= 0 (or [min, max] with min <= max), got ${JSON.stringify(latency)}`);
  const channel = new HopChannel(o.clock, o.random, o.line ?? WIRELESS_AIR_LINE, o.lossProbability ?? 0, latency);
  const a = new HopEnd(`${name}:converter`, channel, 'down');
  const b = new HopEnd(`${name}:meter`, channel, 'up');
  a.peer = b;
  b.peer = a;
  channel.a = a;
  channel.b = b;
  return {
    converter: a,
    meter: b,
    line: channel.line,
    stats: channel.stats,
    setLossProbability: (p) => void (channel.lossProbability = checkProbability(p)),
    close: () => channel.close(),
  };
}
