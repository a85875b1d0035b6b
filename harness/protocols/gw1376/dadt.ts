/**
 * Data-unit identifiers DA (pn) and DT (Fn), PROTOCOLS.md 3.5:
 *
 * - Fn (1..248 in the standard; DT2 up to FFH reaches F2040, a vendor extension, vector 18):
 *   DT1 = 1 << ((n - 1) mod 8), DT2 = (n - 1) div 8. DT1 may set several bits: several Fn of one
 *   group of 8 in one identifier.
 * - pn (1..2040): DA1 = 1 << ((n - 1) mod 8), DA2 = (n - 1) div 8 + 1; p0 = `00 00`. DA1 may set
 *   several bits: several pn of one group of 8. DA1 = FFH with DA2 = 00 = every valid measuring
 *   point [BK].
 *
 * Pure; decoding returns a typed error, encoding bad arguments throws.
 */
import { decodeError, EncodeError, type DecodeError } from '../../core/errors.ts';
import { err, ok, type Result } from '../../core/result.ts';
import { MAX_FN, MAX_PN } from './constants.ts';

/** pn as decoded: a list (p0 is [0]), or `all` for DA1 = FFH, DA2 = 00 [BK]. */
export type PnSet = readonly number[] | 'all';

export const DADT_ERROR_CODES = ['gw1376.da', 'gw1376.dt'] as const;

/** The pn that DA1 DA2 (at `offset` for errors) stand for. */
export function decodeDa(da1: number, da2: number, offset = 0): Result<PnSet, DecodeError> {
  if (da2 === 0) {
    if (da1 === 0) return ok([0]);
    if (da1 === 0xff) return ok('all');
    return err(decodeError('gw1376.da', `DA1 = ${hex2(da1)} with DA2 = 00 is neither p0 (00 00) nor all points (FF 00)`, offset));
  }
  if (da1 === 0) return err(decodeError('gw1376.da', `DA1 = 00 with DA2 = ${hex2(da2)} names no measuring point`, offset));
  const out: number[] = [];
  for (let b = 0; b < 8; b++) if (da1 & (1 << b)) out.push((da2 - 1) * 8 + b + 1);
  return ok(out);
}

/** The Fn that DT1 DT2 (at `offset` for errors) stand for. */
export function decodeDt(dt1: number, dt2: number, offset = 0): Result<readonly number[], DecodeError> {
  if (dt1 === 0) return err(decodeError('gw1376.dt', `DT1 = 00 names no Fn (DT2 = ${hex2(dt2)})`, offset));
  const out: number[] = [];
  for (let b = 0; b < 8; b++) if (dt1 & (1 << b)) out.push(dt2 * 8 + b + 1);
  return ok(out);
}

/**
 * DA1 DA2 for a set of pn that share one group of 8 (or [0], or 'all'). Throws EncodeError for
 * pn outside 0..2040, an empty set, p0 mixed with others, or pn from different groups.
 */
export function encodeDa(pns: PnSet): [number, number] {
  if (pns === 'all') return [0xff, 0x00];
  if (!Array.isArray(pns) || pns.length === 0) throw new EncodeError('DA needs at least one pn');
  if (pns.length === 1 && pns[0] === 0) return [0, 0];
  let da1 = 0;
  let group = -1;
  for (const pn of pns) {
    if (!Number.isInteger(pn) || pn < 1 || pn > MAX_PN) throw new EncodeError(`pn must be 1..${MAX_PN} (or p0 alone), got ${String(pn)}`);
    const g = Math.floor((pn - 1) / 8);
    if (group >= 0 && g !== group) throw new EncodeError(`pn ${pns.join(', ')} are not in one group of 8 (one DA)`);
    group = g;
    da1 |= 1 << ((pn - 1) % 8);
  }
  return [da1, group + 1];
}

/** DT1 DT2 for a set of Fn in one group of 8. Throws EncodeError otherwise. */
export function encodeDt(fns: readonly number[]): [number, number] {
  if (!Array.isArray(fns) || fns.length === 0) throw new EncodeError('DT needs at least one Fn');
  let dt1 = 0;
  let group = -1;
  for (const fn of fns) {
    if (!Number.isInteger(fn) || fn < 1 || fn > MAX_FN) throw new EncodeError(`Fn must be 1..${MAX_FN}, got ${String(fn)}`);
    const g = Math.floor((fn - 1) / 8);
    if (group >= 0 && g !== group) throw new EncodeError(`F${fns.join(', F')} are not in one group of 8 (one DT)`);
    group = g;
    dt1 |= 1 << ((fn - 1) % 8);
  }
  return [dt1, group];
}

/**
 * Splits (pn, Fn) pairs into as few DA/DT identifiers as the grouping rules allow: pairs are
 * grouped by the pn's group of 8 and the Fn's group of 8, and within a group a DA/DT pair
 * covers the cross product of its pn and Fn; pairs whose cross product is incomplete are put in
 * identifiers of their own. Order: first appearance.
 */
export function groupPairs(pairs: readonly { readonly pn: number; readonly fn: number }[]): { pns: number[]; fns: number[] }[] {
  const out: { pns: number[]; fns: number[] }[] = [];
  const byGroup = new Map<string, { pn: number; fn: number }[]>();
  for (const p of pairs) {
    const key = `${p.pn === 0 ? 'p0' : Math.floor((p.pn - 1) / 8)}/${Math.floor((p.fn - 1) / 8)}`;
    const list = byGroup.get(key) ?? [];
    list.push({ pn: p.pn, fn: p.fn });
    byGroup.set(key, list);
  }
  for (const list of byGroup.values()) {
    const pns = [...new Set(list.map((p) => p.pn))].sort((a, b) => a - b);
    const fns = [...new Set(list.map((p) => p.fn))].sort((a, b) => a - b);
    const have = new Set(list.map((p) => `${p.pn}/${p.fn}`));
    if (pns.length * fns.length === have.size) out.push({ pns, fns });
    else for (const p of list) out.push({ pns: [p.pn], fns: [p.fn] });
  }
  return out;
}

function hex2(b: number): string {
  return (b & 0xff).toString(16).toUpperCase().padStart(2, '0');
}
