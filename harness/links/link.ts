/**
 * A Link is a duplex byte channel: a serial port, a TCP socket, one end of an in-memory pair,
 * a node on a simulated RS-485 bus. Protocol masters and servers only ever see this interface,
 * so the same code runs against a simulator in virtual time and a real meter on a real port.
 *
 * Events:
 * - 'data'  (chunk: Uint8Array, timing?: ChunkTiming)  bytes received, in arrival order,
 *           possibly split anywhere. `timing`, when the link knows it (the RS-485 bus model),
 *           gives each byte's arrival instant: byte k arrived at firstByteAt + k *
 *           characterTimeMs, the last one at the instant of the event. Without it, take every
 *           byte of the chunk as arrived at the instant of the event. A chunk is read-only:
 *           one chunk may be handed to several listeners or links (the bus gives every node on
 *           the transmitter's line the same one), as Node streams do; copy it to change it.
 * - 'close' ()                   the link closed (by either side); no further events
 * - 'error' (error: Error)       a transport failure; a 'close' follows
 */
import { EventEmitter } from 'node:events';
import type { ChunkTiming } from '../core/silence.ts';

export type { ChunkTiming } from '../core/silence.ts';

export interface LinkEvents {
  data: [chunk: Uint8Array, timing?: ChunkTiming];
  close: [];
  error: [error: Error];
}

export interface Link {
  /** Short human name used in captures and logs, e.g. "serial:/dev/ttyUSB0" or "bus:meter-1". */
  readonly name: string;
  readonly isOpen: boolean;
  /** Resolves when the bytes have been handed to the medium (for a paced bus: fully transmitted). */
  write(bytes: Uint8Array): Promise<void>;
  close(): Promise<void>;
  on<K extends keyof LinkEvents>(event: K, listener: (...args: LinkEvents[K]) => void): this;
  off<K extends keyof LinkEvents>(event: K, listener: (...args: LinkEvents[K]) => void): this;
  once<K extends keyof LinkEvents>(event: K, listener: (...args: LinkEvents[K]) => void): this;
}

/**
 * A receiver's statement about chunks it ignores (issue 7), for links that deliver one chunk to
 * many receivers (the RS-485 bus). `classify` maps a chunk to a number, or undefined for "anyone
 * may need it"; it must be a pure function of the bytes, and receivers that classify alike share
 * the same function object, so a link classifies a chunk once for all of them. A receiver that
 * sets `{ classify, key }` says: a chunk (as one 'data' event, on the transmitter's line) whose
 * classification is a number other than `key` changes nothing for me in my present state. The
 * link MAY then withhold it; the receiver still handles it correctly if it comes. The receiver
 * clears or changes the filter before its state or key changes.
 */
export interface ReceiveFilter {
  readonly classify: (chunk: Uint8Array) => number | undefined;
  readonly key: number;
}

/** A link that can withhold chunks its receiver declared it ignores (see ReceiveFilter). */
export interface FilteringLink extends Link {
  setReceiveFilter(filter: ReceiveFilter | undefined): void;
}

export function isFilteringLink(link: Link): link is FilteringLink {
  return typeof (link as Partial<FilteringLink>).setReceiveFilter === 'function';
}

/** Convenience base class: an EventEmitter typed with LinkEvents. */
export abstract class LinkBase extends EventEmitter<LinkEvents> implements Link {
  abstract readonly name: string;
  abstract readonly isOpen: boolean;
  abstract write(bytes: Uint8Array): Promise<void>;
  abstract close(): Promise<void>;
}

export type Parity = 'none' | 'even' | 'odd';

/** Serial line settings. DL/T 645 and CJ/T 188 default: 2400 bit/s, 8 data bits, even parity, 1 stop bit. */
export interface LineSettings {
  readonly baudRate: number;
  readonly dataBits: 7 | 8;
  readonly parity: Parity;
  readonly stopBits: 1 | 2;
}

/** 2400 8E1: the de-facto DL/T 645 RS-485 default (PROTOCOLS.md 1.1; "default" itself is [BK]). */
export const DLT645_DEFAULT_LINE: LineSettings = { baudRate: 2400, dataBits: 8, parity: 'even', stopBits: 1 };

/** Bits on the wire per character: start + data + parity + stop (8E1 = 11 bits, PROTOCOLS.md 1.1). */
export function bitsPerCharacter(s: LineSettings): number {
  return 1 + s.dataBits + (s.parity === 'none' ? 0 : 1) + s.stopBits;
}

/** Time one character occupies the line, in milliseconds (2400 8E1: 11/2400 s = 4.583 ms). */
export function characterTimeMs(s: LineSettings): number {
  return (bitsPerCharacter(s) * 1000) / s.baudRate;
}

/** The usual short spelling of line settings: `2400 8E1`, `9600 8N1`, `1200 7O2`. */
export function formatLine(s: LineSettings): string {
  return `${s.baudRate} ${s.dataBits}${s.parity[0]!.toUpperCase()}${s.stopBits}`;
}

/** True when two ends would understand each other: same rate, data bits, parity and stop bits. */
export function sameLine(a: LineSettings, b: LineSettings): boolean {
  return a.baudRate === b.baudRate && a.dataBits === b.dataBits && a.parity === b.parity && a.stopBits === b.stopBits;
}
