/**
 * An M-Bus segment (EN 13757-2): one master (a level converter) and up to 250 slaves on a
 * two-wire bus, carrying UART characters at the segment's line rate.
 *
 * It is the RS-485 bus model (bus.ts), not a second bus: what that model does is exactly what an
 * M-Bus master sees on a segment, checked point by point (issue 11):
 * - line time: byte k of a write arrives (k + 1) character times after it started; 2400 8E1 is
 *   11/2400 s a character (MBUS.md 1), a 255-byte long frame ≈ 1.17 s;
 * - several slaves answering: every transmitted character reaches the master, so two slaves that
 *   answer a selection with E5 give the master two characters (libmbus counts "E5 plus more data"
 *   as a collision, MBUS.md 6), and overlapping characters are corrupted (stats.collisions,
 *   stats.collidedBytes), so colliding RSP_UD frames fail their checksum;
 * - a slave left at another baud rate reads garbage (sampleCharacter).
 * - slaves do not hear each other: the master sends by voltage, slaves answer by current, which
 *   only the master's converter senses; the master's node has role 'master', slaves role 'slave'
 *   (bus.ts "Roles"). A sniffer attached to `bus` as a peer hears both directions.
 * Not modelled: a slave answering while the master transmits would not corrupt the master's
 * frame on a real segment (different modulations); here overlapping writes collide whoever
 * sends them. Characters of colliding answers are OR-ed (bus.ts): two E5 answers stay two E5
 * characters however they overlap, where a real converter would sense one distorted waveform.
 */
import type { Clock } from '../core/clock.ts';
import { Rs485Bus, type BusDelivery, type BusNode } from './bus.ts';
import type { LineSettings } from './link.ts';

/** 2400 8E1: the usual factory default of M-Bus meters; 11-bit characters (EN 13757-2, MBUS.md 1). */
export const MBUS_DEFAULT_LINE: LineSettings = { baudRate: 2400, dataBits: 8, parity: 'even', stopBits: 1 };

export interface MbusSegmentOptions {
  readonly clock: Clock;
  /** Line settings of the segment. Default 2400 8E1 (MBUS_DEFAULT_LINE). */
  readonly line?: LineSettings;
  /** Prefix of node link names. Default "mbus". */
  readonly name?: string;
  /** Name of the master's node. Default "master". */
  readonly masterName?: string;
  readonly delivery?: BusDelivery;
}

export interface MbusSegment {
  readonly bus: Rs485Bus;
  /** The master's (level converter's) node. */
  readonly master: BusNode;
  /** Attaches a slave at the segment's line settings (or its own, e.g. a meter left at 300 Bd). */
  attachSlave(name: string, line?: LineSettings): BusNode;
  close(): Promise<void>;
}

/** An M-Bus segment: an Rs485Bus at M-Bus line settings with the master's node attached first. */
export function createMbusSegment(options: MbusSegmentOptions): MbusSegment {
  const bus = new Rs485Bus({
    clock: options.clock,
    line: options.line ?? MBUS_DEFAULT_LINE,
    name: options.name ?? 'mbus',
    ...(options.delivery ? { delivery: options.delivery } : {}),
  });
  const master = bus.attach(options.masterName ?? 'master', { role: 'master' });
  return {
    bus,
    master,
    attachSlave: (name, line) => bus.attach(name, line ? { line, role: 'slave' } : { role: 'slave' }),
    close: () => bus.close(),
  };
}
