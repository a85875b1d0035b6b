/**
 * Every frame of fixtures/1376-1-vectors.json (a verbatim copy of shared/vectors/1376-1.json)
 * decodes to its recorded fields and meaning, and re-encodes byte for byte.
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { hex, toHex } from '../../core/bytes.ts';
import { decode, encodeMessage, items } from './messages.ts';
import { frameToJson } from './json.ts';
import { ok } from '../../core/result.ts';

interface Vector {
  readonly hex: string;
  readonly meaning: string;
  readonly checksum_verified: boolean;
  readonly fields: {
    readonly user_data_len: number;
    readonly protocol_id: number;
    readonly C: string;
    readonly C_DIR: number;
    readonly C_PRM: number;
    readonly C_FCB_or_ACD: number;
    readonly C_FCV: number;
    readonly C_func: number;
    readonly A1_area_code: string;
    readonly A2_terminal: number;
    readonly A3_group_flag: number;
    readonly A3_MSA: number;
    readonly AFN: string;
    readonly SEQ_TpV: number;
    readonly SEQ_FIR: number;
    readonly SEQ_FIN: number;
    readonly SEQ_CON: number;
    readonly SEQ_PSEQ_RSEQ: number;
    readonly cs: string;
    readonly DA: string;
    readonly DT: string;
    readonly pn: number[];
    readonly Fn: number[];
  };
}

const VECTORS = JSON.parse(readFileSync(new URL('./fixtures/1376-1-vectors.json', import.meta.url), 'utf8')) as Vector[];

describe('shared/vectors/1376-1.json', () => {
  it('holds the 20 checksum-verified frames the notes describe', () => {
    expect(VECTORS).toHaveLength(20);
    expect(VECTORS.every((v) => v.checksum_verified)).toBe(true);
  });

  it.each(VECTORS.map((v, i) => [i, v] as const))('vector %i decodes to its recorded fields and re-encodes byte for byte', (_i, v) => {
    const bytes = hex(v.hex);
    const r = decode(bytes);
    if (!r.ok) throw new Error(`${r.error.code} at ${r.error.offset}: ${r.error.message}`);
    const { frame } = r.value;
    const f = v.fields;
    expect(bytes.length - 8).toBe(f.user_data_len);
    expect(frame.protocolId).toBe(f.protocol_id);
    expect(frame.control.raw).toBe(parseInt(f.C, 16));
    expect(frame.control.dir).toBe(f.C_DIR === 1);
    expect(frame.control.prm).toBe(f.C_PRM === 1);
    expect(frame.control.dir ? frame.control.acd : frame.control.fcb).toBe(f.C_FCB_or_ACD === 1);
    expect(frame.control.fcv).toBe(f.C_FCV === 1);
    expect(frame.control.functionCode).toBe(f.C_func);
    expect(frame.address.areaCode).toBe(f.A1_area_code);
    expect(frame.address.terminal).toBe(f.A2_terminal);
    expect(frame.address.group).toBe(f.A3_group_flag === 1);
    expect(frame.address.msa).toBe(f.A3_MSA);
    expect(frame.afn).toBe(parseInt(f.AFN, 16));
    expect([frame.seq.tpv, frame.seq.fir, frame.seq.fin, frame.seq.con, frame.seq.seq]).toEqual([f.SEQ_TpV === 1, f.SEQ_FIR === 1, f.SEQ_FIN === 1, f.SEQ_CON === 1, f.SEQ_PSEQ_RSEQ]);
    expect(frame.checksum).toBe(parseInt(f.cs, 16));
    const first = r.value.units[0]!;
    expect(toHex(Uint8Array.from(first.da))).toBe(f.DA);
    expect(toHex(Uint8Array.from(first.dt))).toBe(f.DT);
    expect(first.pns).toEqual(f.pn);
    expect(first.fns).toEqual(f.Fn);
    expect(toHex(encodeMessage(r.value))).toBe(toHex(bytes));
    const json = frameToJson(r.value.decoded, ok(r.value));
    expect(json.ok).toBe(true);
    expect(JSON.parse(JSON.stringify(json))).toEqual(json);
  });

  it('vector 3: reset with PW 16 x 00 and Tp (PFC 0, day 07 13:53:28, 5 min)', () => {
    const r = decode(hex(VECTORS[3]!.hex));
    if (!r.ok) throw new Error(r.error.message);
    expect(r.value.frame.aux.pw).toEqual(new Uint8Array(16));
    expect(r.value.frame.aux.ec).toBeNull();
    expect(r.value.frame.aux.tp).toEqual({ pfc: 0, day: 7, hour: 13, minute: 53, second: 28, delayMinutes: 5 });
    expect(r.value.frame.address.msa).toBe(2);
    expect(items(r.value)).toMatchObject([{ pn: 0, fn: 1, value: {}, opaque: false }]);
  });

  it('vector 4: the terminal confirm with ACD carries EC 11 00 and echoes Tp', () => {
    const r = decode(hex(VECTORS[4]!.hex));
    if (!r.ok) throw new Error(r.error.message);
    expect(r.value.frame.control.acd).toBe(true);
    expect(r.value.frame.aux.ec).toEqual({ important: 0x11, normal: 0 });
    expect(r.value.frame.aux.tp).toEqual({ pfc: 0, day: 7, hour: 13, minute: 52, second: 27, delayMinutes: 5 });
    expect(r.value.frame.aux.pw).toBeNull();
    expect(r.value.frame.data).toEqual(hex('00 00 01 00'));
  });

  it('vector 8: AFN 00 F3 confirms AFN 02 p0 F3 with ERR 00', () => {
    const r = decode(hex(VECTORS[8]!.hex));
    if (!r.ok) throw new Error(r.error.message);
    expect(items(r.value)).toEqual([
      { pn: 0, fn: 3, data: hex('02 00 00 04 00 00'), value: { afn: 2, items: [{ da: '00 00', dt: '04 00', err: 0 }] }, opaque: false },
    ]);
  });

  it('logins, heartbeats and reads name the right Fn, vendor Fn included', () => {
    const fnOf = (i: number): [number, number | 'all', number, boolean] => {
      const r = decode(hex(VECTORS[i]!.hex));
      if (!r.ok) throw new Error(r.error.message);
      const it0 = items(r.value)[0]!;
      return [r.value.frame.afn, it0.pn, it0.fn, it0.opaque];
    };
    expect(fnOf(0)).toEqual([0x02, 0, 1, false]); // login
    expect(fnOf(2)).toEqual([0x02, 0, 3, false]); // heartbeat
    expect(fnOf(13)).toEqual([0x0c, 0, 2, false]); // terminal clock
    expect(fnOf(14)).toEqual([0x0c, 1, 167, false]); // purchase/usage p1
    expect(fnOf(15)).toEqual([0x09, 0, 1, false]); // version
    expect(fnOf(16)).toEqual([0x0a, 0, 85, false]);
    // Not in the dictionary; a class 1 request carries no data whatever the Fn [BK].
    expect(fnOf(18)).toEqual([0x0c, 0, 2040, false]); // DT 80 FE, vendor extension
    expect(fnOf(19)).toEqual([0x0c, 0, 193, false]);
  });
});
