/**
 * The appendix A families completed for issue 6: every family is known, decodes a sample payload
 * (hand-built below, bytes commented) and is named by describeValue; the default unsupported
 * identifier is one no family covers.
 */
import { describe, expect, it } from 'vitest';
import { hex, toHex } from '../../core/bytes.ts';
import type { DataValue } from './dictionary-types.ts';
import { UNDEFINED_IDENTIFIER, dataItems, decodeValue, describeValue, encodeValue, lookup, valueLayout } from './dictionary.ts';

function decoded(di: string, payloadHex: string): DataValue {
  const r = decodeValue(di, hex(payloadHex));
  if (!r.ok) throw new Error(`${di} ${payloadHex}: ${r.error.code} ${r.error.message}`);
  // every sample re-encodes to its own bytes
  expect(toHex(encodeValue(di, r.value)), di).toBe(toHex(hex(payloadHex)));
  return r.value;
}

const rep = (part: string, n: number): string => Array.from({ length: n }, () => part).join(' ');

// Building blocks (wire order, −33H removed)
const START = '00 00 12 01 01 24'; // ss mm hh DD MM YY → 2024-01-01 12:00:00
const END = '00 30 12 01 01 24'; // 2024-01-01 12:30:00
const KWH1 = '00 01 00 00'; // XXXXXX.XX → 1.00
const PHASE_VALUES = '00 22  00 05 00  00 11 00  00 00 00  00 10'; // 220.0 V, 0.500 A, 0.1100 kW, 0 kvar, PF 1.000
const OPERATOR = '04 03 02 01'; // C0..C3 → "01020304"
const DEMAND = '34 12 00  00 15 12 03 24'; // 0.1234, 2024-03-12 15:00

describe('table A.4: event records', () => {
  it('03010000 is the loss-of-voltage counts and durations of phases A, B, C (the identifier behind issue 6)', () => {
    // A: 5 times 120 min | B: 0, 0 | C: 1 time 3 min
    const v = decoded('03010000', '05 00 00  20 01 00  00 00 00  00 00 00  01 00 00  03 00 00');
    expect(v).toEqual({ phaseACount: 5, phaseADuration: 120, phaseBCount: 0, phaseBDuration: 0, phaseCCount: 1, phaseCDuration: 3 });
    expect(describeValue('03010000', v)).toMatch(/^loss-of-voltage counts and total durations \(phases A, B, C\) = \{phaseACount 5, phaseADuration 120 min/);
    expect(lookup('03010000')).toMatchObject({ length: 18, access: 'read', category: 'event' });
  });

  it('decodes a loss-of-voltage record field by field (131 bytes) and the current-event records (115)', () => {
    const phase = `${rep(KWH1, 4)}  ${PHASE_VALUES}`;
    const payload = `${START}  ${END}  ${rep(KWH1, 4)}  ${phase}  ${phase}  ${phase}  ${rep(KWH1, 4)}`;
    expect(hex(payload).length).toBe(131);
    const v = decoded('03010101', payload) as Record<string, DataValue>;
    expect(v.start).toEqual({ year: 2024, month: 1, day: 1, hour: 12, minute: 0, second: 0 });
    expect(v.end).toEqual({ year: 2024, month: 1, day: 1, hour: 12, minute: 30, second: 0 });
    expect(v).toMatchObject({ totalForwardActiveIncrease: 1, phaseAVoltage: 220, phaseACurrent: 0.5, phaseBActivePower: 0.11, phaseCPowerFactor: 1, phaseCAmpereHours: 1 });
    expect(describeValue('03010101', v)).toMatch(/^phase A loss-of-voltage record, last 1st = \{start 2024-01-01 12:00:00/);
    for (const di of ['03020201', '0303030A', '0304010A']) expect(lookup(di)?.length, di).toBe(131);
    // loss of current, over-current, interruption: the same without the four ampere-hour values
    const current = decoded('030B0101', payload.slice(0, payload.length - `  ${rep(KWH1, 4)}`.length)) as Record<string, DataValue>;
    expect(current).toMatchObject({ phaseCVoltage: 220 });
    expect(current).not.toHaveProperty('totalAmpereHours');
    for (const di of ['030C0201', '030D0301']) expect(lookup(di)?.length, di).toBe(115);
  });

  it('decodes the whole-meter events 0305..030A and their count + duration', () => {
    expect(decoded('03050000', '02 00 00  45 00 00')).toEqual({ count: 2, duration: 45 });
    // all loss of voltage: start | current 1.000 A | end
    expect(decoded('03050001', `${START}  00 10 00  ${END}`)).toMatchObject({ current: 1 });
    expect(decoded('03060001', `${START}  ${END}`)).toMatchObject({ end: { minute: 30 } });
    // reverse phase sequence: start, end, 16 energy increases
    expect(decoded('03070001', `${START}  ${END}  ${rep(KWH1, 16)}`)).toMatchObject({ phaseCCombinedReactive2Increase: 1 });
    expect(lookup('0308000A')?.length).toBe(76);
    // unbalance: start, end, maximum unbalance rate 12.50 %, 16 increases
    expect(decoded('03090001', `${START}  ${END}  50 12  ${rep(KWH1, 16)}`)).toMatchObject({ maximumUnbalanceRate: 12.5 });
    expect(lookup('030A0001')?.length).toBe(78);
    // power reversal and overload: 76 bytes [BK]
    expect(decoded('030E0101', `${START}  ${END}  ${rep(KWH1, 16)}`)).toMatchObject({ totalForwardActiveIncrease: 1 });
    expect(lookup('030F0300')).toBeUndefined();
    expect(lookup('030F0000')?.length).toBe(18);
  });

  it('decodes voltage qualification statistics and demand over-limit records', () => {
    // monitoring 1440 min | qualified 99.50 % | out of limit 0.50 % | above 7 min | below 0 | extremes
    const v = decoded('03100000', `40 14 00  50 99 00  50 00 00  07 00 00  00 00 00  ${rep('11', 12)}`);
    expect(v).toEqual({ monitoringTime: 1440, qualifiedRate: 99.5, outOfLimitRate: 0.5, aboveUpperLimitTime: 7, belowLowerLimitTime: 0, extremes: '111111111111111111111111' });
    expect(describeValue('0310030C', v)).toMatch(/^phase C voltage qualification statistics, last 12th month = /);
    expect(decoded('03120000', rep('01 00 00', 6))).toMatchObject({ forwardActiveCount: 1, quadrant4ReactiveCount: 1 });
    expect(decoded('03120101', `${START}  ${END}  ${DEMAND}`)).toMatchObject({ maximumDemand: 0.1234, maximumDemandTime: { year: 2024, month: 3, day: 12, hour: 15, minute: 0 } });
    expect(describeValue('0312060A', decoded('0312060A', `${START}  ${END}  ${DEMAND}`))).toMatch(/^quadrant IV reactive demand over-limit record, last 10th = .*maximumDemand 0\.1234 kvar/);
  });

  it('decodes the clear and programming records of 0330 DI1 01..0E', () => {
    expect(decoded('03300100', '03 00 00')).toBe(3);
    const clear = decoded('03300101', `${START}  ${OPERATOR}  ${rep(KWH1, 24)}`);
    expect(clear).toMatchObject({ operator: '01020304', totalForwardActiveEnergy: 1, phaseCQuadrant4ReactiveEnergy: 1 });
    expect(lookup('03300101')?.length).toBe(106);
    expect(decoded('03300201', `${START}  ${OPERATOR}  ${rep(DEMAND, 24)}`)).toMatchObject({ phaseBQuadrant2ReactiveDemand: 0.1234 });
    expect(lookup('03300201')?.length).toBe(202);
    // event clear: which events (FFFFFFFF = all)
    expect(decoded('03300301', `${START}  ${OPERATOR}  FF FF FF FF`)).toMatchObject({ identifier: 'FFFFFFFF' });
    expect(lookup('03300501')?.length).toBe(682);
    expect(lookup('03300601')?.length).toBe(94);
    expect(decoded('03300701', `${START}  ${OPERATOR}  02`)).toMatchObject({ dailyTableBefore: 2 });
    expect(decoded('03300901', `${START}  ${OPERATOR}  05`)).toMatchObject({ featureWordBefore: 5 });
    // settlement days before programming: day 1 00 h, day 15 12 h, day 28 23 h (DDhh, hh first)
    expect(decoded('03300C01', `${START}  ${OPERATOR}  00 01  12 15  23 28`)).toMatchObject({ settlementDay2Before: { day: 15, hour: 12 } });
    expect(decoded('03300E01', `${START}  ${END}  ${rep(KWH1, 12)}`)).toMatchObject({ forwardActiveEnergyAfter: 1 });
    // holiday programming: time + operator + the meter's holidays, any count [BK]
    expect(decoded('0330080A', `${START}  ${OPERATOR}  01 01 01 24  01 01 05 24`)).toBe(`000012010124 04030201 01010124 01010524`.replace(/ /g, ''));
    expect(describeValue('0330080A', '00')).toBe('holiday programming record, last 10th = 00 (1 bytes)');
  });
});

describe('tables A.1..A.3: the energies, demands and variables not in PROTOCOLS.md', () => {
  it('decodes apparent, per-phase and special energies', () => {
    expect(describeValue('00090000', decoded('00090000', '56 34 12 00'))).toBe('forward apparent total energy = 1234.56 kVAh');
    expect(decoded('000AFF0C', rep('01 00 00 00', 5))).toEqual([0.01, 0.01, 0.01, 0.01, 0.01]);
    expect(describeValue('00150000', decoded('00150000', KWH1))).toBe('phase A forward active energy = 1.00 kWh');
    expect(describeValue('0046000C', 2)).toBe('phase C reverse apparent energy, last 12th settlement = 2.00 kVAh');
    expect(describeValue('00C20000', 2)).toBe('phase C iron-loss active energy compensation = 2.00 kWh');
    expect(describeValue('00800001', 2)).toBe('associated total energy, last 1st settlement = 2.00 kWh');
    // phase B combined reactive 1 may be negative, like the total (sign bit [BK])
    expect(decoded('002B0000', '00 00 00 80')).toBe(-0);
  });

  it('decodes apparent and per-phase maximum demands', () => {
    expect(decoded('01090000', DEMAND)).toEqual({ demand: 0.1234, time: { year: 2024, month: 3, day: 12, hour: 15, minute: 0 } });
    expect(describeValue('011E0000', decoded('011E0000', DEMAND))).toBe('phase A reverse apparent maximum demand and time = {demand 0.1234 kVA, time 2024-03-12 15:00}');
    expect(lookup('010AFF00')?.length).toBe(40);
  });

  it('decodes phase angles, waveform distortion and harmonic contents', () => {
    expect(describeValue('02070100', decoded('02070100', '01 12'))).toBe('phase A phase angle = 120.1 °');
    expect(decoded('0208FF00', '50 02  00 01  FF FF')).toEqual([2.5, 1, 'absent']);
    expect(describeValue('020A0103', decoded('020A0103', '50 02'))).toBe('phase A voltage harmonic 3 content = 2.50 %');
    expect(lookup('020B03FF')).toMatchObject({ length: 42, members: expect.arrayContaining(['020B0301', '020B0315']) });
    expect(lookup('020A0116')).toBeUndefined(); // 21 harmonics
  });
});

describe('tables A.5..A.7: parameters, freezes, load records', () => {
  it('decodes the parameters', () => {
    expect(decoded('04000105', '80 00')).toBe(80);
    expect(decoded('040005FF', rep('00 00', 7))).toEqual([0, 0, 0, 0, 0, 0, 0]);
    expect(decoded('04000A01', '00 00 01 01')).toEqual({ month: 1, day: 1, hour: 0, minute: 0 });
    expect(describeValue('04000E03', decoded('04000E03', '00 26'))).toBe('voltage upper limit = 260.0 V');
    // ASCII fields are opaque bytes in wire order: "220V" as sent
    expect(decoded('04000407', '32 32 30 56')).toBe('32323056');
    expect(lookup('04000403')?.length).toBe(32);
    // tariff tables: the meter's configured zones or slots, 3..42 bytes
    expect(decoded('04010000', '01 01 01  01 06 02')).toBe('010101010602');
    expect(decodeValue('04010008', hex(rep('00', 43)))).toMatchObject({ ok: false, error: { code: 'dlt645.value-length', offset: 42 } });
    expect(lookup('040300FE')?.length).toBe(4);
    expect(decoded('040402FE', '00 00 01 00 01')).toBe('0000010001');
    expect(describeValue('0405023F', decoded('0405023F', '50 62 00 00'))).toBe('second set tariff 63 price = 0.6250 yuan/kWh');
    expect(lookup('04800003')?.length).toBe(32);
  });

  it('decodes the freeze items 03..10 and the freeze families 02..07', () => {
    expect(decoded('05000301', rep('01 00 00 00', 5))).toEqual([0.01, 0.01, 0.01, 0.01, 0.01]);
    expect(decoded('0506090E', rep(DEMAND, 2))).toHaveLength(2); // total + 1 tariff
    expect(lookup('05061001')?.length).toBe(24); // active and reactive powers, total and phases
    expect(describeValue('05020001', decoded('05020001', '00 00 09 10 15'))).toBe('time-zone table switch freeze time, last 1st time-zone table switch freeze = 2015-10-09 00:00');
    for (const di of ['05030002', '05050101', '0507FF02', '050400FE', '050401FE', '050402FE']) expect(lookup(di), di).toBeDefined();
    expect(lookup('05020003')).toBeUndefined(); // two switches kept
    expect(decoded('05040001', '00 00 09 10 15')).toMatchObject({ year: 2015 });
  });

  it('decodes load-record blocks as opaque bytes of any length', () => {
    const block = 'A0 A0 0A 00 00 01 01 24 AA AA AA AA AA 12 E5';
    expect(decoded('06000002', block)).toBe(block.replace(/ /g, ''));
    expect(describeValue('06060001', 'A0A0')).toBe('class 6 load record: record block at a given time = A0A0 (2 bytes)');
    expect(decodeValue('06000000', new Uint8Array(0))).toMatchObject({ ok: false, error: { code: 'dlt645.value-length', offset: 0 } });
    expect(lookup('06070000')).toBeUndefined();
  });
});

describe('every family of appendix A is known', () => {
  // One identifier per family (DI3 DI2 and, where it selects the layout, DI1).
  const FAMILIES = [
    // A.1 energy
    ...['00', '01', '02', '03', '04', '05', '06', '07', '08', '09', '0A'].map((k) => `00${k}FF00`),
    ...['80', '81', '82', '83', '84', '85', '86'].map((k) => `00${k}0000`),
    ...['15', '1E', '29', '32', '3D', '46', '94', '9A', 'A8', 'AE', 'BC', 'C2'].map((k) => `00${k}0000`),
    '00900200',
    // A.2 demand
    ...['01', '02', '03', '04', '05', '06', '07', '08', '09', '0A'].map((k) => `01${k}FF00`),
    ...['15', '1E', '29', '32', '3D', '46'].map((k) => `01${k}0000`),
    // A.3 variables
    ...['01', '02', '03', '04', '05', '06', '07', '08', '09'].map((k) => `02${k}FF00`),
    '020A01FF', '020B03FF', '02800001', '0280000B',
    // A.4 events
    ...['01', '02', '03', '04', '0B', '0C', '0D', '0E', '0F'].flatMap((k) => [`03${k}0000`, `03${k}0101`, `03${k}030A`]),
    ...['05', '06', '07', '08', '09', '0A', '11'].flatMap((k) => [`03${k}0000`, `03${k}0001`]),
    '03100000', '03120000', '03120601', '03320101', '03330601', '03350000',
    ...['00', '01', '02', '03', '04', '05', '06', '07', '08', '09', '0A', '0B', '0C', '0D', '0E'].flatMap((k) => [`0330${k}00`, `0330${k}01`]),
    '1D000001', '1D000101', '1E000001', '1E000101',
    // A.5 parameters
    '04000101', '04000105', '04000206', '04000305', '04000403', '0400040D', '040005FF', '04000603', '04000705', '04000802',
    '04000906', '04000A07', '04000B03', '04000C0A', '04000D0C', '04000E04', '04000F04', '04001005', '04001203', '04001401',
    '04010000', '04010008', '04020008', '040300FE', '040401FE', '040402FE', '0405013F', '0405023F', '04800003',
    // A.6 freezes
    ...['00', '01', '02', '03', '05', '06', '07'].flatMap((k) => ['00', '01', '02', '03', '08', '09', '0A', '10', 'FF'].map((d1) => `05${k}${d1}01`)),
    '05040001', '050401FE',
    // A.7 load records
    ...['00', '01', '02', '03', '04', '05', '06'].flatMap((k) => [`06${k}0000`, `06${k}0001`, `06${k}0002`]),
  ];

  it.each(FAMILIES)('%s is defined, named, and decodes its shortest valid payload', (di) => {
    const def = lookup(di);
    expect(def, di).toBeDefined();
    const layout = valueLayout(di)!;
    // A valid payload: zeros are valid BCD, dates decode as the empty record (month 0, day 0).
    const payload = new Uint8Array(layout.reduce((n, e) => Math.max(n, e.offset + e.spec.length), 0));
    const r = decodeValue(di, payload);
    expect(r.ok, `${di}: ${r.ok ? '' : r.error.message}`).toBe(true);
    if (r.ok) expect(describeValue(di, r.value).startsWith(`${def!.name} = `)).toBe(true);
  });
});

describe('the default unsupported identifier', () => {
  it('is one the standard does not define: no definition, and no family under its DI3', () => {
    expect(UNDEFINED_IDENTIFIER).toBe('0F0F0F0F');
    expect(lookup(UNDEFINED_IDENTIFIER)).toBeUndefined();
    expect(dataItems({ prefix: UNDEFINED_IDENTIFIER.slice(0, 2) })).toEqual([]);
    expect(decodeValue(UNDEFINED_IDENTIFIER, hex('00'))).toMatchObject({ ok: false, error: { code: 'dlt645.unknown-di' } });
    // The DI3 values the dictionary uses: appendix A (00..06) and the trip / close records.
    const di3 = new Set(dataItems({ edition: '2007' }).map((d) => d.di.slice(0, 2)));
    expect([...di3].sort()).toEqual(['00', '01', '02', '03', '04', '05', '06', '1D', '1E']);
  });
});
