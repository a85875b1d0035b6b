import { describe, expect, it } from 'vitest';
import { fromCalendar } from '../../harness/core/calendar.ts';
import { VirtualClock } from '../../harness/core/clock.ts';
import {
  decodeApplication,
  decodeSingleFrame,
  encodeFrame,
  encodeReqUd2,
  encodeSelection,
  encodeSndNke,
  makeControl,
  manufacturerValue,
  type MbusApplication,
  type MbusFrame,
} from '../../harness/protocols/mbus/index.ts';
import { MbusHeatSlave } from './mbus-slave.ts';
import { HeatMeterModel } from './model.ts';

const T0 = fromCalendar({ year: 2025, month: 12, day: 20, hour: 0, minute: 0, second: 0 });
const DAY = 86_400_000;
const KAM = manufacturerValue('KAM');

function frameOf(bytes: Uint8Array): MbusFrame {
  const d = decodeSingleFrame(bytes);
  if (!d.ok) throw new Error(d.error.message);
  return d.value.frame;
}

function appOf(bytes: Uint8Array): Extract<MbusApplication, { kind: 'variableData' }> {
  const f = frameOf(bytes);
  if (f.type !== 'long') throw new Error(`not a long frame: ${f.type}`);
  const a = decodeApplication(f);
  if (!a.ok || a.value.kind !== 'variableData') throw new Error('not variable data');
  return a.value;
}

function slave(options: Partial<ConstructorParameters<typeof MbusHeatSlave>[0]> = {}, id = '12345678') {
  const clock = new VirtualClock({ start: T0, autoAdvance: false });
  const model = new HeatMeterModel({ clock, seed: 4, heating: { uaKwPerK: 0.12 } });
  return { clock, model, s: new MbusHeatSlave({ model, primaryAddress: 7, identity: { id, manufacturer: KAM, version: 1 }, ...options }) };
}

/** Quantity, storage and scaled value of each data record. */
function values(app: ReturnType<typeof appOf>): [string, number, number | null][] {
  return app.records.flatMap((r) => (r.kind === 'data' ? [[r.vib.entry?.quantity ?? '?', r.storageNumber, r.scaled] as [string, number, number | null]] : []));
}

describe('M-Bus heat meter slave', () => {
  it("answers SND_NKE with E5 and REQ_UD2 with the model's values in dictionary units", async () => {
    const { clock, model, s } = slave();
    await clock.advance(14 * DAY); // past 1 January: one monthly storage
    expect(s.handle(frameOf(encodeSndNke(7)))).toEqual(Uint8Array.of(0xe5));
    const app = appOf(s.handle(frameOf(encodeReqUd2(7, true)))!);
    const snap = model.snapshot();
    expect(app.header).toMatchObject({ id: '12345678', manufacturer: KAM, version: 1, medium: 4, accessNumber: 1 });
    const v = values(app);
    expect(v.find(([q, st]) => q === 'Energy' && st === 0)![2]).toBe(Math.floor(snap.energyKwh) * 1000); // Wh
    expect(v.find(([q, st]) => q === 'Volume' && st === 0)![2]).toBeCloseTo(Math.floor(snap.volumeM3 * 1000) / 1000, 9);
    expect(v.find(([q]) => q === 'Flow temperature')![2]).toBeCloseTo(Math.round(snap.flowC * 10) / 10, 9);
    expect(v.find(([q]) => q === 'Return temperature')![2]).toBeCloseTo(Math.round(snap.returnC * 10) / 10, 9);
    expect(v.find(([q, st]) => q === 'Energy' && st === 1)![2]).toBe(Math.floor(model.monthlyStorage()[0]!.energyKwh) * 1000);
  });

  it('repeats the last telegram when the FCB did not toggle, and sends a new one when it did', async () => {
    const { clock, s } = slave();
    await clock.advance(DAY);
    s.handle(frameOf(encodeSndNke(7)));
    const first = s.handle(frameOf(encodeReqUd2(7, true)))!;
    await clock.advance(3_600_000);
    const again = s.handle(frameOf(encodeReqUd2(7, true)))!;
    expect(again).toEqual(first);
    const next = s.handle(frameOf(encodeReqUd2(7, false)))!;
    expect(appOf(next).header).toMatchObject({ accessNumber: 2 });
    expect(next).not.toEqual(first);
  });

  it('a broken slave that ignores the FCB sends a new telegram on a repeat', async () => {
    const { clock, s } = slave();
    s.ignoreFcb = true;
    await clock.advance(DAY);
    const first = s.handle(frameOf(encodeReqUd2(7, true)))!;
    expect(appOf(s.handle(frameOf(encodeReqUd2(7, true)))!).header).toMatchObject({ accessNumber: 2 });
    expect(appOf(first).header).toMatchObject({ accessNumber: 1 });
  });

  it('splits a reading over telegrams with DIF 1F and starts over after SND_NKE', async () => {
    const { clock, s } = slave({ recordsPerTelegram: 4 });
    await clock.advance(14 * DAY);
    const total = s.records().length;
    const parts: number[] = [];
    let fcb = true;
    for (;;) {
      const app = appOf(s.handle(frameOf(encodeReqUd2(7, fcb)))!);
      fcb = !fcb;
      parts.push(app.records.filter((r) => r.kind === 'data').length);
      if (!app.moreRecordsFollow) break;
    }
    expect(parts.reduce((a, b) => a + b, 0)).toBe(total);
    expect(parts.every((n) => n <= 4)).toBe(true);
    expect(parts.length).toBeGreaterThan(1);
  });

  it('is selected by its secondary address (with wildcards) and then answers at 253; a mismatch deselects it', () => {
    const { s } = slave();
    const read253 = () => s.handle(frameOf(encodeFrame({ type: 'short', control: makeControl({ function: 'REQ_UD2', fcb: true }), address: 0xfd })));
    expect(read253()).toBeNull();
    expect(s.handle(frameOf(encodeSelection({ id: '1234FFFF', manufacturer: 0xffff, version: 0xff, medium: 0xff })))).toEqual(Uint8Array.of(0xe5));
    expect(appOf(read253()!).header).toMatchObject({ id: '12345678' });
    expect(s.handle(frameOf(encodeSelection({ id: '99999999', manufacturer: 0xffff, version: 0xff, medium: 0xff })))).toBeNull();
    expect(read253()).toBeNull();
  });

  it('stays silent for another address, broadcast 255 and a selection it ignores (broken variant)', () => {
    const { s } = slave();
    expect(s.handle(frameOf(encodeReqUd2(8, true)))).toBeNull();
    expect(s.handle(frameOf(encodeSndNke(0xff)))).toBeNull();
    expect(s.handle(frameOf(encodeSndNke(0xfe)))).toEqual(Uint8Array.of(0xe5));
    s.ignoreSelection = true;
    expect(s.handle(frameOf(encodeSelection({ id: '12345678', manufacturer: KAM, version: 1, medium: 4 })))).toBeNull();
  });

  it('broken variant: wildcard selections ignored, the full address still selects', () => {
    const { s } = slave();
    s.ignoreWildcardSelection = true;
    expect(s.handle(frameOf(encodeSelection({ id: '1234FFFF', manufacturer: 0xffff, version: 0xff, medium: 0xff })))).toBeNull();
    expect(s.isSelected).toBe(false);
    expect(s.handle(frameOf(encodeSelection({ id: '12345678', manufacturer: KAM, version: 1, medium: 4 })))).toEqual(Uint8Array.of(0xe5));
    expect(s.isSelected).toBe(true);
  });

  it('broken variant: SND_NKE that keeps the FCB state repeats the old telegram on the first read after it', async () => {
    const { clock, s } = slave();
    await clock.advance(DAY);
    s.handle(frameOf(encodeSndNke(7)));
    const first = s.handle(frameOf(encodeReqUd2(7, true)))!;
    s.handle(frameOf(encodeSndNke(7)));
    // A conforming slave sends a new telegram here (the reset forgot the FCB): see the FCB test above.
    expect(appOf(s.handle(frameOf(encodeReqUd2(7, true)))!).header).toMatchObject({ accessNumber: 2 });
    s.nkeKeepsFcb = true;
    const second = s.handle(frameOf(encodeReqUd2(7, false)))!;
    s.handle(frameOf(encodeSndNke(7)));
    expect(s.handle(frameOf(encodeReqUd2(7, false)))).toEqual(second);
    expect(first).not.toEqual(second);
  });

  it('broken variant: wrong VIF scaling moves the exponent of one quantity, the number unchanged', async () => {
    const { clock, s } = slave();
    await clock.advance(45 * DAY);
    const right = values(appOf(s.handle(frameOf(encodeReqUd2(7, true)))!));
    s.vifScaling = { quantity: 'energy', decades: -1 };
    const wrong = values(appOf(s.handle(frameOf(encodeReqUd2(7, false)))!));
    const energy = (v: typeof right, st: number) => v.find(([q, n]) => q === 'Energy' && n === st)![2]!;
    expect(energy(right, 0)).toBeGreaterThan(0);
    expect(energy(wrong, 0)).toBe(energy(right, 0) / 10);
    expect(energy(wrong, 1)).toBe(energy(right, 1) / 10);
    // Other quantities keep their VIF.
    expect(wrong.find(([q]) => q === 'Volume')![2]).toBe(right.find(([q]) => q === 'Volume')![2]);
    // Only the current value's record: the stored ones keep the right VIF.
    s.vifScaling = { quantity: 'energy', decades: -1, currentOnly: true };
    const current = values(appOf(s.handle(frameOf(encodeReqUd2(7, true)))!));
    expect(energy(current, 0)).toBe(energy(right, 0) / 10);
    expect(energy(current, 1)).toBe(energy(right, 1));
  });

  it("broken variant: one record's storage number wrong", async () => {
    const { clock, s } = slave();
    await clock.advance(45 * DAY); // two monthly storages
    s.storageNumberFault = { storage: 1, sentAs: 2 };
    const v = values(appOf(s.handle(frameOf(encodeReqUd2(7, true)))!));
    expect(v.filter(([q, st]) => q === 'Energy' && st === 1)).toEqual([]);
    expect(v.filter(([q, st]) => q === 'Energy' && st === 2)).toHaveLength(2);
    expect(v.filter(([q, st]) => q === 'Volume' && st === 1)).toHaveLength(1);
  });
});
