/**
 * The meter archive as the master station sends it to a concentrator (issue 12, part E): each
 * `ArchivePoint` as an AFN 04 F10 record (DL/T 645 meters) or an F249 record (MeterLab's four-meter
 * extension: CJ/T 188 and M-Bus meters, docs/protocols/meterlab-four-meter-1376.md), packed into
 * chunks of whole records, each chunk one data unit (p0, Fn) that fits one frame.
 *
 * The record layouts are the dictionary's (harness/protocols/gw1376/dictionary.ts): sizes are
 * measured by encoding, never re-typed here.
 */
import {
  ArchiveProtocol,
  DADT_LENGTH,
  encodeLayout,
  FIXED_USER_DATA_LENGTH,
  FOUR_METER_FN,
  layoutFor,
  MAX_USER_DATA_NETWORK,
  PW_LENGTH,
  TP_LENGTH,
  type Field,
  type Layout,
  type UnitValue,
} from '../../harness/protocols/gw1376/index.ts';
import type { ArchivePoint, MeterKind } from '../concentrator/types.ts';

/** AFN 04 (set parameters). */
export const AFN_SET_PARAMETERS = 0x04;
/** AFN 04 F10: the electricity meter archive (376.1). */
export const FN_METER_ARCHIVE = 10;
/** AFN 04 F249: the four-meter archive (MeterLab's extension). */
export const FN_FOUR_METER_ARCHIVE = FOUR_METER_FN;

/**
 * F10 D7-D5 baud code [BK]: 0 default, 1 600, 2 1200, 3 2400, 4 4800, 5 7200, 6 9600, 7 19200.
 * DL/T 645-2007 meters run at 2400 bit/s by default (PROTOCOLS.md 1.1), so 3.
 */
export const F10_BAUD_2400 = 3;
/** F10 tariff count D5-D0: DL/T 645-2007 meters carry total + T1..T4 (05060101 data block). */
export const F10_TARIFFS = 4;
/**
 * F10 digits [BK]: D3-D2 integer digits - 4, D1-D0 decimal digits - 1. DL/T 645-2007 energies are
 * XXXXXX.XX kWh: 6 integer and 2 decimal digits → (2 << 2) | 1.
 */
export const F10_DIGITS = (2 << 2) | 1;

/** CJ/T 188 meter type T by kind when the archive does not give one: 10H cold water, 30H gas, 20H heat (CJ/T 188-2004 table 1). */
const DEFAULT_METER_TYPE: Readonly<Record<Exclude<MeterKind, 'electricity'>, number>> = { water: 0x10, gas: 0x30, heat: 0x20 };
/** EN 13757-3 medium 04H heat: the default of an M-Bus point without `meterType`. */
const MBUS_MEDIUM_HEAT = 0x04;

/** Fn that carries a point's archive record (and its daily data, AFN 0D): F10/F161 for DL/T 645, F249 for the others. */
export function archiveFnOf(point: Pick<ArchivePoint, 'protocol'>): number {
  return point.protocol === 'dlt645-2007' ? FN_METER_ARCHIVE : FN_FOUR_METER_ARCHIVE;
}

/**
 * The record of a point as the dictionary's layout wants it. The F10 password field has 6 bytes
 * [BK]; the point's DL/T 645 password is 4 (8 hex digits): it goes first, padded with 00H
 * (MeterLab's choice; the concentrator side reads the first 4 bytes). Hex bytes are written as the
 * codec decodes them ("02 12 34 56 00 00"), so a record round-trips equal.
 */
export function archiveRecord(point: ArchivePoint): UnitValue {
  if (point.protocol === 'dlt645-2007') {
    return {
      serial: point.serial,
      pn: point.pn,
      rateAndPort: (F10_BAUD_2400 << 5) | (point.port & 0x1f),
      protocol: ArchiveProtocol.dlt645_2007,
      address: point.address,
      password: `${point.password ?? '00000000'}0000`.replace(/(..)(?!$)/g, '$1 '),
      tariffs: F10_TARIFFS,
      digits: F10_DIGITS,
      collectorAddress: '000000000000',
      classes: 0,
    };
  }
  const kind = point.kind === 'electricity' ? 'water' : point.kind;
  return {
    serial: point.serial,
    pn: point.pn,
    port: point.port,
    protocol: point.protocol === 'cjt188' ? ArchiveProtocol.cjt188 : ArchiveProtocol.mbus,
    meterType: point.meterType ?? (point.protocol === 'mbus' ? MBUS_MEDIUM_HEAT : DEFAULT_METER_TYPE[kind]),
    // ML.7: the CJ/T 188 address, or the M-Bus primary address as 14 digits.
    address: point.address.padStart(14, '0'),
  };
}

/** The repeated record layout of AFN 04 F10 or F249 (the `meters` field of the dictionary). */
function recordLayout(fn: number): Layout {
  const down = layoutFor(AFN_SET_PARAMETERS, fn, false);
  const meters = down?.find((f: Field) => f.name === 'meters');
  if (!meters || !('repeat' in meters)) throw new Error(`AFN 04 F${fn} has no 'meters' repetition in the dictionary`);
  return meters.repeat;
}

/**
 * Bytes of one frame that are not archive records: C, A, AFN, SEQ (8), DA DT (4), count (BIN 2),
 * PW (16: AFN 04 carries it) and a Tp (6) in case the master sends one.
 */
export const ARCHIVE_FRAME_OVERHEAD = FIXED_USER_DATA_LENGTH + DADT_LENGTH + 2 + PW_LENGTH + TP_LENGTH;

export interface ArchiveChunk {
  readonly fn: number;
  readonly points: readonly ArchivePoint[];
  /** The data unit's value: { count, meters }. */
  readonly value: UnitValue;
  /** User-data length of the frame that carries it, overhead included. */
  readonly userDataLength: number;
}

/**
 * Splits points into chunks of whole records, F10 and F249 apart, in serial order, each fitting a
 * frame whose user data is at most `maxUserData` (default MAX_USER_DATA_NETWORK; a radio channel
 * has 255). Throws when a single record cannot fit (a limit below the overhead).
 */
export function archiveChunks(points: readonly ArchivePoint[], maxUserData = MAX_USER_DATA_NETWORK): ArchiveChunk[] {
  const chunks: ArchiveChunk[] = [];
  for (const fn of [FN_METER_ARCHIVE, FN_FOUR_METER_ARCHIVE]) {
    const layout = recordLayout(fn);
    const mine = points.filter((p) => archiveFnOf(p) === fn).sort((a, b) => a.serial - b.serial);
    let current: { points: ArchivePoint[]; records: UnitValue[]; length: number } | null = null;
    const flush = (): void => {
      if (current && current.points.length > 0) {
        chunks.push({ fn, points: current.points, value: { count: current.records.length, meters: current.records }, userDataLength: current.length });
      }
      current = null;
    };
    for (const p of mine) {
      const record = archiveRecord(p);
      const size = encodeLayout(layout, record).length;
      if (ARCHIVE_FRAME_OVERHEAD + size > maxUserData) throw new Error(`an archive record of ${size} bytes does not fit a frame of ${maxUserData} bytes of user data`);
      if (current !== null && (current as { length: number }).length + size > maxUserData) flush();
      current ??= { points: [], records: [], length: ARCHIVE_FRAME_OVERHEAD };
      current.points.push(p);
      current.records.push(record);
      current.length += size;
    }
    flush();
  }
  return chunks;
}
