import { describe, expect, it } from 'vitest';
import { fromCalendar } from '../../harness/core/calendar.ts';
import { VirtualClock } from '../../harness/core/clock.ts';
import { DIALECTS, decode, encodeMessage, valveControl, type Cjt188Dialect, type Cjt188Message } from '../../harness/protocols/cjt188/index.ts';
import { Cjt188FlowMeterResponder } from './cjt188-responder.ts';
import { FlowMeterModel } from './model.ts';

const T0 = fromCalendar({ year: 2026, month: 3, day: 1, hour: 0, minute: 0, second: 0 });
const DAY = 86_400_000;
const ADDRESS = '00000012345678';
const WILDCARD = 'AAAAAAAAAAAAAA';

function rig(dialect: Cjt188Dialect = DIALECTS.standard) {
  const clock = new VirtualClock({ start: T0, autoAdvance: false });
  const model = new FlowMeterModel({ clock, kind: 'cold-water', seed: 2, consumption: { dailyLitres: { min: 400, max: 400 }, emptyDayProbability: 0 }, settlementDay: 2, valve: { motorMs: 5000 } });
  const meter = new Cjt188FlowMeterResponder({ model, address: ADDRESS, dialect, settlementDay: 2 });
  /** Sends a request and decodes the reply (null for silence). */
  const ask = (message: Cjt188Message, address = ADDRESS, meterType = 0x10): Cjt188Message | null => {
    const req = decode(encodeMessage(meterType, address, message, { dialect, preamble: 2 }), 0, dialect);
    if (!req.ok) throw new Error(req.error.message);
    const out = meter.handle(req.value);
    if (out === null) return null;
    const rep = decode(out, 0, dialect);
    if (!rep.ok) throw new Error(rep.error.message);
    expect(rep.value.frame.address).toBe(ADDRESS);
    return rep.value.message;
  };
  return { clock, model, meter, ask };
}

const read = (di: string, ser = 1): Cjt188Message => ({ kind: 'readData', di, diOrder: 'standard', ser });

describe('CJ/T 188 water meter responder', () => {
  it('answers 901F with the register, the settlement-day volume, its clock and ST, echoing SER', async () => {
    const { clock, model, ask } = rig();
    await clock.advance(3 * DAY + 3_600_000);
    const r = ask(read('901F', 0x42));
    expect(r).toMatchObject({ kind: 'readDataResponse', di: '901F', ser: 0x42 });
    const v = (r as Extract<Cjt188Message, { kind: 'readDataResponse' }>).value as Record<string, any>;
    const s = model.snapshot();
    expect(v.currentFlow).toEqual({ value: s.cubicMetres, unit: 'm³', unitCode: 0x2c });
    expect(v.settlementFlow.value).toBe(Math.floor(model.settlementFreezes()[0]!.litres / 10) / 100);
    expect(v.time).toMatchObject({ year: 2026, month: 3, day: 4, hour: 1, minute: 0 });
    expect(v.status).toMatchObject({ valve: 'open', batteryLow: false });
  });

  it('reads the history month by month, the settlement day, and its address through the wildcard', async () => {
    const { clock, ask } = rig();
    await clock.advance(40 * DAY); // settlements on 03-02 and 04-02
    const h1 = ask(read('D120')) as Extract<Cjt188Message, { kind: 'readDataResponse' }>;
    const h2 = ask(read('D121')) as Extract<Cjt188Message, { kind: 'readDataResponse' }>;
    expect((h1.value.settlementFlow as { value: number }).value).toBeGreaterThan((h2.value.settlementFlow as { value: number }).value);
    expect((ask(read('8103')) as Extract<Cjt188Message, { kind: 'readDataResponse' }>).value).toEqual({ day: 2 });
    expect(ask({ kind: 'readAddress', di: '810A', diOrder: 'standard', ser: 3 }, WILDCARD, 0xaa)).toMatchObject({ kind: 'readAddressResponse' });
  });

  it('closes and opens its valve through A017 and reports it in ST after the motor time', async () => {
    const { clock, ask } = rig();
    expect(ask(valveControl('close', 5))).toMatchObject({ kind: 'valveControlResponse', ser: 5 });
    await clock.advance(5000);
    const closed = ask(read('901F')) as Extract<Cjt188Message, { kind: 'readDataResponse' }>;
    expect(closed.value.status).toMatchObject({ valve: 'closed' });
    ask(valveControl('open', 6));
    await clock.advance(5000);
    expect(((ask(read('901F')) as any).value.status as { valve: string }).valve).toBe('open');
  });

  it('a stuck valve reads abnormal; a broken meter that hides the valve state reads open', async () => {
    const { clock, model, meter, ask } = rig();
    model.valveStuck = true;
    ask(valveControl('close'));
    await clock.advance(6000);
    expect(((ask(read('901F')) as any).value.status as { valve: string }).valve).toBe('abnormal');
    meter.hideValveState = true;
    expect(((ask(read('901F')) as any).value.status as { valve: string }).valve).toBe('open');
  });

  it('answers in the vendor dialect: reversed DI order and valve function 2AH (Fox-Edge)', async () => {
    const { ask } = rig(DIALECTS.foxEdge);
    expect(ask(read('901F'))).toMatchObject({ kind: 'readDataResponse', diOrder: 'reversed' });
    expect(ask(valveControl('close', 1, DIALECTS.foxEdge))).toMatchObject({ kind: 'valveControlResponse', functionCode: 0x2a });
  });

  it('stays silent for another address, another meter type, the wildcard on a data read, and an unknown DI gets an abnormal reply', () => {
    const { ask, model } = rig();
    expect(ask(read('901F'), '00000012345679')).toBeNull();
    expect(ask(read('901F'), ADDRESS, 0x30)).toBeNull();
    expect(ask(read('901F'), WILDCARD)).toBeNull();
    expect(ask(read('8106'))).toMatchObject({ kind: 'abnormalResponse' }); // 8106 is read with 09H, not 01H
    // Each answered request cost a wake-up.
    expect(model.snapshot().batteryShare).toBeLessThan(1);
  });

  it('answers the reading day, price table and purchase amount; volumes in litres when told; the wrong-unit hook changes only the unit byte', async () => {
    const { ask, meter, clock } = rig();
    const value = (m: Cjt188Message | null) => (m as Extract<Cjt188Message, { kind: 'readDataResponse' }>).value as Record<string, any>;
    expect(value(ask(read('8104')))).toEqual({ day: 1 });
    expect(value(ask(read('8102')))).toEqual({ priceTable: '00 50 03 00' }); // 3.5000 yuan per m³, 4 BCD, least significant first
    expect(value(ask(read('8105')))).toEqual({ purchase: '00 00 00 00' });
    await clock.advance(DAY);
    const m3 = value(ask(read('901F'))).currentFlow;
    meter.unitCodeOverride = 0x29;
    expect(value(ask(read('901F'))).currentFlow).toEqual({ ...m3, unit: 'L', unitCode: 0x29 });
    const clock2 = new VirtualClock({ start: T0, autoAdvance: false });
    const model2 = new FlowMeterModel({ clock: clock2, kind: 'cold-water', seed: 2, consumption: { dailyLitres: { min: 400, max: 400 }, emptyDayProbability: 0 } });
    const litres = new Cjt188FlowMeterResponder({ model: model2, address: ADDRESS, volumeUnit: 'L' });
    await clock2.advance(DAY);
    const req = decode(encodeMessage(0x10, ADDRESS, read('901F')), 0);
    const rep = decode(litres.handle(req.ok ? req.value : (undefined as never))!, 0);
    const q = rep.ok && rep.value.message.kind === 'readDataResponse' ? (rep.value.message.value.currentFlow as { value: number; unitCode: number }) : null;
    expect(q).toEqual({ value: Math.floor(model2.snapshot().litres / 10) * 10, unit: 'L', unitCode: 0x29 });
  });
});
