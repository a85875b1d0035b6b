/**
 * Every real frame of fixtures/dlt645-vectors.json (a verbatim copy of shared/vectors/dlt645.json):
 * decoded and compared with its recorded fields, re-encoded to the same bytes, and rendered.
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { bcdLeToDigits, bcdLeToNumber } from '../../core/bcd.ts';
import { hex, toHex } from '../../core/bytes.ts';
import { decodeError } from '../../core/errors.ts';
import { err, ok } from '../../core/result.ts';
import type { DataItemDefinition, Dlt645Dictionary } from './dictionary-types.ts';
import { decodeFrame } from './frame.ts';
import { describeFrame, errorToJson, frameToJson } from './json.ts';
import { decodeMessage, encodeMessage, formatDateTime } from './messages.ts';

interface Vector {
  readonly hex: string;
  readonly direction: string;
  readonly meaning: string;
  readonly negative?: boolean;
  readonly fields: Readonly<Record<string, unknown>>;
}

const VECTORS: readonly Vector[] = JSON.parse(
  readFileSync(new URL('./fixtures/dlt645-vectors.json', import.meta.url), 'utf8'),
) as Vector[];

/** The fixture holds 65 frames (PROTOCOLS.md header); a silently empty or truncated copy must fail. */
const EXPECTED_VECTORS = 65;
const hex2 = (b: number): string => b.toString(16).toUpperCase().padStart(2, '0');
const hexOrEmpty = (s: unknown): string => String(s ?? '');

describe('fixtures/dlt645-vectors.json', () => {
  it(`decodes all ${EXPECTED_VECTORS} vectors to their recorded fields and re-encodes them`, () => {
    let checked = 0;
    let negatives = 0;
    let roundTrips = 0;
    VECTORS.forEach((v, index) => {
      const label = `vector ${index}: ${v.meaning}`;
      const f = v.fields;
      const bytes = hex(v.hex);
      const fr = decodeFrame(bytes);
      if (!fr.ok) throw new Error(`${label}: ${fr.error.code} at ${fr.error.offset}`);
      const { frame } = fr.value;

      // Link layer
      expect(frame.preamble, label).toBe(f.preamble_FE_count);
      expect(frame.address, label).toBe(f.address);
      expect(toHex(bytes.subarray(frame.preamble + 1, frame.preamble + 7)), label).toBe(f.address_wire);
      expect(hex2(frame.control.raw), label).toBe(f.control);
      expect(frame.control.isResponse, label).toBe(f.ctrl_dir_response);
      expect(frame.control.isAbnormal, label).toBe(f.ctrl_abnormal);
      expect(frame.control.hasFollowUp, label).toBe(f.ctrl_follow_up);
      expect(hex2(frame.control.functionCode), label).toBe(f.ctrl_function);
      expect(frame.data.length, label).toBe(f.length);
      expect(toHex(frame.data), label).toBe(hexOrEmpty(f.data_minus_33));
      expect(hex2(frame.checksum), label).toBe(f.cs);
      expect(fr.value.end, label).toBe(bytes.length);
      expect(frame.edition, label).toBe(f.DI !== undefined && String(f.DI).length === 4 ? '1997' : '2007');

      const m = decodeMessage(frame);
      if (v.negative) {
        // Vector 45: Z sent without +33H, so Z - 33H = D5H, not a feature word; Z is the first data byte.
        expect(m, label).toEqual({
          ok: false,
          error: expect.objectContaining({ code: 'dlt645.baud-feature-word', offset: frame.preamble + 10 }),
        });
        negatives++;
        checked++;
        return;
      }
      if (!m.ok) throw new Error(`${label}: ${m.error.code} at ${m.error.offset}: ${m.error.message}`);
      const msg = m.value;

      // Application layer, where the vector records it
      if (f.DI !== undefined) {
        expect('di' in msg && msg.di, label).toBe(f.DI);
        const diLength = String(f.DI).length / 2;
        expect(toHex(frame.data.subarray(diLength)), label).toBe(hexOrEmpty(f.payload_after_DI));
        if (msg.kind === 'readData') expect(toHex(msg.extra), label).toBe(hexOrEmpty(f.payload_after_DI));
        if (msg.kind === 'readDataResponse' || msg.kind === 'readDataResponse1997') {
          expect(toHex(msg.payload), label).toBe(hexOrEmpty(f.payload_after_DI));
        }
      }
      if (f.SEQ !== undefined) expect('seq' in msg && msg.seq, label).toBe(f.SEQ);
      if (f.error_word !== undefined) {
        expect(msg.kind, label).toBe('errorResponse');
        if (msg.kind === 'errorResponse') expect(hex2(msg.errorWord), label).toBe(f.error_word);
      }
      if (f.meter_address !== undefined) {
        expect(msg, label).toEqual({ kind: 'readAddressResponse', address: f.meter_address });
      }
      if (msg.kind === 'broadcastTimeSync') expect(formatDateTime(msg.time), label).toBe(f.time);
      if (msg.kind === 'remoteControl') {
        if (f.valid_until !== undefined) expect(msg.validUntil && formatDateTime(msg.validUntil), label).toBe(f.valid_until);
        if (f.N1 !== undefined) expect(hex2(msg.command), label).toBe(String(f.N1).slice(0, 2));
        if (f.operator !== undefined) expect(msg.operator, label).toBe(f.operator);
        if (f.password !== undefined) expect(msg.password.value, label).toBe(f.password);
        if (f.password_level_PA !== undefined) expect(hex2(msg.password.level), label).toBe(f.password_level_PA);
      }
      if (f.Z !== undefined) expect(msg.kind === 'changeBaud' && hex2(msg.z), label).toBe(String(f.Z).slice(0, 2));

      // Round trip: the same bytes, with the same number of FE
      expect(toHex(encodeMessage(frame.address, msg, { preamble: frame.preamble })), label).toBe(toHex(bytes));
      roundTrips++;
      checked++;
    });
    expect(checked).toBe(EXPECTED_VECTORS);
    expect(negatives).toBe(1);
    expect(roundTrips).toBe(EXPECTED_VECTORS - 1);
  });
});

/**
 * A stand-in for the project dictionary (dictionary.ts, written separately): just enough items to
 * exercise the JSON rendering. Values per PROTOCOLS.md 1.9 / 1.10.
 */
function testDictionary(): Dlt645Dictionary {
  const items: DataItemDefinition[] = [
    { di: '00010000', edition: '2007', name: 'forward active total energy', format: 'XXXXXX.XX', length: 4, unit: 'kWh', access: 'read', category: 'energy', source: 'PROTOCOLS.md 1.9' },
    { di: '9010', edition: '1997', name: 'forward active total energy', format: 'XXXXXX.XX', length: 4, unit: 'kWh', access: 'read', category: 'energy', source: 'PROTOCOLS.md 1.10' },
    { di: 'C032', edition: '1997', name: 'meter number', format: 'NNNNNNNNNNNN', length: 6, access: 'read', category: 'identity', source: 'PROTOCOLS.md 1.10' },
  ];
  const lookup = (di: string): DataItemDefinition | undefined => items.find((d) => d.di === di.toUpperCase());
  return {
    lookup,
    all: () => items,
    decodeValue(di, payload) {
      const d = lookup(di);
      if (!d) return err(decodeError('dictionary.unknown', `unknown DI ${di}`, 0));
      if (payload.length !== d.length) return err(decodeError('dictionary.length', `expected ${d.length} bytes`, Math.min(payload.length, d.length)));
      if (d.format.startsWith('N')) {
        const s = bcdLeToDigits(payload);
        return s === null ? err(decodeError('dictionary.bcd', 'not BCD', 0)) : ok(s);
      }
      const n = bcdLeToNumber(payload);
      return n === null ? err(decodeError('dictionary.bcd', 'not BCD', 0)) : ok(n / 100);
    },
    encodeValue() {
      throw new Error('not needed here');
    },
  };
}

describe('JSON and one-line renderings of the vectors', () => {
  const dictionary = testDictionary();
  const render = (index: number): { json: ReturnType<typeof frameToJson>; line: string } => {
    const fr = decodeFrame(hex(VECTORS[index]!.hex));
    if (!fr.ok) throw new Error(fr.error.message);
    const m = decodeMessage(fr.value.frame);
    return { json: frameToJson(fr.value, m, dictionary), line: describeFrame(fr.value, m, dictionary) };
  };

  it('renders a read-data reply with its dictionary item (vector 6)', () => {
    const { json, line } = render(6);
    expect(json).toEqual({
      ok: true,
      edition: '2007',
      preamble: 0,
      address: '123456789012',
      addressKind: 'unicast',
      control: { raw: '91', isResponse: true, isAbnormal: false, hasFollowUp: false, functionCode: '11', functionName: 'readData' },
      length: 8,
      data: '00 00 01 00 56 34 12 00',
      checksum: '54',
      message: { kind: 'readDataResponse', di: '00010000', payload: '56 34 12 00', hasFollowUp: false },
      item: { di: '00010000', name: 'forward active total energy', format: 'XXXXXX.XX', unit: 'kWh', value: 1234.56 },
    });
    expect(line).toBe('91 readDataResponse 123456789012 DI 00010000 forward active total energy = 1234.56 kWh');
    expect(JSON.parse(JSON.stringify(json))).toEqual(json);
  });
  it('flags the trailing-byte quirk (vectors 46, 47, 50, 51)', () => {
    expect(render(46).json.item).toEqual({
      di: '00010000',
      name: 'forward active total energy',
      format: 'XXXXXX.XX',
      unit: 'kWh',
      value: 26.37,
      trailing: '01',
      quirk: 'trailing-bytes',
    });
    expect(render(47).json.item).toMatchObject({ value: 0.12, trailing: '01', quirk: 'trailing-bytes' });
    expect(render(50).json).toMatchObject({ edition: '1997', item: { di: '9010', value: 1343.89, trailing: '01', quirk: 'trailing-bytes' } });
    expect(render(51).json.item).toMatchObject({ di: 'C032', value: '271842003997', trailing: '03', quirk: 'trailing-bytes' });
    expect(render(50).line).toBe('81 readDataResponse1997 351253111111 DI 9010 forward active total energy = 1343.89 kWh (+trailing 01)');
  });
  it('classifies addresses and renders requests, errors and time sync', () => {
    expect(render(4).json).toMatchObject({ addressKind: 'wildcard', message: { kind: 'readData', extra: '' }, item: { name: 'forward active total energy' } });
    expect(render(4).json.item).not.toHaveProperty('value');
    expect(render(42).json).toMatchObject({
      addressKind: 'broadcast',
      message: { kind: 'broadcastTimeSync', time: { year: 2017, month: 6, day: 5, hour: 10, minute: 22, second: 51 } },
    });
    expect(render(42).line).toBe('08 broadcastTimeSync 999999999999 (broadcast) 2017-06-05 10:22:51');
    expect(render(8).json.message).toEqual({ kind: 'errorResponse', functionCode: 0x11, errorWord: 2, errors: ['noRequestedData'] });
    expect(render(8).line).toBe('D1 errorResponse 123456789012 ERR 02 noRequestedData');
    expect(render(37).line).toBe('1C remoteControl 111111111111 N1 1A Trip valid until 2018-05-12 15:41:24');
  });
  it('keeps the frame fields and reports the message error for the negative vector (45)', () => {
    const { json, line } = render(45);
    expect(json).toMatchObject({
      ok: false,
      control: { raw: '17', functionName: 'changeBaud' },
      data: 'D5',
      error: { code: 'dlt645.baud-feature-word', offset: 10 },
    });
    expect(json).not.toHaveProperty('message');
    expect(line).toMatch(/^17 changeBaud 201901120001 invalid dlt645\.baud-feature-word at 10: /);
  });
  it('renders a frame error', () => {
    const fr = decodeFrame(hex('68 12 90 78 56 34 12 68 94 00 1B 16'));
    expect(fr.ok).toBe(false);
    if (fr.ok) return;
    expect(errorToJson(fr.error)).toEqual({ ok: false, error: { code: 'dlt645.checksum', message: 'checksum mismatch: expected 1AH, found 1BH', offset: 10 } });
  });
  it('renders without a dictionary', () => {
    const fr = decodeFrame(hex(VECTORS[6]!.hex));
    if (!fr.ok) throw new Error(fr.error.message);
    const m = decodeMessage(fr.value.frame);
    expect(frameToJson(fr.value, m)).not.toHaveProperty('item');
    expect(describeFrame(fr.value, m)).toBe('91 readDataResponse 123456789012 DI 00010000 payload 56 34 12 00');
  });
});

describe('one-line and JSON decode of follow-up parts', () => {
  it('names a B1/B2/92 part with its byte count instead of decoding it as the whole item', async () => {
    const { decode, describeFrame, frameToJson } = await import('./index.ts');
    const { DICTIONARY } = await import('./dictionary.ts');
    // B1 from captures/dlt645/reference-reading-session.jsonl: first part of DI 0506FF01 (daily
    // freeze block): data −33H = DI 01 FF 06 05 | freeze time 00 00 00 00 00 (5 bytes).
    const framed = Uint8Array.from([0xfe, 0xfe, 0xfe, 0xfe, 0x68, 0x12, 0x90, 0x78, 0x56, 0x34, 0x12, 0x68, 0xb1, 0x09, 0x34, 0x32, 0x39, 0x38, 0x33, 0x33, 0x33, 0x33, 0x33, 0x16, 0x16]);
    const r = decode(framed);
    expect(r.ok).toBe(true);
    if (!r.ok) return;
    const decoded = { frame: r.value.frame, start: r.value.start, end: r.value.end, raw: r.value.raw };
    const message = { ok: true as const, value: r.value.message };
    expect(describeFrame(decoded, message, DICTIONARY)).toMatch(/^B1 readDataResponse 123456789012 DI 0506FF01 .*\(part of a follow-up read: 5 bytes\) \(more follows\)$/);
    expect(frameToJson(decoded, message, DICTIONARY)).toMatchObject({ item: { di: '0506FF01', partBytes: 5 } });
    expect(JSON.stringify(frameToJson(decoded, message, DICTIONARY))).not.toContain('"error"');
  });
});
