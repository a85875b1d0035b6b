/**
 * Data units of the application layer (PROTOCOLS.md 3.5, 3.7): the region after SEQ (and before
 * AUX) is a sequence of `DA DT data`, where one DA/DT pair may name several pn and several Fn;
 * the data follow pn by pn, and for each pn Fn by Fn, in ascending order [BK: order]. The length of
 * each Fn's data comes from the dictionary (its layout for the frame's direction). An Fn with no
 * known layout takes the rest of the region as opaque bytes, and parsing stops there: without a
 * layout there is no way to know where the next identifier begins.
 *
 * `decode(bytes)` = frame + data units; `encodeMessage` puts a decoded message back byte for byte;
 * `buildFrame` encodes new frames from (pn, Fn, value) items through the dictionary.
 */
import { concatBytes } from '../../core/bytes.ts';
import { decodeError, EncodeError, type DecodeError } from '../../core/errors.ts';
import { err, ok, type Result } from '../../core/result.ts';
import { DADT_LENGTH } from './constants.ts';
import { decodeDa, decodeDt, encodeDa, encodeDt, groupPairs, type PnSet } from './dadt.ts';
import { decodeLayout, encodeLayout, layoutFor, lookupFn, type UnitValue } from './dictionary.ts';
import {
  decodeFrame,
  DEFAULT_FRAME_OPTIONS,
  encodeFrame,
  makeControl,
  makeSeq,
  type ControlParts,
  type Gw1376FrameOptions,
  type SeqParts,
} from './frame.ts';
import type { Address, EventCounter, Gw1376DecodedFrame, Gw1376Frame, TimeTag } from './types.ts';

/** One (pn, Fn) data unit. */
export interface DataUnitItem {
  /** pn (0 = terminal) or 'all' (DA FF 00 [BK]). */
  readonly pn: number | 'all';
  readonly fn: number;
  /** The unit's bytes (empty for a request that only names it). */
  readonly data: Uint8Array;
  /** Decoded by the dictionary's layout; null when the layout is unknown (opaque). */
  readonly value: UnitValue | null;
  /** True when the layout is unknown (or did not fit, see DecodeUnitsOptions) and `data` is the rest of the region. */
  readonly opaque: boolean;
  /** With `layoutMismatch: 'opaque'`: why the dictionary's layout did not fit. */
  readonly layoutError?: DecodeError;
}

/** One DA DT identifier and the items it names, in wire order. */
export interface DataUnitGroup {
  readonly da: readonly [number, number];
  readonly dt: readonly [number, number];
  readonly pns: PnSet;
  readonly fns: readonly number[];
  readonly items: readonly DataUnitItem[];
}

export interface Gw1376Message {
  readonly frame: Gw1376Frame;
  readonly units: readonly DataUnitGroup[];
}

export const MESSAGE_ERROR_CODES = ['gw1376.data-unit', 'gw1376.da', 'gw1376.dt', 'gw1376.value-length', 'gw1376.bcd'] as const;

/**
 * The data units of a frame's region (`frame.data`, which starts at absolute `dataOffset`).
 * Errors: `gw1376.data-unit` (1-3 bytes left where a DA DT needs 4), `gw1376.da` / `gw1376.dt`
 * (an identifier naming nothing), `gw1376.value-length` / `gw1376.bcd` (a unit's data, see
 * dictionary.ts). Offsets absolute.
 */
export interface DecodeUnitsOptions {
  /**
   * What a unit whose bytes do not fit its dictionary layout does: `strict` (default) fails the
   * message with the layout's error; `opaque` keeps the rest of the region as opaque bytes of that
   * unit, for devices whose layout differs from a [BK] one (with `layoutError` saying why).
   */
  readonly layoutMismatch?: 'strict' | 'opaque';
}

export function decodeUnits(frame: Gw1376Frame, dataOffset = 0, options: DecodeUnitsOptions = {}): Result<DataUnitGroup[], DecodeError> {
  const bytes = frame.data;
  const end = bytes.length;
  const uplink = frame.control.dir;
  const groups: DataUnitGroup[] = [];
  let p = 0;
  while (p < end) {
    if (end - p < DADT_LENGTH) {
      return err(decodeError('gw1376.data-unit', `${end - p} byte(s) left where a data-unit identifier DA DT needs 4`, dataOffset + p));
    }
    const da: [number, number] = [bytes[p]!, bytes[p + 1]!];
    const dt: [number, number] = [bytes[p + 2]!, bytes[p + 3]!];
    const pns = decodeDa(da[0], da[1], dataOffset + p);
    if (!pns.ok) return pns;
    const fns = decodeDt(dt[0], dt[1], dataOffset + p + 2);
    if (!fns.ok) return fns;
    p += DADT_LENGTH;
    const items: DataUnitItem[] = [];
    let stop = false;
    for (const pn of pns.value === 'all' ? (['all'] as const) : pns.value) {
      for (const fn of fns.value) {
        if (stop) break;
        const layout = layoutFor(frame.afn, fn, uplink);
        if (layout === undefined) {
          items.push({ pn, fn, data: bytes.slice(p, end), value: null, opaque: true });
          p = end;
          stop = true;
          break;
        }
        const r = decodeLayout(layout, bytes, p, end, dataOffset);
        if (!r.ok && options.layoutMismatch === 'opaque') {
          items.push({ pn, fn, data: bytes.slice(p, end), value: null, opaque: true, layoutError: r.error });
          p = end;
          stop = true;
          break;
        }
        if (!r.ok) return r;
        items.push({ pn, fn, data: bytes.slice(p, r.value.next), value: r.value.value, opaque: false });
        p = r.value.next;
      }
    }
    groups.push({ da, dt, pns: pns.value, fns: fns.value, items });
  }
  return ok(groups);
}

export function decodeMessage(decoded: Gw1376DecodedFrame, options: DecodeUnitsOptions = {}): Result<Gw1376Message, DecodeError> {
  const units = decodeUnits(decoded.frame, decoded.dataOffset, options);
  return units.ok ? ok({ frame: decoded.frame, units: units.value }) : units;
}

/** Frame and data units of one frame at `offset`. */
export function decode(
  bytes: Uint8Array,
  offset = 0,
  options: Gw1376FrameOptions = DEFAULT_FRAME_OPTIONS,
  unitOptions: DecodeUnitsOptions = {},
): Result<Gw1376Message & { decoded: Gw1376DecodedFrame }, DecodeError> {
  const d = decodeFrame(bytes, offset, options);
  if (!d.ok) return d;
  const m = decodeMessage(d.value, unitOptions);
  return m.ok ? ok({ ...m.value, decoded: d.value }) : m;
}

/** The data-unit region of decoded groups, byte for byte (each item's `data`). */
export function encodeUnits(groups: readonly DataUnitGroup[]): Uint8Array {
  const parts: Uint8Array[] = [];
  for (const g of groups) {
    parts.push(Uint8Array.of(g.da[0], g.da[1], g.dt[0], g.dt[1]));
    for (const item of g.items) parts.push(item.data);
  }
  return concatBytes(...parts);
}

/** A decoded message back to its bytes. */
export function encodeMessage(m: Gw1376Message, options: Gw1376FrameOptions = DEFAULT_FRAME_OPTIONS): Uint8Array {
  const f = m.frame;
  return encodeFrame(
    { control: f.control.raw, address: f.address, afn: f.afn, seq: f.seq.raw, data: encodeUnits(m.units), pw: f.aux.pw, ec: f.aux.ec, tp: f.aux.tp, protocolId: f.protocolId },
    options,
  );
}

/** A data unit to encode: (pn, Fn) and its value by the dictionary, or its raw bytes. */
export interface UnitSpec {
  readonly pn: number;
  readonly fn: number;
  readonly value?: UnitValue;
  readonly data?: Uint8Array;
}

/**
 * The data-unit region for `units` of `afn` in one direction: grouped into as few DA/DT as the
 * rules allow (dadt.ts groupPairs), values encoded by the dictionary. A unit with neither value
 * nor data is empty (a request naming the Fn). Throws EncodeError.
 */
export function encodeUnitSpecs(afn: number, uplink: boolean, units: readonly UnitSpec[]): Uint8Array {
  const byKey = new Map<string, Uint8Array>();
  for (const u of units) {
    let data = u.data;
    if (data === undefined) {
      const layout = layoutFor(afn, u.fn, uplink);
      if (u.value !== undefined) {
        if (layout === undefined) throw new EncodeError(`AFN ${afn} F${u.fn} has no ${uplink ? 'uplink' : 'downlink'} layout in the dictionary: give its data as bytes`);
        data = encodeLayout(layout, u.value);
      } else {
        if (layout !== undefined && layout.length > 0) throw new EncodeError(`AFN ${afn} F${u.fn} (${lookupFn(afn, u.fn)?.name ?? ''}) needs a value`);
        data = new Uint8Array(0);
      }
    }
    byKey.set(`${u.pn}/${u.fn}`, data);
  }
  const parts: Uint8Array[] = [];
  for (const g of groupPairs(units)) {
    const [da1, da2] = encodeDa(g.pns);
    const [dt1, dt2] = encodeDt(g.fns);
    parts.push(Uint8Array.of(da1, da2, dt1, dt2));
    for (const pn of g.pns) for (const fn of g.fns) parts.push(byKey.get(`${pn}/${fn}`)!);
  }
  return concatBytes(...parts);
}

export interface BuildFrameOptions {
  readonly control: ControlParts;
  readonly address: Address;
  readonly afn: number;
  readonly seq: SeqParts;
  readonly units: readonly UnitSpec[];
  readonly pw?: Uint8Array;
  readonly ec?: EventCounter;
  readonly tp?: TimeTag;
}

/** A new frame from its parts (TpV follows `tp`). Throws EncodeError. */
export function buildFrame(b: BuildFrameOptions, options: Gw1376FrameOptions = DEFAULT_FRAME_OPTIONS): Uint8Array {
  return encodeFrame(
    {
      control: makeControl(b.control),
      address: b.address,
      afn: b.afn,
      seq: makeSeq({ ...b.seq, tpv: b.tp !== undefined }),
      data: encodeUnitSpecs(b.afn, b.control.dir, b.units),
      pw: b.pw ?? null,
      ec: b.ec ?? null,
      tp: b.tp ?? null,
    },
    options,
  );
}

/** Every (pn, Fn) item of a message, flattened in wire order. */
export function items(m: Gw1376Message): DataUnitItem[] {
  return m.units.flatMap((g) => g.items);
}
