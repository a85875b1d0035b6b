/**
 * The electricity meter's load records (负荷记录, DL/T 645-2007 table A.7; block layout in
 * harness/protocols/dlt645/load-record.ts): one record at every interval boundary of the meter
 * clock, kept in a ring of `daysKept × 1440 / intervalMinutes` records, oldest overwritten.
 *
 * Memory (50,000 meters live in one process): a meter whose mode word is 0 holds nothing; the
 * store is made with the first record, one day's worth, and doubles up to the ring size. Records
 * are stored by column in one Int32Array: a section of scaled integers (exact for the BCD fields)
 * per quantity of the enabled classes, and a section only once a record holds a non-zero value in
 * it (a household that never exports keeps no reverse-energy section). The columns:
 *   time           meter minutes since the epoch
 *   power          classes 1, 2, 3: total active power × 10⁴ (kW, rounded to the field's
 *                  0.0001), MAINS_OFF when the mains were off. The rest of these classes (phase
 *                  voltages, currents, phase powers, reactive power, power factors, frequency) is
 *                  a function of that power and the load settings (values.ts `computeElectrical`,
 *                  the same the meter serves on 0201..0206 / 02800002): computed when read.
 *   class 4        forward, reverse active, combined reactive 1 (QI + QII), 2 (QIII + QIV) × 100
 *   class 5        quadrant I..IV reactive × 100
 *   class 6        active demand × 10⁴; reactive demand = active × tan φ, computed when read
 * Mode word 0B (classes 1, 2, 4), 15 min, 4 days, a household that imports only: 384 records × 4
 * columns (time, power, forward, combined reactive 1) × 4 B = 6.1 kB per meter (2 days: 3.1 kB),
 * in three objects (the store, its buffer, its column map).
 */
import { toCalendar } from '../../harness/core/calendar.ts';
import type { LoadRecordBlock } from '../../harness/protocols/dlt645/load-record.ts';
import { computeElectrical, roundTo, truncateTo } from './values.ts';

/** `simulation.loadRecord` of a profile (profile.ts). */
export interface LoadRecordSettings {
  /** Load-record mode word (04000901): bit c−1 enables class c (1..6). 0 = no load records. */
  readonly modeWord: number;
  /** Record interval, minutes (04000A02..07: every class the same). Divides 60. */
  readonly intervalMinutes: number;
  /** Days of records kept (the ring holds daysKept × 1440 / intervalMinutes). */
  readonly daysKept: number;
}

/** The energy registers a record reads (model.ts EnergyRegisters: per tariff, summed here). */
export interface LoadRecordRegisters {
  readonly forwardActive: readonly number[];
  readonly reverseActive: readonly number[];
  /** Quadrants I..IV. */
  readonly reactive: readonly (readonly number[])[];
}

type Load = Parameters<typeof computeElectrical>[0];

const MS_PER_MINUTE = 60_000;
const MINUTES_PER_DAY = 1440;
/** The power word of a record taken with the mains off (no voltage, no frequency). */
const MAINS_OFF = -0x80000000;
/** XXXXXX.XX rolls over at 999999.99 (as values.ts). */
const ENERGY_MAX = 1_000_000;
/** XX.XXXX signed fields: ±79.9999 (formats.ts: the top nibble keeps 3 bits under the sign). */
const POWER_MAX = 79.9999;
const DEMAND_MAX = 99.9999;

const energyWord = (kWh: number): number => Math.round(truncateTo(kWh % ENERGY_MAX, 2) * 100);

function total(tariffs: readonly number[]): number {
  let t = 0;
  for (let i = 0; i < tariffs.length; i++) t += tariffs[i]!;
  return t;
}

export class LoadRecordStore {
  readonly settings: LoadRecordSettings;
  private readonly load: Load;
  /** Column of each quantity, or -1 when its class is off (column 0 is the time). */
  private readonly powerAt: number;
  private readonly class4At: number;
  private readonly class5At: number;
  private readonly class6At: number;
  /** Section of `data` holding each column, −1 while every value in it is 0 (the time always has one). */
  private readonly sectionOf: Int8Array;
  private sections = 1;
  /** Column-major: section k is data[k × slots, (k + 1) × slots). */
  private data: Int32Array;
  /** Ring size in records. */
  readonly capacity: number;
  /** Records a section holds now (one day's worth, doubled up to `capacity`). */
  private slots: number;
  /** Index of the oldest record, and the number kept. */
  private head = 0;
  private size = 0;

  constructor(settings: LoadRecordSettings, load: Load) {
    this.settings = settings;
    this.load = load;
    const w = settings.modeWord;
    let n = 1; // time
    this.powerAt = w & 0b000111 ? n++ : -1;
    this.class4At = w & 0b001000 ? ((n += 4), n - 4) : -1;
    this.class5At = w & 0b010000 ? ((n += 4), n - 4) : -1;
    this.class6At = w & 0b100000 ? n++ : -1;
    this.capacity = (settings.daysKept * MINUTES_PER_DAY) / settings.intervalMinutes;
    this.slots = Math.min(this.capacity, MINUTES_PER_DAY / settings.intervalMinutes);
    this.sectionOf = new Int8Array(n).fill(-1);
    this.sectionOf[0] = 0;
    this.data = new Int32Array(this.slots);
  }

  /** Records kept. */
  get count(): number {
    return this.size;
  }

  /** Bytes of record storage held now (the column map adds one byte a column). */
  get bytes(): number {
    return this.data.byteLength;
  }

  /** Forgets every record (1AH meter clear): the value columns go, the time column stays. */
  clear(): void {
    this.head = 0;
    this.size = 0;
    this.sectionOf.fill(-1);
    this.sectionOf[0] = 0;
    this.sections = 1;
    this.data = new Int32Array(this.slots);
  }

  /**
   * Appends the record of meter instant `meterMs` (a boundary, whole minutes): the mains, the total
   * active power (kW, 0 with the relay open), the registers, and the demand of the last whole
   * period (kW). The oldest record goes once the ring is full.
   */
  add(meterMs: number, mainsOn: boolean, kW: number, e: LoadRecordRegisters, demandKW: number): void {
    if (this.size === this.slots && this.slots < this.capacity) this.grow(Math.min(this.capacity, this.slots * 2));
    let index: number;
    if (this.size < this.slots) {
      index = (this.head + this.size) % this.slots;
      this.size++;
    } else {
      index = this.head;
      this.head = (this.head + 1) % this.slots;
    }
    this.put(0, index, Math.round(meterMs / MS_PER_MINUTE));
    if (this.powerAt >= 0) this.put(this.powerAt, index, mainsOn ? Math.round(roundTo(kW, 4, POWER_MAX) * 1e4) : MAINS_OFF);
    const q = e.reactive;
    if (this.class4At >= 0) {
      const p = this.class4At;
      this.put(p, index, energyWord(total(e.forwardActive)));
      this.put(p + 1, index, energyWord(total(e.reverseActive)));
      this.put(p + 2, index, energyWord(total(q[0]!) + total(q[1]!)));
      this.put(p + 3, index, energyWord(total(q[2]!) + total(q[3]!)));
    }
    if (this.class5At >= 0) {
      for (let i = 0; i < 4; i++) this.put(this.class5At + i, index, energyWord(total(q[i]!)));
    }
    if (this.class6At >= 0) this.put(this.class6At, index, Math.round(truncateTo(Math.min(Math.max(0, demandKW), DEMAND_MAX), 4) * 1e4));
  }

  /** Writes one word; a column of zeros gets its section only with its first non-zero word. */
  private put(column: number, index: number, word: number): void {
    let k = this.sectionOf[column]!;
    if (k < 0) {
      if (word === 0) return;
      k = this.sections++;
      const next = new Int32Array(this.sections * this.slots);
      next.set(this.data);
      this.data = next;
      this.sectionOf[column] = k;
    }
    this.data[k * this.slots + index] = word;
  }

  /** The word of `column` in record slot `index` (0 for a column without a section). */
  private get(column: number, index: number): number {
    const k = this.sectionOf[column]!;
    return k < 0 ? 0 : this.data[k * this.slots + index]!;
  }

  /** Re-lays the ring oldest first into sections of `records` slots. */
  private grow(records: number): void {
    const next = new Int32Array(this.sections * records);
    for (let k = 0; k < this.sections; k++) {
      const from = k * this.slots;
      const to = k * records;
      for (let i = 0; i < this.size; i++) next[to + i] = this.data[from + ((this.head + i) % this.slots)]!;
    }
    this.data = next;
    this.head = 0;
    this.slots = records;
  }

  /**
   * The records whose time is at or after `fromMeterMs`, at most `count`, in the order they were
   * recorded (oldest first; after the meter clock was set back, a later record may carry an
   * earlier time).
   */
  blocks(fromMeterMs: number, count: number): LoadRecordBlock[] {
    const out: LoadRecordBlock[] = [];
    for (let i = 0; i < this.size && out.length < count; i++) {
      const index = (this.head + i) % this.slots;
      if (this.data[index]! * MS_PER_MINUTE >= fromMeterMs) out.push(this.block(index));
    }
    return out;
  }
  private block(index: number): LoadRecordBlock {
    const w = this.settings.modeWord;
    const word = (column: number): number => this.get(column, index);
    const c = toCalendar(word(0) * MS_PER_MINUTE);
    const block: { -readonly [K in keyof LoadRecordBlock]: LoadRecordBlock[K] } = {
      time: { year: c.year, month: c.month, day: c.day, hour: c.hour, minute: c.minute },
      valid: true,
    };
    if (this.powerAt >= 0) {
      const power = word(this.powerAt);
      const on = power !== MAINS_OFF;
      const e = computeElectrical(this.load, on, on ? power / 1e4 : 0);
      const num = (v: unknown): number => (typeof v === 'number' ? v : Number.NaN);
      if (w & 1) {
        block.voltageCurrentFrequency = {
          voltageV: [num(e.voltage[0]), num(e.voltage[1]), num(e.voltage[2])],
          currentA: [e.current[0]!, e.current[1]!, e.current[2]!],
          frequencyHz: on ? roundTo(this.load.frequencyHz, 2, 99.99) : 0,
        };
      }
      if (w & 2) {
        const p = e.activeKW;
        const q = e.reactiveKvar;
        block.power = { activeKw: [p[0]!, p[1]!, p[2]!, p[3]!], reactiveKvar: [q[0]!, q[1]!, q[2]!, q[3]!] };
      }
      if (w & 4) block.powerFactor = [e.powerFactor[0]!, e.powerFactor[1]!, e.powerFactor[2]!, e.powerFactor[3]!];
    }
    if (this.class4At >= 0) {
      const p = this.class4At;
      block.energy = {
        forwardActiveKwh: word(p) / 100,
        reverseActiveKwh: word(p + 1) / 100,
        combinedReactive1Kvarh: word(p + 2) / 100,
        combinedReactive2Kvarh: word(p + 3) / 100,
      };
    }
    if (this.class5At >= 0) {
      const p = this.class5At;
      block.quadrantReactiveKvarh = [word(p) / 100, word(p + 1) / 100, word(p + 2) / 100, word(p + 3) / 100];
    }
    if (this.class6At >= 0) {
      const kW = word(this.class6At) / 1e4;
      const tanPhi = Math.tan(Math.acos(this.load.powerFactor));
      block.demand = { activeKw: kW, reactiveKvar: truncateTo(Math.min(kW * tanPhi, DEMAND_MAX), 4) };
    }
    return block;
  }
}
