/**
 * A terminal's uplink that can drop and come back, in one process (ROB-09): the master station
 * keeps ONE link (`station`, e.g. the master's end of a memory pair or a TCP connection the
 * target holds), while the terminal dials a new connection each time (`connect()`), as a
 * concentrator redials its GPRS/TCP link. Bytes pass between the station link and the current
 * connection; between connections (and while the uplink is `down`) the station's bytes are lost,
 * as on a dead GPRS link.
 *
 * - `drop()` closes the current connection: the terminal sees 'close' and redials; the station
 *   link stays open and sees only silence, then the new login.
 * - `setDown(true)` drops and refuses every `connect()` (the APN refuses, the network is down at
 *   night) until `setDown(false)`.
 */
import { LinkError } from '../core/errors.ts';
import type { Link } from './link.ts';
import { createMemoryPair } from './memory.ts';

export class UplinkRelay {
  private current: Link | undefined;
  private down = false;
  private closed = false;
  private count = 0;
  private readonly onStationData = (chunk: Uint8Array): void => {
    const c = this.current;
    if (c?.isOpen) c.write(chunk).catch(() => undefined);
  };

  constructor(
    private readonly station: Link,
    private readonly name = 'uplink',
  ) {
    station.on('data', this.onStationData);
  }

  /** Connections made so far. */
  get connections(): number {
    return this.count;
  }

  /** True while a connection is up. */
  get connected(): boolean {
    return this.current?.isOpen === true;
  }

  get isDown(): boolean {
    return this.down;
  }

  /** A new connection towards the station (the previous one, if any, is closed first). Rejects while down. */
  async connect(): Promise<Link> {
    if (this.closed) throw new LinkError(`${this.name}: closed`);
    if (this.down) throw new LinkError(`${this.name}: the uplink is down (connection refused)`);
    await this.drop();
    const [terminalEnd, relayEnd] = createMemoryPair({ names: [`${this.name}:terminal#${this.count + 1}`, `${this.name}:relay#${this.count + 1}`] });
    this.count++;
    this.current = relayEnd;
    relayEnd.on('data', (chunk: Uint8Array) => {
      if (this.current === relayEnd && this.station.isOpen) this.station.write(chunk).catch(() => undefined);
    });
    relayEnd.on('close', () => {
      if (this.current === relayEnd) this.current = undefined;
    });
    return terminalEnd;
  }

  /** Closes the current connection, if any: the terminal sees its link close. */
  async drop(): Promise<void> {
    const c = this.current;
    this.current = undefined;
    if (c?.isOpen) await c.close();
  }

  /** Down: the current connection is dropped and connect() is refused until up again. */
  async setDown(down: boolean): Promise<void> {
    this.down = down;
    if (down) await this.drop();
  }

  /** Stops relaying (the station link is left to its owner). */
  async close(): Promise<void> {
    this.closed = true;
    this.station.off('data', this.onStationData);
    await this.drop();
  }
}
