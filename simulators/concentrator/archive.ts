/**
 * The concentrator's meter archive (AFN 04 F10 for DL/T 645, MeterLab's F249 for CJ/T 188 and
 * M-Bus): entries by archive serial number, each refused or taken on its own (one `ArchiveChange`
 * per record, in order), so one bad record in a download never loses the others.
 *
 * Capacity 2040 entries (COL-06: at least 1024; 2040 = the largest measuring point of 1376.1, the
 * L-confidence figure of GAP-04). Refusals, each with its reason: serial or pn outside 1..2040, a pn
 * already used by another serial, an unknown port, a protocol the port's medium does not carry
 * (M-Bus only on an M-Bus port, DL/T 645 and CJ/T 188 only on RS-485), a kind the protocol cannot
 * read, a bad address (DL/T 645 12 decimal digits, not the broadcast 99..99; CJ/T 188 14 decimal
 * digits with a meter type byte; M-Bus a primary address 1..250), a password or operator that is
 * not 8 hex digits, and a full archive.
 *
 * Each entry remembers when it was archived (terminal clock): a day is due for collection only if
 * it ended after the point was archived (collection.ts), so a point added today is not reported as
 * missing the days before it existed.
 */
import type { ArchiveChange, ArchivePoint, ConcentratorPort } from './types.ts';

/** Archive entries the concentrator holds (COL-06 ≥ 1024; 2040 = 1376.1's largest measuring point, GAP-04). */
export const ARCHIVE_CAPACITY = 2040;
/** Largest archive serial number and measuring point (1376.1: pn 1..2040). */
export const MAX_PN = 2040;
/** M-Bus primary addresses a slave may have (EN 13757-2: 1..250; 0 = unconfigured, not archived). */
const MBUS_PRIMARY = { min: 1, max: 250 } as const;
/** DL/T 645 broadcast address: no meter has it. */
const DLT645_BROADCAST = '999999999999';

export interface ArchiveEntry {
  readonly point: ArchivePoint;
  /** Terminal clock when the entry (this meter at this pn) was archived. */
  readonly archivedAt: number;
}

export class Archive {
  readonly capacity = ARCHIVE_CAPACITY;
  private readonly bySerial = new Map<number, ArchiveEntry>();
  private readonly byPn = new Map<number, ArchiveEntry>();

  constructor(private readonly ports: ReadonlyMap<number, ConcentratorPort>) {}

  /** Entries in serial order. */
  entries(): readonly ArchiveEntry[] {
    return [...this.bySerial.values()].sort((a, b) => a.point.serial - b.point.serial);
  }

  points(): readonly ArchivePoint[] {
    return this.entries().map((e) => e.point);
  }

  entry(pn: number): ArchiveEntry | undefined {
    return this.byPn.get(pn);
  }

  get size(): number {
    return this.bySerial.size;
  }

  /**
   * Adds or replaces entries by serial, each checked on its own. `onReplaced(pn)` is called when an
   * entry's pn now names another meter (another pn, port, protocol or address): the data stored for
   * the old pn is no longer that meter's.
   */
  set(points: readonly ArchivePoint[], now: number, onReplaced: (pn: number) => void): readonly ArchiveChange[] {
    return points.map((p) => {
      const reason = this.refusal(p);
      if (reason) return { serial: typeof p.serial === 'number' ? p.serial : NaN, ok: false, reason };
      const old = this.bySerial.get(p.serial);
      const sameMeter = old !== undefined && sameMeterAt(old.point, p);
      if (old) {
        this.byPn.delete(old.point.pn);
        if (!sameMeter) onReplaced(old.point.pn);
      }
      const entry: ArchiveEntry = { point: freezePoint(p), archivedAt: sameMeter ? old!.archivedAt : now };
      this.bySerial.set(p.serial, entry);
      this.byPn.set(p.pn, entry);
      return { serial: p.serial, ok: true };
    });
  }

  clear(): void {
    this.bySerial.clear();
    this.byPn.clear();
  }

  /** Why `p` cannot be archived, or undefined when it can. */
  private refusal(p: ArchivePoint): string | undefined {
    if (!isIndex(p.serial)) return `serial ${String(p.serial)} is outside 1..${MAX_PN}`;
    if (!isIndex(p.pn)) return `pn ${String(p.pn)} is outside 1..${MAX_PN}`;
    const holder = this.byPn.get(p.pn);
    if (holder && holder.point.serial !== p.serial) return `pn ${p.pn} is already archived as serial ${holder.point.serial}`;
    if (!this.bySerial.has(p.serial) && this.bySerial.size >= this.capacity) return `the archive is full (capacity ${this.capacity})`;
    const port = this.ports.get(p.port);
    if (!port) return `unknown port ${String(p.port)} (ports: ${[...this.ports.keys()].join(', ') || 'none'})`;
    switch (p.protocol) {
      case 'dlt645-2007':
        if (port.medium !== 'rs485') return `reserved protocol: DL/T 645 on ${port.medium} port ${p.port}`;
        if (p.kind !== 'electricity') return `a DL/T 645 point measures electricity, not ${String(p.kind)}`;
        if (typeof p.address !== 'string' || !/^\d{12}$/.test(p.address) || p.address === DLT645_BROADCAST) {
          return `bad address ${JSON.stringify(p.address)}: a DL/T 645 address is 12 decimal digits, not the broadcast ${DLT645_BROADCAST}`;
        }
        if (p.password !== undefined && !/^[0-9A-Fa-f]{8}$/.test(p.password)) return `bad password: 8 hex digits (PA P2 P1 P0)`;
        if (p.operator !== undefined && !/^[0-9A-Fa-f]{8}$/.test(p.operator)) return `bad operator code: 8 hex digits`;
        return undefined;
      case 'cjt188':
        if (port.medium !== 'rs485') return `reserved protocol: CJ/T 188 on ${port.medium} port ${p.port}`;
        if (p.kind === 'electricity') return `a CJ/T 188 point measures water, gas or heat, not electricity`;
        if (typeof p.address !== 'string' || !/^\d{14}$/.test(p.address)) return `bad address ${JSON.stringify(p.address)}: a CJ/T 188 address is 14 decimal digits`;
        if (!isByte(p.meterType)) return `bad meter type ${String(p.meterType)}: a CJ/T 188 point needs its meter type T (one byte)`;
        return undefined;
      case 'mbus':
        if (port.medium !== 'mbus') return `reserved protocol: M-Bus on ${port.medium} port ${p.port}`;
        if (p.kind !== 'heat' && p.kind !== 'water' && p.kind !== 'gas') return `an M-Bus point measures heat, water or gas`;
        if (!isPrimaryAddress(p.address)) return `bad address ${JSON.stringify(p.address)}: an M-Bus point is a primary address ${MBUS_PRIMARY.min}..${MBUS_PRIMARY.max}`;
        if (p.meterType !== undefined && !isByte(p.meterType)) return `bad medium ${String(p.meterType)}: one byte`;
        return undefined;
      default:
        return `reserved protocol ${JSON.stringify(p.protocol)}`;
    }
  }
}

function isIndex(n: unknown): n is number {
  return typeof n === 'number' && Number.isInteger(n) && n >= 1 && n <= MAX_PN;
}

function isByte(n: unknown): n is number {
  return typeof n === 'number' && Number.isInteger(n) && n >= 0 && n <= 0xff;
}

function isPrimaryAddress(a: unknown): boolean {
  if (typeof a !== 'string' || !/^\d{1,3}$/.test(a)) return false;
  const n = Number(a);
  return n >= MBUS_PRIMARY.min && n <= MBUS_PRIMARY.max;
}

/** Whether an entry names the same meter at the same measuring point (its stored data stays valid). */
function sameMeterAt(a: ArchivePoint, b: ArchivePoint): boolean {
  return a.pn === b.pn && a.port === b.port && a.protocol === b.protocol && a.address === b.address && a.meterType === b.meterType;
}

function freezePoint(p: ArchivePoint): ArchivePoint {
  return Object.freeze({ ...p });
}
