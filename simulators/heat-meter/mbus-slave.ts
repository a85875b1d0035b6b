/**
 * The M-Bus slave of a heat meter (EN 13757-2 link layer, EN 13757-3 application layer; MBUS.md),
 * as pure protocol logic: `handle(frame)` takes a frame the master sent and returns the bytes to
 * answer, or null for silence. No I/O and no timer: a serve loop (a link, the scanner, the response
 * delay on the Clock) wraps it, so the same slave serves on a simulated segment, a pty or TCP.
 *
 * What it does:
 * - addressing: its primary address, 254 (broadcast with reply: every slave answers, the master
 *   sees a collision when there are several), 255 (broadcast, no reply), 253 (network layer) only
 *   while selected by its secondary address (SND_UD CI 52 with wildcards; a non-matching selection
 *   deselects it, as does SND_NKE to 253);
 * - SND_NKE: resets the link layer (FCB state, the multi-telegram position) and answers E5;
 * - REQ_UD2 with FCV: a toggled FCB gets the next telegram, the same FCB again gets the last
 *   telegram repeated (its reply was lost); without FCV a fresh telegram;
 * - REQ_UD1: E5 (no class 1 data);
 * - RSP_UD CI 72: the 12-byte header (identification, manufacturer, version, medium 04 heat,
 *   access number counting each new telegram, status) and the records, split over several
 *   telegrams with DIF 1F (more records follow) when `recordsPerTelegram` is smaller than the list.
 * Records use the dictionary's VIFs (harness/protocols/mbus/dictionary.ts `findVif`), never typed
 * codes: energy kWh, volume 0.001 m³, power W, flow 0.001 m³/h, flow and return temperature 0.1 °C,
 * operating time h, date and time, error flags (FD 17), then per monthly storage its date, energy
 * and volume with the storage number.
 */
import { toCalendar } from '../../harness/core/calendar.ts';
import {
  ADDRESS_BROADCAST_NO_REPLY,
  ADDRESS_BROADCAST_REPLY,
  ADDRESS_NETWORK_LAYER,
  CI,
  DATA_FIELD,
  SINGLE_CHARACTER,
  decodeApplication,
  encodeRecord,
  encodeVariableDataResponse,
  findVif,
  hasWildcard,
  powerOfTen,
  secondaryAddressMatches,
  vibBytesOf,
  type MbusFrame,
  type RecordSpec,
  type SecondaryAddress,
} from '../../harness/protocols/mbus/index.ts';
import type { HeatMeterModel } from './model.ts';

/** Medium 04: heat (outlet) (MBUS.md 7, EN 13757-3 table of media). */
export const MEDIUM_HEAT_OUTLET = 0x04;
/** DIF 1F: manufacturer data follow and more records follow in the next telegram (MBUS.md 8). */
const DIF_MORE_RECORDS_FOLLOW = 0x1f;

export interface MbusSlaveOptions {
  readonly model: HeatMeterModel;
  /** 1..250 (0: unconfigured). */
  readonly primaryAddress: number;
  /** 8 decimal digits of identification, manufacturer (e.g. 0x2C2D KAM), version. */
  readonly identity: Omit<SecondaryAddress, 'medium'> & { readonly medium?: number };
  /** Records per RSP_UD; more go to the next telegram (DIF 1F). Default: all in one. */
  readonly recordsPerTelegram?: number;
  /** Monthly storages sent (storage numbers 1..n). Default 2. */
  readonly storages?: number;
  /** UTC offset of the meter's clock, minutes. Default +480. */
  readonly utcOffsetMinutes?: number;
}

function vib(quantity: string, unit: string, scale: number): number[] {
  const e = findVif(quantity, unit, scale);
  if (!e) throw new Error(`the M-Bus dictionary has no VIF for ${quantity} in ${scale} ${unit}`);
  return vibBytesOf(e);
}

/** The scaled quantities this slave sends, by the name a broken variant (`vifScaling`) uses. */
export const HEAT_RECORD_VIFS = {
  energy: { quantity: 'Energy', unit: 'Wh', scale: 1000 },
  volume: { quantity: 'Volume', unit: 'm^3', scale: 0.001 },
  power: { quantity: 'Power', unit: 'W', scale: 1 },
  'volume-flow': { quantity: 'Volume flow', unit: 'm^3/h', scale: 0.001 },
  'flow-temperature': { quantity: 'Flow temperature', unit: '°C', scale: 0.1 },
  'return-temperature': { quantity: 'Return temperature', unit: '°C', scale: 0.1 },
} as const;
export type HeatRecordQuantity = keyof typeof HEAT_RECORD_VIFS;

/** The VIBs this slave uses, looked up once in the dictionary. */
const VIB = {
  energyKwh: vib('Energy', 'Wh', 1000),
  volumeL: vib('Volume', 'm^3', 0.001),
  powerW: vib('Power', 'W', 1),
  flowLh: vib('Volume flow', 'm^3/h', 0.001),
  flowTemp: vib('Flow temperature', '°C', 0.1),
  returnTemp: vib('Return temperature', '°C', 0.1),
  hours: vib('Operating time', 's', 3600),
  errorFlags: vib('Error flags', '', 1),
};

/**
 * The VIB of `q` with its decimal exponent moved by `decades` (the number sent unchanged): the
 * broken variant "wrong VIF scaling". Throws when the dictionary has no such VIF (a bad hook value).
 */
export function shiftedVib(q: HeatRecordQuantity, decades: number): number[] {
  const v = HEAT_RECORD_VIFS[q];
  return vib(v.quantity, v.unit, powerOfTen(Math.round(Math.log10(v.scale)) + decades));
}

const DATE_TIME_VIF = [0x6d];
const DATE_VIF = [0x6c];

/** Error flag bits (FD 17 is manufacturer-defined; MeterLab's layout, declared per profile later). */
export const ERROR_FLAG_BITS: Readonly<Record<string, number>> = { 'flow-sensor': 0x01, 'return-sensor': 0x02, 'flow-measurement': 0x04, 'low-battery': 0x08 };

export class MbusHeatSlave {
  readonly model: HeatMeterModel;
  primaryAddress: number;
  readonly identity: SecondaryAddress;
  private readonly perTelegram: number;
  private readonly storages: number;
  private readonly offsetMinutes: number;
  private selected = false;
  private lastFcb: boolean | null = null;
  private lastTelegram: Uint8Array | null = null;
  /** Records still to send in the following telegrams of a multi-telegram read. */
  private pending: Uint8Array[] = [];
  private accessNumber = 0;
  // Behaviour hooks for broken variants (the field defect each reproduces):
  /** FCB ignored: every REQ_UD2 gets a new telegram, so a reply lost on the line is never repeated. */
  ignoreFcb = false;
  /** Secondary addressing not implemented: no selection is acknowledged. */
  ignoreSelection = false;
  /** A selection with wildcards is ignored (only the full address selects): the secondary wildcard search never finds the meter. */
  ignoreWildcardSelection = false;
  /** SND_NKE acknowledged but the link state (FCB, last telegram) kept: the first REQ_UD2 after a reset may be taken for a retry and repeat an old telegram. */
  nkeKeepsFcb = false;
  /** Wrong VIF scaling: the records of one quantity (only the current value's with `currentOnly`) carry a VIF `decades` off the right one, the number unchanged. */
  vifScaling: { readonly quantity: HeatRecordQuantity; readonly decades: number; readonly currentOnly?: boolean } | null = null;
  /** A record's storage number wrong: the energy record of monthly storage `storage` is sent with storage number `sentAs`. */
  storageNumberFault: { readonly storage: number; readonly sentAs: number } | null = null;

  constructor(o: MbusSlaveOptions) {
    this.model = o.model;
    this.primaryAddress = o.primaryAddress;
    this.identity = { ...o.identity, medium: o.identity.medium ?? MEDIUM_HEAT_OUTLET };
    this.perTelegram = o.recordsPerTelegram ?? Number.POSITIVE_INFINITY;
    this.storages = o.storages ?? 2;
    this.offsetMinutes = o.utcOffsetMinutes ?? 480;
  }

  get isSelected(): boolean {
    return this.selected;
  }

  /** Is a frame to `address` for this slave? */
  private addressed(address: number): boolean {
    if (address === this.primaryAddress && address !== ADDRESS_NETWORK_LAYER) return true;
    if (address === ADDRESS_BROADCAST_REPLY || address === ADDRESS_BROADCAST_NO_REPLY) return true;
    return address === ADDRESS_NETWORK_LAYER && this.selected;
  }

  /** The reply to a master frame (bytes), or null for silence. */
  handle(frame: MbusFrame): Uint8Array | null {
    if (frame.type === 'ack') return null;
    const c = frame.control;
    if (!c.fromMaster) return null;
    const silent = frame.address === ADDRESS_BROADCAST_NO_REPLY;
    // Selection by secondary address: SND_UD CI 52 to 253, whatever the current selection.
    if (frame.type !== 'short' && frame.address === ADDRESS_NETWORK_LAYER && c.functionName === 'SND_UD' && frame.ci === CI.SELECTION) {
      const app = decodeApplication(frame);
      if (!app.ok || app.value.kind !== 'selection' || this.ignoreSelection) return null;
      if (this.ignoreWildcardSelection && hasWildcard(app.value.address)) return null;
      this.selected = secondaryAddressMatches(app.value.address, this.identity);
      return this.selected ? Uint8Array.of(SINGLE_CHARACTER) : null;
    }
    if (!this.addressed(frame.address)) return null;
    switch (c.functionName) {
      case 'SND_NKE':
        this.resetLink();
        if (frame.address === ADDRESS_NETWORK_LAYER) this.selected = false;
        return silent ? null : Uint8Array.of(SINGLE_CHARACTER);
      case 'REQ_UD1':
        return silent ? null : Uint8Array.of(SINGLE_CHARACTER);
      case 'REQ_UD2': {
        if (silent) return null;
        const repeat = c.fcv === true && !this.ignoreFcb && this.lastFcb === c.fcb && this.lastTelegram !== null;
        if (c.fcv) this.lastFcb = c.fcb ?? false;
        if (repeat) return this.lastTelegram;
        this.lastTelegram = this.nextTelegram(frame.address);
        return this.lastTelegram;
      }
      case 'SND_UD':
        // Data sends (CI 51) and application resets (CI 50) are acknowledged; their content is not modelled yet.
        if (frame.type !== 'short' && frame.ci === CI.APPLICATION_RESET) this.resetLink();
        return silent ? null : Uint8Array.of(SINGLE_CHARACTER);
      default:
        return null;
    }
  }

  private resetLink(): void {
    if (this.nkeKeepsFcb) return;
    this.lastFcb = null;
    this.lastTelegram = null;
    this.pending = [];
  }

  /** The next RSP_UD: the rest of a multi-telegram read, or a fresh reading from the model. */
  private nextTelegram(address: number): Uint8Array {
    if (this.pending.length === 0) this.pending = this.records();
    const part = this.pending.slice(0, this.perTelegram);
    this.pending = this.pending.slice(part.length);
    const records = this.pending.length > 0 ? [...part, Uint8Array.of(DIF_MORE_RECORDS_FOLLOW)] : part;
    this.accessNumber = (this.accessNumber + 1) & 0xff;
    const s = this.model.snapshot();
    return encodeVariableDataResponse({
      address: address === ADDRESS_NETWORK_LAYER || address === ADDRESS_BROADCAST_REPLY ? this.primaryAddress : address,
      header: { ...this.identity, accessNumber: this.accessNumber, status: s.errors.length > 0 ? 0x08 : 0x00 },
      records,
    });
  }

  /** Every record of a full reading, in order. */
  records(): Uint8Array[] {
    const s = this.model.snapshot();
    const c = toCalendar(s.at, this.offsetMinutes);
    let flags = 0;
    for (const e of s.errors) flags |= ERROR_FLAG_BITS[e] ?? 0;
    const v = (q: HeatRecordQuantity, right: number[], stored = false): number[] =>
      this.vifScaling?.quantity === q && this.vifScaling.decades !== 0 && !(stored && this.vifScaling.currentOnly) ? shiftedVib(q, this.vifScaling.decades) : right;
    const specs: RecordSpec[] = [
      { dataField: DATA_FIELD.BCD8, vib: v('energy', VIB.energyKwh), value: { type: 'bcd', value: Math.floor(s.energyKwh) } },
      { dataField: DATA_FIELD.BCD8, vib: v('volume', VIB.volumeL), value: { type: 'bcd', value: Math.floor(s.volumeM3 * 1000) } },
      { dataField: DATA_FIELD.BCD6, vib: v('power', VIB.powerW), value: { type: 'bcd', value: Math.round(s.powerKw * 1000) } },
      { dataField: DATA_FIELD.BCD6, vib: v('volume-flow', VIB.flowLh), value: { type: 'bcd', value: Math.round(s.flowM3h * 1000) } },
      { dataField: DATA_FIELD.BCD4, vib: v('flow-temperature', VIB.flowTemp), value: { type: 'bcd', value: Math.round(s.flowC * 10) } },
      { dataField: DATA_FIELD.BCD4, vib: v('return-temperature', VIB.returnTemp), value: { type: 'bcd', value: Math.round(s.returnC * 10) } },
      { dataField: DATA_FIELD.BCD6, vib: VIB.hours, value: { type: 'bcd', value: s.operatingHours } },
      { dataField: DATA_FIELD.INT32, vib: DATE_TIME_VIF, value: { type: 'dateTime', year: c.year, month: c.month, day: c.day, hour: c.hour, minute: c.minute } },
      { dataField: DATA_FIELD.INT8, vib: VIB.errorFlags, value: { type: 'integer', value: flags } },
    ];
    const fault = this.storageNumberFault;
    for (const st of this.model.monthlyStorage().slice(0, this.storages)) {
      const d = toCalendar(st.at, this.offsetMinutes);
      specs.push(
        { dataField: DATA_FIELD.INT16, storageNumber: st.storage, vib: DATE_VIF, value: { type: 'date', year: d.year, month: d.month, day: d.day } },
        { dataField: DATA_FIELD.BCD8, storageNumber: fault?.storage === st.storage ? fault.sentAs : st.storage, vib: v('energy', VIB.energyKwh, true), value: { type: 'bcd', value: Math.floor(st.energyKwh) } },
        { dataField: DATA_FIELD.BCD8, storageNumber: st.storage, vib: v('volume', VIB.volumeL, true), value: { type: 'bcd', value: Math.floor(st.volumeM3 * 1000) } },
      );
    }
    return specs.map(encodeRecord);
  }
}
