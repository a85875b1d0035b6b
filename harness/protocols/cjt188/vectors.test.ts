/**
 * Every frame of fixtures/cjt188-vectors.json (a verbatim copy of shared/vectors/cjt188.json):
 * decoded and compared with its recorded fields and meaning, re-encoded to the same bytes, and
 * rendered.
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { hex, toHex } from '../../core/bytes.ts';
import { formatDateTime, type Cjt188Value, type HeatMeteringData, type MeteringData, type Quantity } from './dictionary.ts';
import { decodeFrame } from './frame.ts';
import { describeFrame, frameToJson } from './json.ts';
import { decodeMessage, encodeMessage } from './messages.ts';

interface Vector {
  readonly hex: string;
  readonly meaning: string;
  readonly fields: Readonly<Record<string, unknown>>;
}

const VECTORS: readonly Vector[] = JSON.parse(readFileSync(new URL('./fixtures/cjt188-vectors.json', import.meta.url), 'utf8')) as Vector[];
/** The fixture holds 23 frames (PROTOCOLS.md header); a silently empty or truncated copy must fail. */
const EXPECTED_VECTORS = 23;
const hex2 = (b: number): string => b.toString(16).toUpperCase().padStart(2, '0');
const q = (x: Quantity): string => `${x.value.toFixed(2).replace(/\.00$/, '')} ${String(x.unit).replace('³', '3')}`;

describe('fixtures/cjt188-vectors.json', () => {
  it(`decodes all ${EXPECTED_VECTORS} vectors to their recorded fields and meaning, and re-encodes them`, () => {
    expect(VECTORS).toHaveLength(EXPECTED_VECTORS);
    let meanings = 0;
    VECTORS.forEach((v, index) => {
      const label = `vector ${index}: ${v.meaning}`;
      const f = v.fields;
      const bytes = hex(v.hex);
      const fr = decodeFrame(bytes);
      if (!fr.ok) throw new Error(`${label}: ${fr.error.code} at ${fr.error.offset}`);
      const { frame } = fr.value;
      expect(fr.value.end, label).toBe(bytes.length);
      expect(frame.preamble, label).toBe(f.preamble_FE_count);
      expect(hex2(frame.meterType), label).toBe(f.meter_type);
      expect(frame.address, label).toBe(f.address);
      expect(toHex(bytes.subarray(frame.preamble + 2, frame.preamble + 9)), label).toBe(f.address_wire);
      expect(hex2(frame.control.raw), label).toBe(f.control);
      expect(frame.control.isResponse, label).toBe(f.ctrl_dir_response);
      expect(frame.control.isAbnormal, label).toBe(f.ctrl_abnormal);
      expect(frame.data.length, label).toBe(f.length);
      expect(hex2(frame.checksum), label).toBe(f.cs);
      expect(toHex(frame.data.subarray(0, 2)), label).toBe(f.DI_wire);
      expect(hex2(frame.data[2]!), label).toBe(f.SER);
      expect(toHex(frame.data.subarray(3)), label).toBe(f.payload);

      const m = decodeMessage(frame);
      if (!m.ok) throw new Error(`${label}: ${m.error.code} at ${m.error.offset}: ${m.error.message}`);
      const msg = m.value;
      // DI: the recorded DI1DI0 reading of the wire bytes; a big-endian quirk is read the other way round.
      const quirk = String(f.quirk ?? '').includes('big-endian') || ['81 0A', 'A0 18', 'A0 17'].includes(String(f.DI_wire));
      expect(msg.diOrder, label).toBe(quirk ? 'reversed' : 'standard');
      expect(msg.di, label).toBe(quirk ? String(f.DI_wire).replace(' ', '') : f.DI_as_DI1DI0);
      expect(msg.ser, label).toBe(parseInt(String(f.SER), 16));

      // The recorded meaning
      if (msg.kind === 'readDataResponse' && msg.di === '901F') {
        const value: Cjt188Value = msg.value;
        if ('currentFlow' in value) {
          const d = value as unknown as MeteringData;
          if (f.current_flow !== undefined) expect(q(d.currentFlow), label).toBe(String(f.current_flow).replace(/\.00 /, ' '));
          if (f.settle_flow !== undefined) expect(q(d.settlementFlow), label).toBe(String(f.settle_flow).replace(/\.00 /, ' '));
          if (f.real_time !== undefined) expect(formatDateTime(d.time), label).toBe(f.real_time);
          if (f.ST !== undefined) expect(d.status.raw, label).toBe(f.ST);
          expect(d.currentFlow.unit, label).toBe('m³');
        } else {
          const d = value as unknown as HeatMeteringData;
          expect(q(d.settlementHeat), label).toBe(f.settle_heat);
          expect(q(d.currentHeat), label).toBe(f.current_heat);
          expect(q(d.heatPower), label).toBe(f.power);
          expect(q(d.flowRate), label).toBe(f.flow_rate);
          expect(q(d.cumulativeFlow), label).toBe(f.cumulative_flow);
          expect(d.supplyTemperature, label).toBe(f.supply_temp_C);
          expect(d.returnTemperature, label).toBe(f.return_temp_C);
          expect(d.workingHours, label).toBe(f.working_hours);
          expect(formatDateTime(d.time), label).toBe(f.real_time);
          expect(d.status.raw, label).toBe(f.ST);
        }
        meanings++;
      }
      if (msg.kind === 'valveControl') {
        expect(msg.command, label).toBe(parseInt(String(f.payload), 16));
        expect(msg.functionCode, label).toBe(parseInt(String(f.control), 16) & 0x3f);
        if (f.valve_cmd !== undefined) expect(`${hex2(msg.command)} ${msg.commandName!}`, label).toBe(f.valve_cmd);
        meanings++;
      }
      if (msg.kind === 'valveControlResponse') {
        expect(msg.status?.raw, label).toBe(f.payload);
        meanings++;
      }
      if (msg.kind === 'writeAddress') {
        expect(msg.newAddress, label).toBe(toHex(hex(String(f.payload)).reverse(), ''));
        meanings++;
      }
      if (msg.kind === 'writeSyncData') {
        // "value 78 56 34 12 -> 123456.78 with unit byte 00"
        expect(msg.value, label).toEqual({ baseReading: { value: 123456.78, unit: null, unitCode: 0 } });
        meanings++;
      }

      // Round trip: the same bytes, same FE count, same DI order
      expect(toHex(encodeMessage(frame.meterType, frame.address, msg, { preamble: frame.preamble })), label).toBe(toHex(bytes));
    });
    // 901F replies 0, 3, 4, 22; valve 9-14; write address 7, 15; motor sync 16.
    expect(meanings).toBe(4 + 6 + 2 + 1);
  });
});

describe('JSON and one-line renderings of the vectors', () => {
  const render = (index: number): { json: ReturnType<typeof frameToJson>; line: string } => {
    const fr = decodeFrame(hex(VECTORS[index]!.hex));
    if (!fr.ok) throw new Error(fr.error.message);
    const m = decodeMessage(fr.value.frame);
    return { json: frameToJson(fr.value, m), line: describeFrame(fr.value, m) };
  };

  it('renders the standard example reply (vector 0) as JSON-clean data', () => {
    const { json, line } = render(0);
    expect(json).toEqual({
      ok: true,
      protocol: 'cjt188',
      preamble: 0,
      meterType: { raw: '10', name: 'coldWater', family: 'water' },
      address: '78330011223344',
      addressKind: 'unicast',
      control: { raw: '81', isResponse: true, isAbnormal: false, functionCode: '01', functionName: 'readData' },
      length: 22,
      data: '1F 90 00 00 77 66 55 2C 00 77 66 55 2C 31 01 22 11 05 15 20 21 84',
      checksum: '13',
      message: {
        kind: 'readDataResponse',
        di: '901F',
        diOrder: 'standard',
        ser: 0,
        value: {
          currentFlow: { value: 556677, unit: 'm³', unitCode: 0x2c },
          settlementFlow: { value: 556677, unit: 'm³', unitCode: 0x2c },
          time: { year: 2015, month: 5, day: 11, hour: 22, minute: 1, second: 31 },
          status: { raw: '21 84', valve: 'closed', batteryLow: false, layout: 'standard' },
        },
      },
      item: { di: '901F', name: 'metering data', nameZh: '计量数据', direction: 'read' },
    });
    expect(JSON.parse(JSON.stringify(json))).toEqual(json);
    expect(line).toBe(
      '81 readDataResponse 10 78330011223344 DI 901F SER 00 metering data = currentFlow 556677.00 m³, settlementFlow 556677.00 m³, time 2015-05-11 22:01:31, status valve closed, battery ok (21 84)',
    );
  });

  it('names the wildcard, the reversed DI order and the vendor valve code', () => {
    expect(render(5).json).toMatchObject({ addressKind: 'wildcard', meterType: { name: 'any' }, message: { kind: 'readAddress', di: '810A', diOrder: 'reversed' } });
    expect(render(9).line).toBe('2A valveControl 10 00000805000001 DI A017 (reversed) SER 00 valve control command 55 open');
    expect(render(22).json.meterType).toEqual({ raw: '25', name: 'custom', family: 'heat' });
  });
});
