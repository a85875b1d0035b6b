/**
 * The DL/T 645 data dictionary: one definition per data identifier (DI) with name, format,
 * length, unit, access and category, and the value codecs built from them. The codec's JSON
 * rendering, the meter simulator, the suites and the reports all read this table; nobody re-types
 * it. Section numbers refer to ../shared/protocols/PROTOCOLS.md.
 *
 * Shapes of decoded values (DataValue):
 * - a single value: number (scaled decimal, count, binary word), digit string (address), hex
 *   string (password, operator code) or a date/time record ({year, month, day, hour, minute});
 * - a record item (maximum demand + time, event records): {field: value, ...} in `fields` order;
 * - a block (DI with FF, e.g. 0001FF00): an array, one value per member, in member order;
 * - "absent" (ABSENT_VALUE) for a BCD field sent as FF…FF.
 *
 * Blocks of total + tariffs follow the meter's tariff count (`repeat`): the members listed are
 * the 4-tariff default; a payload of 4 + 4k bytes decodes to 1 + k values, k = 0..63 [BK].
 *
 * Everything here is pure: no I/O, no clock. Decoding never throws on wire bytes.
 */
import { byteHex, concatBytes } from '../../core/bytes.ts';
import { decodeError, EncodeError, type DecodeError } from '../../core/errors.ts';
import { err, ok, type Result } from '../../core/result.ts';
import type {
  Access,
  DataFieldDefinition,
  DataItemCategory,
  DataItemDefinition,
  DataValue,
  DecodeValueOptions,
  Dlt645Dictionary,
  StatusBitField,
  ValueEncoding,
} from './dictionary-types.ts';
import { ABSENT_VALUE, valueFieldCodec, type ValueFieldCodec, type ValueFieldSpec } from './formats.ts';

// =============================================================================================
// Status word 3 (PROTOCOLS.md 1.8)

const SW3_SOURCE = 'PROTOCOLS.md 1.8';
const SW3_SOURCE_2013 = 'PROTOCOLS.md 1.8 [BK] (2013 smart-meter amendments, one source)';

/** Status word 3 (DI 04000503), bit 0 first. */
export const STATUS_WORD_3_BITS = [
  { name: 'timeSlotTable', bit: 0, width: 1, meaning: 'current daily time-slot table', values: ['first', 'second'], source: SW3_SOURCE },
  { name: 'powerSupply', bit: 1, width: 2, meaning: 'supply', values: ['main', 'auxiliary', 'battery', 'reserved'], source: SW3_SOURCE },
  { name: 'programmingAllowed', bit: 3, width: 1, meaning: 'programming allowed', values: [false, true], source: SW3_SOURCE },
  { name: 'relay', bit: 4, width: 1, meaning: 'relay state (0 closed/通, 1 open/断)', values: ['closed', 'open'], source: SW3_SOURCE },
  { name: 'timeZoneTable', bit: 5, width: 1, meaning: 'current time-zone table', values: ['first', 'second'], source: SW3_SOURCE },
  { name: 'relayCommand', bit: 6, width: 1, meaning: 'relay command state (0 close, 1 trip)', values: ['close', 'trip'], source: SW3_SOURCE },
  { name: 'preTripAlarm', bit: 7, width: 1, meaning: 'pre-trip alarm', values: [false, true], source: SW3_SOURCE },
  {
    name: 'meterType',
    bit: 8,
    width: 2,
    meaning: 'meter type (00 non-prepaid, 01 energy-prepaid, 10 money-prepaid)',
    values: ['nonPrepaid', 'energyPrepaid', 'moneyPrepaid', 'reserved'],
    source: SW3_SOURCE,
  },
  { name: 'tariffPriceSet', bit: 10, width: 1, meaning: 'current tariff-price set', values: ['first', 'second'], source: SW3_SOURCE },
  { name: 'ladderSet', bit: 11, width: 1, meaning: 'current ladder (step) set', values: ['first', 'second'], source: SW3_SOURCE },
  { name: 'keepPower', bit: 12, width: 1, meaning: 'keep-power (保电) state', values: [false, true], source: SW3_SOURCE_2013 },
  // [BK] polarity of bits 13-15 unconfirmed (some texts read 0 as "valid"/"opened").
  { name: 'identityAuthenticated', bit: 13, width: 1, meaning: 'identity-authentication state [BK]', values: [false, true], source: SW3_SOURCE_2013 },
  { name: 'localAccountOpened', bit: 14, width: 1, meaning: 'local account opened [BK]', values: [false, true], source: SW3_SOURCE_2013 },
  { name: 'remoteAccountOpened', bit: 15, width: 1, meaning: 'remote account opened [BK]', values: [false, true], source: SW3_SOURCE_2013 },
] as const satisfies readonly StatusBitField[];

type Sw3Bits = (typeof STATUS_WORD_3_BITS)[number];

/** Status word 3 as named fields. */
export type StatusWord3 = { -readonly [B in Sw3Bits as B['name']]: B['values'][number] };

/** Named fields of status word 3 (2-byte binary word, bit 0 first). */
export function decodeStatusWord3(word: number): StatusWord3 {
  return decodeStatusBits(STATUS_WORD_3_BITS, word) as StatusWord3;
}

/** Status word 3 from named fields; a missing field is its raw-0 value. Throws EncodeError on unknown values. */
export function encodeStatusWord3(fields: Partial<StatusWord3>): number {
  return encodeStatusBits(STATUS_WORD_3_BITS, fields as Readonly<Record<string, string | boolean>>);
}

function decodeStatusBits(bits: readonly StatusBitField[], word: number): Record<string, string | boolean> {
  const out: Record<string, string | boolean> = {};
  for (const f of bits) out[f.name] = f.values[Math.floor(word / 2 ** f.bit) % 2 ** f.width]!;
  return out;
}

function encodeStatusBits(bits: readonly StatusBitField[], fields: Readonly<Record<string, string | boolean | undefined>>): number {
  for (const key of Object.keys(fields)) {
    if (!bits.some((f) => f.name === key)) throw new EncodeError(`status word has no field "${key}"`);
  }
  let word = 0;
  for (const f of bits) {
    const v = fields[f.name];
    const raw = v === undefined ? 0 : f.values.indexOf(v);
    if (raw < 0) throw new EncodeError(`status word field ${f.name} cannot be ${JSON.stringify(v)} (one of ${f.values.join(', ')})`);
    word += raw * 2 ** f.bit;
  }
  return word;
}

// =============================================================================================
// Building the table

/** Tariffs listed in blocks and defined as their own DIs (DI1 01..04). */
const TARIFFS = 4;
/** A meter may have up to 63 tariffs (Fox CSV 04000204 "费率数 k≤63"); blocks accept 0..63 [BK]. */
const MAX_TARIFFS = 63;
/** 1997 blocks: up to 14 tariffs [BK]. */
const MAX_TARIFFS_1997 = 14;
const SETTLEMENTS = 12;
const DAILY_FREEZES = 62;
const EVENT_RECORDS = 10;
const PURCHASE_RECORDS = 10;

const SRC = {
  table: 'PROTOCOLS.md 1.9',
  fox: 'PROTOCOLS.md 1.9 (Fox CSV)',
  vector: 'vector',
  v1997: 'PROTOCOLS.md 1.10',
} as const;

function ordinal(n: number): string {
  const t = n % 100;
  if (t >= 11 && t <= 13) return `${n}th`;
  switch (n % 10) {
    case 1:
      return `${n}st`;
    case 2:
      return `${n}nd`;
    case 3:
      return `${n}rd`;
    default:
      return `${n}th`;
  }
}

const hex2 = (n: number): string => byteHex(n);
const di4 = (di3: number, di2: number, di1: number, di0: number): string => hex2(di3) + hex2(di2) + hex2(di1) + hex2(di0);
const PHASES = ['A', 'B', 'C'] as const;

const table: DataItemDefinition[] = [];
const byDi = new Map<string, DataItemDefinition>();

function define(def: DataItemDefinition): DataItemDefinition {
  if (byDi.has(def.di)) throw new Error(`DL/T 645 dictionary: ${def.di} defined twice`);
  const frozen = Object.freeze({
    ...def,
    ...(def.members === undefined ? {} : { members: Object.freeze([...def.members]) }),
    ...(def.fields === undefined ? {} : { fields: Object.freeze(def.fields.map((f) => Object.freeze({ ...f }))) }),
    ...(def.repeat === undefined ? {} : { repeat: Object.freeze({ ...def.repeat }) }),
  });
  table.push(frozen);
  byDi.set(frozen.di, frozen);
  return frozen;
}

interface ValueOptions {
  readonly di: string;
  readonly edition?: '2007' | '1997';
  readonly name: string;
  readonly nameZh?: string;
  readonly format: string;
  readonly length: number;
  readonly unit?: string;
  readonly access?: Access;
  readonly category: DataItemCategory;
  readonly source: string;
  readonly signed?: boolean;
  readonly encoding?: ValueEncoding;
  readonly bits?: readonly StatusBitField[];
}

/** A single value. */
function value(o: ValueOptions): DataItemDefinition {
  valueFieldCodec(o); // fail at load time on a format the codecs do not know
  return define({ edition: '2007', access: 'read', ...o } as DataItemDefinition);
}

interface RecordOptions {
  readonly di: string;
  readonly name: string;
  readonly nameZh?: string;
  readonly unit?: string;
  readonly access?: Access;
  readonly category: DataItemCategory;
  readonly source: string;
  readonly fields: readonly DataFieldDefinition[];
}

/** A record of named fields, in wire order. */
function record(o: RecordOptions): DataItemDefinition {
  let length = 0;
  for (const f of o.fields) {
    valueFieldCodec(f);
    length += f.length * (f.count ?? 1);
  }
  const format = o.fields.map((f) => (f.count === undefined ? f.format : `${f.count}×${f.format}`)).join('|');
  return define({ edition: '2007', access: 'read', ...o, format, length } as DataItemDefinition);
}

interface BlockOptions {
  readonly di: string;
  readonly edition?: '2007' | '1997';
  readonly name: string;
  readonly nameZh?: string;
  readonly category: DataItemCategory;
  readonly source: string;
  readonly members: readonly string[];
  readonly repeat?: { readonly from: number; readonly min: number; readonly max: number };
}

/** A data block: the members' values one after the other. */
function block(o: BlockOptions): DataItemDefinition {
  const members = o.members.map((di) => {
    const m = byDi.get(di);
    if (m === undefined) throw new Error(`DL/T 645 dictionary: block ${o.di} member ${di} is not defined`);
    return m;
  });
  const formats = [...new Set(members.map((m) => m.format))];
  const units = [...new Set(members.map((m) => m.unit))];
  const length = members.reduce((n, m) => n + m.length, 0);
  const unit = units.length === 1 ? units[0] : undefined;
  return define({
    edition: '2007',
    access: 'read',
    ...o,
    // "5×XXXXXX.XX" for a block of like members; the members' formats joined by | otherwise.
    format: formats.length === 1 ? `${members.length}×${formats[0]!}` : members.map((m) => m.format).join('|'),
    length,
    ...(unit === undefined ? {} : { unit }),
  } as DataItemDefinition);
}

// ---------------------------------------------------------------------------------------------
// DI3 = 00: energy

interface EnergyKind {
  readonly di2: number;
  readonly en: string;
  readonly zh: string;
  readonly energyUnit: string;
  readonly demandUnit: string;
  /** Combined quantities can be negative: sign bit [BK]. */
  readonly signed: boolean;
}

const ENERGY_KINDS: readonly EnergyKind[] = [
  { di2: 0x00, en: 'combined active', zh: '组合有功', energyUnit: 'kWh', demandUnit: 'kW', signed: true },
  { di2: 0x01, en: 'forward active', zh: '正向有功', energyUnit: 'kWh', demandUnit: 'kW', signed: false },
  { di2: 0x02, en: 'reverse active', zh: '反向有功', energyUnit: 'kWh', demandUnit: 'kW', signed: false },
  { di2: 0x03, en: 'combined reactive 1', zh: '组合无功1', energyUnit: 'kvarh', demandUnit: 'kvar', signed: true },
  { di2: 0x04, en: 'combined reactive 2', zh: '组合无功2', energyUnit: 'kvarh', demandUnit: 'kvar', signed: true },
  { di2: 0x05, en: 'quadrant I reactive', zh: '第一象限无功', energyUnit: 'kvarh', demandUnit: 'kvar', signed: false },
  { di2: 0x06, en: 'quadrant II reactive', zh: '第二象限无功', energyUnit: 'kvarh', demandUnit: 'kvar', signed: false },
  { di2: 0x07, en: 'quadrant III reactive', zh: '第三象限无功', energyUnit: 'kvarh', demandUnit: 'kvar', signed: false },
  { di2: 0x08, en: 'quadrant IV reactive', zh: '第四象限无功', energyUnit: 'kvarh', demandUnit: 'kvar', signed: false },
];

const SIGN_SOURCE = '[BK] sign bit in the top bit (unattributed public code: list of signed DL/T 645-2007 items)';

function settlementEn(s: number): string {
  return s === 0 ? '' : `, last ${ordinal(s)} settlement`;
}
function settlementZh(s: number): string {
  return s === 0 ? '(当前)' : `(上${s}结算日)`;
}

for (const k of ENERGY_KINDS) {
  for (let s = 0; s <= SETTLEMENTS; s++) {
    const source = [k.di2 === 0x01 && s === 0 ? `${SRC.table}; ${SRC.vector}` : SRC.fox, ...(k.signed ? [SIGN_SOURCE] : [])].join('; ');
    const members: string[] = [];
    members.push(
      value({
        di: di4(0x00, k.di2, 0x00, s),
        name: `${k.en} total energy${settlementEn(s)}`,
        nameZh: `${settlementZh(s)}${k.zh}总电能`,
        format: 'XXXXXX.XX',
        length: 4,
        unit: k.energyUnit,
        category: 'energy',
        signed: k.signed,
        source,
      }).di,
    );
    for (let t = 1; t <= TARIFFS; t++) {
      members.push(
        value({
          di: di4(0x00, k.di2, t, s),
          name: `${k.en} energy, tariff ${t}${settlementEn(s)}`,
          nameZh: `${settlementZh(s)}${k.zh}费率${t}电能`,
          format: 'XXXXXX.XX',
          length: 4,
          unit: k.energyUnit,
          category: 'energy',
          signed: k.signed,
          source: `${source}; tariff members of the 0001FF00 block [vec]`,
        }).di,
      );
    }
    block({
      di: di4(0x00, k.di2, 0xff, s),
      name: `${k.en} energy block (total and tariffs)${settlementEn(s)}`,
      nameZh: `${settlementZh(s)}${k.zh}电能数据块`,
      category: 'energy',
      members,
      repeat: { from: 1, min: 0, max: MAX_TARIFFS },
      source: `${k.di2 === 0x01 && s === 0 ? `${SRC.table}; ${SRC.vector}` : SRC.table}; tariff count 0..${MAX_TARIFFS} [BK]`,
    });
  }
}

// ---------------------------------------------------------------------------------------------
// DI3 = 01: maximum demand and its time (XX.XXXX + YYMMDDhhmm = 8 bytes, demand first [BK])

for (const k of ENERGY_KINDS.filter((e) => e.di2 !== 0x00)) {
  for (let s = 0; s <= SETTLEMENTS; s++) {
    const fields: readonly DataFieldDefinition[] = [
      { name: 'demand', format: 'XX.XXXX', length: 3, unit: k.demandUnit, ...(k.signed ? { signed: true } : {}) },
      { name: 'time', format: 'YYMMDDhhmm', length: 5 },
    ];
    const source = `${SRC.fox}; field order demand then time [BK]${k.signed ? `; ${SIGN_SOURCE}` : ''}`;
    const members: string[] = [];
    members.push(
      record({
        di: di4(0x01, k.di2, 0x00, s),
        name: `${k.en} total maximum demand and time${settlementEn(s)}`,
        nameZh: `${settlementZh(s)}${k.zh}总最大需量及发生时间`,
        unit: k.demandUnit,
        category: 'demand',
        fields,
        source,
      }).di,
    );
    for (let t = 1; t <= TARIFFS; t++) {
      members.push(
        record({
          di: di4(0x01, k.di2, t, s),
          name: `${k.en} maximum demand and time, tariff ${t}${settlementEn(s)}`,
          nameZh: `${settlementZh(s)}${k.zh}费率${t}最大需量及发生时间`,
          unit: k.demandUnit,
          category: 'demand',
          fields,
          source,
        }).di,
      );
    }
    block({
      di: di4(0x01, k.di2, 0xff, s),
      name: `${k.en} maximum demand and time block (total and tariffs)${settlementEn(s)}`,
      nameZh: `${settlementZh(s)}${k.zh}最大需量及发生时间数据块`,
      category: 'demand',
      members,
      repeat: { from: 1, min: 0, max: MAX_TARIFFS },
      source: `${source}; tariff count 0..${MAX_TARIFFS} [BK]`,
    });
  }
}

// ---------------------------------------------------------------------------------------------
// DI3 = 02: instantaneous values

{
  const phaseFamily = (o: {
    di2: number;
    en: string;
    zh: string;
    format: string;
    length: number;
    unit?: string;
    signed: boolean;
    withTotal: boolean;
    source: string;
  }): void => {
    const members: string[] = [];
    if (o.withTotal) {
      members.push(
        value({
          di: di4(0x02, o.di2, 0x00, 0x00),
          name: `total ${o.en}`,
          nameZh: `总${o.zh}`,
          format: o.format,
          length: o.length,
          ...(o.unit === undefined ? {} : { unit: o.unit }),
          category: 'instantaneous',
          signed: o.signed,
          source: o.source,
        }).di,
      );
    }
    PHASES.forEach((p, i) => {
      members.push(
        value({
          di: di4(0x02, o.di2, i + 1, 0x00),
          name: `phase ${p} ${o.en}`,
          nameZh: `${p}相${o.zh}`,
          format: o.format,
          length: o.length,
          ...(o.unit === undefined ? {} : { unit: o.unit }),
          category: 'instantaneous',
          signed: o.signed,
          source: o.source,
        }).di,
      );
    });
    block({
      di: di4(0x02, o.di2, 0xff, 0x00),
      name: `${o.en} block (${o.withTotal ? 'total, ' : ''}phases A, B, C)`,
      nameZh: `${o.zh}数据块`,
      category: 'instantaneous',
      members,
      source: `${o.source}; FF…FF = phase absent [vec 0201FF00]`,
    });
  };
  const signed = `; ${SIGN_SOURCE}`;
  phaseFamily({ di2: 0x01, en: 'voltage', zh: '电压', format: 'XXX.X', length: 2, unit: 'V', signed: false, withTotal: false, source: `${SRC.table}; ${SRC.vector}` });
  phaseFamily({ di2: 0x02, en: 'current', zh: '电流', format: 'XXX.XXX', length: 3, unit: 'A', signed: true, withTotal: false, source: `${SRC.table}${signed}` });
  // Fox CSV writes XXX.XXX for the powers; PROTOCOLS.md 1.9 and the standard's table say XX.XXXX.
  phaseFamily({ di2: 0x03, en: 'active power', zh: '有功功率', format: 'XX.XXXX', length: 3, unit: 'kW', signed: true, withTotal: true, source: `${SRC.table}; ${SRC.vector}${signed}` });
  phaseFamily({ di2: 0x04, en: 'reactive power', zh: '无功功率', format: 'XX.XXXX', length: 3, unit: 'kvar', signed: true, withTotal: true, source: `${SRC.fox}; format per 1.9 02030000${signed}` });
  phaseFamily({ di2: 0x05, en: 'apparent power', zh: '视在功率', format: 'XX.XXXX', length: 3, unit: 'kVA', signed: true, withTotal: true, source: `${SRC.fox}; format per 1.9 02030000${signed}` });
  phaseFamily({ di2: 0x06, en: 'power factor', zh: '功率因数', format: 'X.XXX', length: 2, signed: true, withTotal: true, source: `${SRC.table}${signed}` });

  const inst = (di0: number, name: string, nameZh: string, format: string, length: number, unit: string, signedValue: boolean, source: string): void => {
    value({ di: di4(0x02, 0x80, 0x00, di0), name, nameZh, format, length, unit, category: 'instantaneous', signed: signedValue, source });
  };
  inst(0x01, 'neutral current', '零线电流', 'XXX.XXX', 3, 'A', true, `${SRC.fox}${signed}`);
  inst(0x02, 'grid frequency', '电网频率', 'XX.XX', 2, 'Hz', false, SRC.table);
  inst(0x03, 'one-minute average total active power', '一分钟有功总平均功率', 'XX.XXXX', 3, 'kW', false, SRC.fox);
  inst(0x04, 'current active demand', '当前有功需量', 'XX.XXXX', 3, 'kW', true, `${SRC.fox}${signed}`);
  inst(0x05, 'current reactive demand', '当前无功需量', 'XX.XXXX', 3, 'kvar', true, `${SRC.fox}${signed}`);
  inst(0x06, 'current apparent demand', '当前视在需量', 'XX.XXXX', 3, 'kVA', true, `${SRC.fox}${signed}`);
  inst(0x07, 'meter temperature', '表内温度', 'XXX.X', 2, '℃', true, `${SRC.fox}${signed}`);
  inst(0x08, 'clock battery voltage', '时钟电池电压(内部)', 'XX.XX', 2, 'V', false, SRC.fox);
  inst(0x09, 'meter-reading battery voltage', '停电抄表电池电压(外部)', 'XX.XX', 2, 'V', false, SRC.fox);
  inst(0x0a, 'internal battery working time', '内部电池工作时间', 'XXXXXXXX', 4, 'min', false, SRC.fox);
  inst(0x0b, 'current ladder price', '当前阶梯电价', 'XXXX.XXXX', 4, 'yuan/kWh', false, SRC.table);
}

// ---------------------------------------------------------------------------------------------
// DI3 = 04: clock, identity, status words, parameters, passwords, prepaid limits

value({ di: '04000101', name: 'date and weekday', nameZh: '日期及星期', format: 'YYMMDDWW', length: 4, access: 'readWrite', category: 'clock', source: `${SRC.table}; ${SRC.vector}` });
value({ di: '04000102', name: 'time', nameZh: '时间', format: 'hhmmss', length: 3, access: 'readWrite', category: 'clock', source: `${SRC.table}; ${SRC.vector}` });
value({ di: '04000103', name: 'maximum demand period', nameZh: '最大需量周期', format: 'NN', length: 1, unit: 'min', access: 'readWrite', category: 'parameter', source: SRC.fox });
value({ di: '04000104', name: 'demand slide time', nameZh: '滑差时间', format: 'NN', length: 1, unit: 'min', access: 'readWrite', category: 'parameter', source: SRC.fox });
for (const [di0, en, zh] of [
  [0x06, 'time-zone table switch time', '两套时区表切换时间'],
  [0x07, 'daily time-slot table switch time', '两套日时段表切换时间'],
  [0x08, 'tariff price set switch time', '两套费率电价切换时间'],
  [0x09, 'ladder set switch time', '两套阶梯切换时间'],
] as const) {
  value({ di: di4(0x04, 0x00, 0x01, di0), name: en, nameZh: zh, format: 'YYMMDDhhmm', length: 5, access: 'readWrite', category: 'parameter', source: SRC.fox });
}
for (const [di0, en, zh, format, length] of [
  [0x01, 'number of annual time zones', '年时区数', 'NN', 1],
  [0x02, 'number of daily time-slot tables', '日时段表数', 'NN', 1],
  [0x03, 'number of daily time slots', '日时段数', 'NN', 1],
  [0x04, 'number of tariffs', '费率数', 'NN', 1],
  [0x05, 'number of public holidays', '公共假日数', 'NNNN', 2],
  [0x07, 'number of ladders', '阶梯数', 'NN', 1],
] as const) {
  value({ di: di4(0x04, 0x00, 0x02, di0), name: en, nameZh: zh, format, length, access: 'readWrite', category: 'parameter', source: SRC.fox });
}
value({ di: '04000306', name: 'current transformer ratio', nameZh: '电流互感器变比', format: 'NNNNNN', length: 3, access: 'readWrite', category: 'parameter', source: SRC.fox });
value({ di: '04000307', name: 'voltage transformer ratio', nameZh: '电压互感器变比', format: 'NNNNNN', length: 3, access: 'readWrite', category: 'parameter', source: SRC.fox });
// Fox CSV marks 04000401 writable; the address is set with 15H (write address), so 'read' here [BK].
value({ di: '04000401', name: 'communication address', nameZh: '通信地址', format: 'NNNNNNNNNNNN', length: 6, access: 'read', category: 'identity', source: `${SRC.table}; written with 15H [BK]` });
value({ di: '04000402', name: 'meter number', nameZh: '表号', format: 'NNNNNNNNNNNN', length: 6, access: 'readWrite', category: 'identity', source: `${SRC.table}; ${SRC.vector}` });
value({ di: '04000409', name: 'active energy meter constant', nameZh: '电表有功常数', format: 'XXXXXX', length: 3, unit: 'imp/kWh', category: 'parameter', source: SRC.fox });
value({ di: '0400040A', name: 'reactive energy meter constant', nameZh: '电表无功常数', format: 'XXXXXX', length: 3, unit: 'imp/kvarh', category: 'parameter', source: SRC.fox });
value({ di: '0400040E', name: 'customer number', nameZh: '客户编号', format: 'NNNNNNNNNNNN', length: 6, category: 'identity', source: SRC.fox });
for (let n = 1; n <= 7; n++) {
  value({
    di: di4(0x04, 0x00, 0x05, n),
    name: `meter status word ${n}`,
    nameZh: `电表运行状态字${n}`,
    format: 'XXXX',
    length: 2,
    encoding: 'binary',
    category: 'status',
    ...(n === 3 ? { bits: STATUS_WORD_3_BITS } : {}),
    source: n === 3 ? 'PROTOCOLS.md 1.8, 1.9' : SRC.table,
  });
}
for (const [di0, en, zh] of [
  [0x01, 'active energy combination feature word', '有功组合方式特征字'],
  [0x02, 'reactive energy combination 1 feature word', '无功组合方式1特征字'],
  [0x03, 'reactive energy combination 2 feature word', '无功组合方式2特征字'],
] as const) {
  value({ di: di4(0x04, 0x00, 0x06, di0), name: en, nameZh: zh, format: 'NN', length: 1, encoding: 'binary', access: 'readWrite', category: 'parameter', source: SRC.fox });
}
for (const [di0, en, zh] of [
  [0x01, 'modulated infrared port baud-rate feature word', '调制型红外光口通信速率特征字'],
  [0x02, 'contact infrared port baud-rate feature word', '接触式红外光口通信速率特征字'],
  [0x03, 'communication port 1 baud-rate feature word', '通信口1通信速率特征字'],
  [0x04, 'communication port 2 baud-rate feature word', '通信口2通信速率特征字'],
  [0x05, 'communication port 3 baud-rate feature word', '通信口3通信速率特征字'],
] as const) {
  // A bit map (PROTOCOLS.md 1.6: 08H = 2400 bit/s), not BCD.
  value({ di: di4(0x04, 0x00, 0x07, di0), name: en, nameZh: zh, format: 'NN', length: 1, encoding: 'binary', access: 'readWrite', category: 'parameter', source: `${SRC.table}; 1.6` });
}
for (let n = 1; n <= 3; n++) {
  value({
    di: di4(0x04, 0x00, 0x0b, n),
    name: `monthly settlement day ${n}`,
    nameZh: `每月第${n}结算日`,
    format: 'DDhh',
    length: 2,
    access: 'readWrite',
    category: 'parameter',
    source: `${SRC.fox} [BK]`,
  });
}
for (let level = 0; level <= 9; level++) {
  // Write-only; the 4 bytes are opaque here (PA P0 P1 P2 as hex, most significant first) [BK].
  value({
    di: di4(0x04, 0x00, 0x0c, level + 1),
    name: `level ${level} password`,
    nameZh: `${level}级密码`,
    format: 'NNNNNNNN',
    length: 4,
    encoding: 'hex',
    access: 'write',
    category: 'password',
    source: `${SRC.table}; byte layout [BK]`,
  });
}
for (const [di0, en, zh, src] of [
  [0x01, 'alarm energy 1 limit', '报警电量1限值', SRC.table],
  [0x02, 'alarm energy 2 limit', '报警电量2限值', SRC.table],
  [0x03, 'hoarding energy limit', '囤积电量限值', SRC.fox],
  [0x04, 'overdraft energy limit', '透支电量限值', SRC.table],
] as const) {
  value({ di: di4(0x04, 0x00, 0x0f, di0), name: en, nameZh: zh, format: 'XXXXXX.XX', length: 4, unit: 'kWh', access: 'readWrite', category: 'prepaid', source: src });
}
for (const [di0, en, zh, format, src] of [
  [0x01, 'alarm amount 1 limit', '报警金额1限值', 'XXXXXX.XX', SRC.table],
  [0x02, 'alarm amount 2 limit', '报警金额2限值', 'XXXXXX.XX', SRC.table],
  [0x03, 'overdraft amount limit', '透支金额限值', 'XXXXXX.XX', SRC.fox],
  [0x04, 'hoarding amount limit', '囤积金额限值', 'NNNNNN.NN', SRC.fox],
  [0x05, 'close-allowed amount limit', '合闸允许金额限值', 'NNNNNN.NN', SRC.fox],
] as const) {
  value({ di: di4(0x04, 0x00, 0x10, di0), name: en, nameZh: zh, format, length: 4, unit: 'yuan', access: 'readWrite', category: 'prepaid', source: src });
}
value({ di: '04001201', name: 'hourly freeze start time', nameZh: '整点冻结起始时间', format: 'YYMMDDhhmm', length: 5, access: 'readWrite', category: 'parameter', source: SRC.fox });
value({ di: '04001202', name: 'hourly freeze interval', nameZh: '整点冻结时间间隔', format: 'NN', length: 1, unit: 'min', access: 'readWrite', category: 'parameter', source: SRC.fox });
value({ di: '04001203', name: 'daily freeze time', nameZh: '日冻结时间', format: 'hhmm', length: 2, access: 'readWrite', category: 'parameter', source: `${SRC.fox} [BK]` });
// Fox CSV: "跳闸延时时间（NNNN为跳闸前告警时间）"; unit not given [BK].
value({ di: '04001401', name: 'trip delay (pre-trip alarm time)', nameZh: '跳闸延时时间', format: 'NNNN', length: 2, access: 'readWrite', category: 'parameter', source: `${SRC.fox}; unit [BK]` });

// ---------------------------------------------------------------------------------------------
// Prepaid balances (0090) and purchase records (0332 energy type, 0333 money type)

value({ di: '00900100', name: 'remaining energy', nameZh: '(当前)剩余电量', format: 'XXXXXX.XX', length: 4, unit: 'kWh', category: 'prepaid', source: SRC.table });
value({ di: '00900101', name: 'overdraft energy', nameZh: '(当前)透支电量', format: 'XXXXXX.XX', length: 4, unit: 'kWh', category: 'prepaid', source: SRC.table });
value({ di: '00900200', name: 'remaining amount', nameZh: '(当前)剩余金额', format: 'XXXXXX.XX', length: 4, unit: 'yuan', category: 'prepaid', source: `${SRC.table}; ${SRC.vector}` });
value({ di: '00900201', name: 'overdraft amount', nameZh: '(当前)透支金额', format: 'XXXXXX.XX', length: 4, unit: 'yuan', category: 'prepaid', source: SRC.table });

for (const [di2, kind, items] of [
  [
    0x32,
    'energy',
    [
      ['purchase time', '购电日期', 'YYMMDDhhmm', 5, undefined],
      ['total purchase count after purchase', '购电后总购电次数', 'NNNN', 2, undefined],
      ['purchased energy', '购电量', 'XXXXXX.XX', 4, 'kWh'],
      ['remaining energy before purchase', '购电前剩余电量', 'XXXXXX.XX', 4, 'kWh'],
      ['remaining energy after purchase', '购电后剩余电量', 'XXXXXX.XX', 4, 'kWh'],
      ['cumulative purchased energy after purchase', '购电后累计购电量', 'XXXXXX.XX', 4, 'kWh'],
    ],
  ],
  [
    0x33,
    'money',
    [
      ['purchase time', '购电日期', 'YYMMDDhhmm', 5, undefined],
      ['total purchase count after purchase', '购电后总购电次数', 'NNNN', 2, undefined],
      ['purchased amount', '购电金额', 'XXXXXX.XX', 4, 'yuan'],
      ['remaining amount before purchase', '购电前剩余金额', 'XXXXXX.XX', 4, 'yuan'],
      ['remaining amount after purchase', '购电后剩余金额', 'XXXXXX.XX', 4, 'yuan'],
      ['cumulative purchased amount after purchase', '购电后累计购电金额', 'XXXXXX.XX', 4, 'yuan'],
    ],
  ],
] as const) {
  items.forEach(([en, zh, format, length, unit], i) => {
    for (let n = 1; n <= PURCHASE_RECORDS; n++) {
      const confirmed = (i === 1 || i === 5) && n === 1;
      value({
        di: di4(0x03, di2, i + 1, n),
        name: `${en}, last ${ordinal(n)} ${kind} purchase`,
        nameZh: `(上${n}次)${zh}`,
        format,
        length,
        ...(unit === undefined ? {} : { unit }),
        category: 'prepaid',
        source: confirmed ? SRC.table : '[BK] (unattributed public code: purchase-record item lists)',
      });
    }
  });
}

// ---------------------------------------------------------------------------------------------
// DI3 = 05: freezes. DI2 00 timed (last 1..12), 01 instantaneous (last 1..3, [BK]), 06 daily
// (last 1..62); DI1 00 freeze time, 01 forward / 02 reverse active energy block, FF all data.

function freezeFamily(o: { di2: number; en: string; zh: string; records: number; source: string }): void {
  for (let n = 1; n <= o.records; n++) {
    const en = `last ${ordinal(n)} ${o.en}`;
    const time = value({
      di: di4(0x05, o.di2, 0x00, n),
      name: `${o.en} time, ${en}`,
      nameZh: `(上${n}次)${o.zh}时间`,
      format: 'YYMMDDhhmm',
      length: 5,
      category: 'freeze',
      source: o.di2 === 0x06 && n === 1 ? `${SRC.table}; ${SRC.vector}` : o.source,
    });
    // The frozen blocks have the layout of the live blocks; members name the live registers
    // whose copies they hold, so a simulator can freeze the 0001FF00 value as it is.
    const forward = block({
      di: di4(0x05, o.di2, 0x01, n),
      name: `${o.en} forward active energy block, ${en}`,
      nameZh: `(上${n}次)${o.zh}正向有功电能数据`,
      category: 'freeze',
      members: ['00010000', '00010100', '00010200', '00010300', '00010400'],
      repeat: { from: 1, min: 0, max: MAX_TARIFFS },
      source: `${o.source}; tariff count [BK]`,
    });
    const reverse = block({
      di: di4(0x05, o.di2, 0x02, n),
      name: `${o.en} reverse active energy block, ${en}`,
      nameZh: `(上${n}次)${o.zh}反向有功电能数据`,
      category: 'freeze',
      members: ['00020000', '00020100', '00020200', '00020300', '00020400'],
      repeat: { from: 1, min: 0, max: MAX_TARIFFS },
      source: `${o.source}; tariff count [BK]`,
    });
    // [BK] The FF block holds the items the meter's freeze mode word (04000902..06) selects.
    // Defined here as a single-phase meter's selection: time + forward + reverse active energy,
    // 45 bytes with 4 tariffs. A meter that also freezes reactive energies, demands and powers
    // (DI1 03..0A, 10, not defined here) sends a longer block that this definition rejects.
    block({
      di: di4(0x05, o.di2, 0xff, n),
      name: `${o.en} data block, ${en}`,
      nameZh: `(上${n}次)${o.zh}数据块`,
      category: 'freeze',
      members: [time.di, forward.di, reverse.di],
      source: '[BK] members: freeze time, forward and reverse active energy blocks',
    });
  }
}

freezeFamily({ di2: 0x00, en: 'timed freeze', zh: '定时冻结', records: 12, source: '[BK]' });
// The declaration reads 05010001 / 05010101 after a 16H freeze-now command (declaration.ts).
freezeFamily({ di2: 0x01, en: 'instantaneous freeze', zh: '瞬时冻结', records: 3, source: '[BK]' });
freezeFamily({ di2: 0x06, en: 'daily freeze', zh: '日冻结', records: DAILY_FREEZES, source: SRC.table });

// ---------------------------------------------------------------------------------------------
// DI3 = 03, 1D, 1E: events (record layouts from one public firmware's storage table [BK])

const COUNT = { format: 'XXXXXX', length: 3 } as const;
const EVENT_TIME = { format: 'YYMMDDhhmmss', length: 6 } as const;
const OPERATOR: DataFieldDefinition = { name: 'operator', format: 'C3C2C1C0', length: 4, encoding: 'hex' };
const energyField = (name: string, unit: string): DataFieldDefinition => ({ name, format: 'XXXXXX.XX', length: 4, unit });
const ENERGY_SNAPSHOT = (suffix: string): DataFieldDefinition[] => [
  energyField(`forwardActiveEnergy${suffix}`, 'kWh'),
  energyField(`reverseActiveEnergy${suffix}`, 'kWh'),
  energyField(`quadrant1ReactiveEnergy${suffix}`, 'kvarh'),
  energyField(`quadrant2ReactiveEnergy${suffix}`, 'kvarh'),
  energyField(`quadrant3ReactiveEnergy${suffix}`, 'kvarh'),
  energyField(`quadrant4ReactiveEnergy${suffix}`, 'kvarh'),
];

function eventFamily(o: {
  countDi: string;
  countName: string;
  countZh: string;
  countSource: string;
  recordDi: (n: number) => string;
  recordName: string;
  recordZh: string;
  fields: readonly DataFieldDefinition[];
  recordSource: string;
}): void {
  value({ di: o.countDi, name: o.countName, nameZh: o.countZh, ...COUNT, category: 'event', source: o.countSource });
  for (let n = 1; n <= EVENT_RECORDS; n++) {
    record({ di: o.recordDi(n), name: `${o.recordName}, last ${ordinal(n)}`, nameZh: `(上${n}次)${o.recordZh}`, category: 'event', fields: o.fields, source: o.recordSource });
  }
}

eventFamily({
  countDi: '03110000',
  countName: 'power-down total count',
  countZh: '掉电总次数',
  countSource: '[BK]',
  recordDi: (n) => di4(0x03, 0x11, 0x00, n),
  recordName: 'power-down record',
  recordZh: '掉电记录',
  fields: [
    { name: 'start', ...EVENT_TIME },
    { name: 'end', ...EVENT_TIME },
  ],
  recordSource: '[BK] start + end time, 12 bytes',
});
eventFamily({
  countDi: '03300000',
  countName: 'programming total count',
  countZh: '编程总次数',
  countSource: '[BK]',
  recordDi: (n) => di4(0x03, 0x30, 0x00, n),
  recordName: 'programming record',
  recordZh: '编程记录',
  // Unused identifier slots are FFFFFFFF [BK].
  fields: [{ name: 'time', ...EVENT_TIME }, OPERATOR, { name: 'identifiers', format: 'DI3DI2DI1DI0', length: 4, encoding: 'hex', count: 10 }],
  recordSource: `${SRC.table} (read with follow-up) [vec]; layout time + operator + 10 DIs = 50 bytes [BK]`,
});
eventFamily({
  countDi: '03300400',
  countName: 'time-setting total count',
  countZh: '校时总次数',
  countSource: '[BK]',
  recordDi: (n) => di4(0x03, 0x30, 0x04, n),
  recordName: 'time-setting record',
  recordZh: '校时记录',
  fields: [OPERATOR, { name: 'before', ...EVENT_TIME }, { name: 'after', ...EVENT_TIME }],
  recordSource: '[BK] operator + time before + time after, 16 bytes',
});
eventFamily({
  countDi: '03300D00',
  countName: 'meter-cover opening total count',
  countZh: '开表盖总次数',
  countSource: `${SRC.table}; ${SRC.vector}`,
  recordDi: (n) => di4(0x03, 0x30, 0x0d, n),
  recordName: 'meter-cover opening record',
  recordZh: '开表盖记录',
  fields: [{ name: 'start', ...EVENT_TIME }, { name: 'end', ...EVENT_TIME }, ...ENERGY_SNAPSHOT('Before'), ...ENERGY_SNAPSHOT('After')],
  recordSource: '[BK] open time, close time, 6 energies before and 6 after, 60 bytes',
});
eventFamily({
  countDi: '1D000001',
  countName: 'trip total count',
  countZh: '跳闸总次数',
  countSource: `${SRC.table}; ${SRC.vector}`,
  recordDi: (n) => di4(0x1d, 0x00, 0x01, n),
  recordName: 'trip record',
  recordZh: '跳闸记录',
  fields: [{ name: 'time', ...EVENT_TIME }, OPERATOR, ...ENERGY_SNAPSHOT('')],
  recordSource: '[BK] time + operator + 6 energies, 34 bytes',
});
eventFamily({
  countDi: '1E000001',
  countName: 'close total count',
  countZh: '合闸总次数',
  countSource: SRC.table,
  recordDi: (n) => di4(0x1e, 0x00, 0x01, n),
  recordName: 'close record',
  recordZh: '合闸记录',
  fields: [{ name: 'time', ...EVENT_TIME }, OPERATOR, ...ENERGY_SNAPSHOT('')],
  recordSource: '[BK] time + operator + 6 energies, 34 bytes',
});

// ---------------------------------------------------------------------------------------------
// DL/T 645-1997 (2-byte DI, PROTOCOLS.md 1.10)

{
  const v97 = (o: Omit<ValueOptions, 'edition'>): DataItemDefinition => value({ ...o, edition: '1997' });
  const family97 = (base: number, en: string, zh: string, source: string): void => {
    const members: string[] = [];
    members.push(
      v97({ di: (base | 0x0).toString(16).toUpperCase(), name: `${en} total energy (1997)`, nameZh: `${zh}总电能`, format: 'XXXXXX.XX', length: 4, unit: 'kWh', category: 'energy', source }).di,
    );
    for (let t = 1; t <= TARIFFS; t++) {
      members.push(
        v97({
          di: (base | t).toString(16).toUpperCase(),
          name: `${en} energy, tariff ${t} (1997)`,
          nameZh: `${zh}费率${t}电能`,
          format: 'XXXXXX.XX',
          length: 4,
          unit: 'kWh',
          category: 'energy',
          source: `${SRC.v1997} [BK]`,
        }).di,
      );
    }
    block({
      di: (base | 0xf).toString(16).toUpperCase(),
      edition: '1997',
      name: `${en} energy block (total and tariffs) (1997)`,
      nameZh: `${zh}电能数据块`,
      category: 'energy',
      members,
      repeat: { from: 1, min: 0, max: MAX_TARIFFS_1997 },
      source: `${SRC.v1997}; tariff count [BK]`,
    });
  };
  family97(0x9010, 'forward active', '正向有功', `${SRC.v1997}; ${SRC.vector}`);
  family97(0x9020, 'reverse active', '反向有功', `${SRC.v1997} [BK]`);
  PHASES.forEach((p, i) => {
    v97({
      di: (0xb611 + i).toString(16).toUpperCase(),
      name: `phase ${p} voltage (1997)`,
      nameZh: `${p}相电压`,
      format: 'XXX',
      length: 2,
      unit: 'V',
      category: 'instantaneous',
      source: i === 0 ? `${SRC.v1997}; ${SRC.vector}` : `${SRC.v1997} [BK]`,
    });
  });
  PHASES.forEach((p, i) => {
    v97({ di: (0xb621 + i).toString(16).toUpperCase(), name: `phase ${p} current (1997)`, nameZh: `${p}相电流`, format: 'XX.XX', length: 2, unit: 'A', category: 'instantaneous', source: `${SRC.v1997} [BK]` });
  });
  v97({ di: 'B630', name: 'total active power (1997)', nameZh: '瞬时有功功率', format: 'XX.XXXX', length: 3, unit: 'kW', category: 'instantaneous', source: `${SRC.v1997} [BK]` });
  PHASES.forEach((p, i) => {
    v97({
      di: (0xb631 + i).toString(16).toUpperCase(),
      name: `phase ${p} active power (1997)`,
      nameZh: `${p}相有功功率`,
      format: 'XX.XXXX',
      length: 3,
      unit: 'kW',
      category: 'instantaneous',
      source: `${SRC.v1997} [BK]`,
    });
  });
  v97({ di: 'C010', name: 'date and weekday (1997)', nameZh: '日期及周次', format: 'YYMMDDWW', length: 4, access: 'readWrite', category: 'clock', source: `${SRC.v1997} [BK]` });
  v97({ di: 'C011', name: 'time (1997)', nameZh: '时间', format: 'hhmmss', length: 3, access: 'readWrite', category: 'clock', source: `${SRC.v1997} [BK]` });
  v97({ di: 'C032', name: 'meter number (1997)', nameZh: '表号', format: 'NNNNNNNNNNNN', length: 6, category: 'identity', source: `${SRC.v1997}; ${SRC.vector}` });
  v97({ di: 'C033', name: 'user number (1997)', nameZh: '用户号', format: 'NNNNNNNNNNNN', length: 6, category: 'identity', source: `${SRC.v1997} [BK]` });
}

// =============================================================================================
// Layout: each definition compiled once into a tree of value fields

interface FieldNode {
  readonly kind: 'field';
  readonly codec: ValueFieldCodec;
  readonly unit: string | undefined;
  readonly def: DataItemDefinition;
}
interface RecordNode {
  readonly kind: 'record';
  readonly fields: readonly { readonly name: string; readonly codec: ValueFieldCodec; readonly count: number | undefined; readonly unit: string | undefined }[];
  readonly def: DataItemDefinition;
}
interface BlockNode {
  readonly kind: 'block';
  readonly members: readonly LayoutNode[];
  readonly repeat: { readonly from: number; readonly min: number; readonly max: number } | undefined;
  /** Shared tariff-count range of this block and the blocks inside it (undefined: fixed length). */
  readonly range: { readonly min: number; readonly max: number } | undefined;
  readonly def: DataItemDefinition;
}
type LayoutNode = FieldNode | RecordNode | BlockNode;

const layouts = new Map<string, LayoutNode>();

function layoutOf(def: DataItemDefinition): LayoutNode {
  let node = layouts.get(def.di);
  if (node !== undefined) return node;
  if (def.members !== undefined) {
    const members = def.members.map((di) => layoutOf(byDi.get(di)!));
    let range = def.repeat === undefined ? undefined : { min: def.repeat.min, max: def.repeat.max };
    for (const m of members) {
      if (m.kind !== 'block' || m.range === undefined) continue;
      range = range === undefined ? m.range : { min: Math.max(range.min, m.range.min), max: Math.min(range.max, m.range.max) };
    }
    node = { kind: 'block', members, repeat: def.repeat, range, def };
  } else if (def.fields !== undefined) {
    node = {
      kind: 'record',
      fields: def.fields.map((f) => ({ name: f.name, codec: valueFieldCodec(f), count: f.count, unit: f.unit })),
      def,
    };
  } else {
    node = { kind: 'field', codec: valueFieldCodec(def), unit: def.unit, def };
  }
  layouts.set(def.di, node);
  return node;
}

/** Bytes of a node for tariff count `k` (undefined: the listed default). */
function nodeLength(node: LayoutNode, k: number | undefined): number {
  switch (node.kind) {
    case 'field':
      return node.codec.spec.length;
    case 'record':
      return node.fields.reduce((n, f) => n + f.codec.spec.length * (f.count ?? 1), 0);
    case 'block': {
      if (node.repeat === undefined) return node.members.reduce((n, m) => n + nodeLength(m, k), 0);
      const { from } = node.repeat;
      let n = 0;
      for (let i = 0; i < from; i++) n += nodeLength(node.members[i]!, k);
      const count = k ?? node.members.length - from;
      return n + count * nodeLength(node.members[from]!, k);
    }
  }
}

/** The member layout for element `i` of a block (repeated elements share members[from]). */
function memberAt(node: BlockNode, i: number): LayoutNode {
  if (node.repeat !== undefined && i >= node.repeat.from) return node.members[Math.min(i, node.members.length - 1)] ?? node.members[node.repeat.from]!;
  return node.members[i]!;
}

function decodeNode(node: LayoutNode, payload: Uint8Array, offset: number, k: number | undefined): Result<DataValue, DecodeError> {
  switch (node.kind) {
    case 'field':
      return node.codec.decode(payload, offset);
    case 'record': {
      const out: Record<string, DataValue> = {};
      let at = offset;
      for (const f of node.fields) {
        if (f.count === undefined) {
          const r = f.codec.decode(payload, at);
          if (!r.ok) return r;
          out[f.name] = r.value;
          at += f.codec.spec.length;
        } else {
          const values: DataValue[] = [];
          for (let i = 0; i < f.count; i++) {
            const r = f.codec.decode(payload, at);
            if (!r.ok) return r;
            values.push(r.value);
            at += f.codec.spec.length;
          }
          out[f.name] = values;
        }
      }
      return ok(out);
    }
    case 'block': {
      const count = node.repeat === undefined ? node.members.length : node.repeat.from + (k ?? node.members.length - node.repeat.from);
      const values: DataValue[] = [];
      let at = offset;
      for (let i = 0; i < count; i++) {
        const m = memberAt(node, i);
        const r = decodeNode(m, payload, at, k);
        if (!r.ok) return r;
        values.push(r.value);
        at += nodeLength(m, k);
      }
      return ok(values);
    }
  }
}

function isRecordValue(v: DataValue): v is { readonly [field: string]: DataValue } {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function encodeNode(node: LayoutNode, value: DataValue, ctx: { k: number | undefined }, path: string, out: Uint8Array[]): void {
  switch (node.kind) {
    case 'field':
      out.push(withPath(path, () => node.codec.encode(value)));
      return;
    case 'record': {
      if (!isRecordValue(value)) throw new EncodeError(`${path}: needs a record {${node.fields.map((f) => f.name).join(', ')}}, got ${JSON.stringify(value)}`);
      for (const key of Object.keys(value)) {
        if (!node.fields.some((f) => f.name === key)) throw new EncodeError(`${path}: unknown field "${key}"`);
      }
      for (const f of node.fields) {
        const v = value[f.name];
        if (v === undefined) throw new EncodeError(`${path}: field ${f.name} is missing`);
        if (f.count === undefined) {
          out.push(withPath(`${path}.${f.name}`, () => f.codec.encode(v)));
        } else {
          if (!Array.isArray(v) || v.length !== f.count) throw new EncodeError(`${path}.${f.name}: needs ${f.count} values, got ${JSON.stringify(v)}`);
          (v as readonly DataValue[]).forEach((x, i) => out.push(withPath(`${path}.${f.name}[${i}]`, () => f.codec.encode(x))));
        }
      }
      return;
    }
    case 'block': {
      if (!Array.isArray(value)) throw new EncodeError(`${path}: a block needs an array, got ${JSON.stringify(value)}`);
      const values = value as readonly DataValue[];
      if (node.repeat === undefined) {
        if (values.length !== node.members.length) throw new EncodeError(`${path}: needs ${node.members.length} values, got ${values.length}`);
      } else {
        const n = values.length - node.repeat.from;
        if (n < node.repeat.min || n > node.repeat.max) {
          throw new EncodeError(`${path}: needs ${node.repeat.from} + ${node.repeat.min}..${node.repeat.max} values, got ${values.length}`);
        }
        if (ctx.k !== undefined && ctx.k !== n) throw new EncodeError(`${path}: ${n} tariffs here but ${ctx.k} in an earlier block`);
        ctx.k = n;
      }
      values.forEach((v, i) => encodeNode(memberAt(node, i), v, ctx, `${path}[${i}]`, out));
      return;
    }
  }
}

function withPath(path: string, f: () => Uint8Array): Uint8Array {
  try {
    return f();
  } catch (e) {
    if (e instanceof EncodeError) throw new EncodeError(`${path}: ${e.message}`);
    throw e;
  }
}

// =============================================================================================
// Public API

function normaliseDi(di: string): string {
  return di.toUpperCase();
}

/** The definition of a DI (8 hex digits for 2007, 4 for 1997; case-insensitive). */
export function lookup(di: string): DataItemDefinition | undefined {
  return byDi.get(normaliseDi(di));
}

/**
 * Decodes the bytes after the DI (−33H already removed) into a value. Never throws.
 * Errors: `dlt645.unknown-di`, `dlt645.value-length` (offset where the length goes wrong: the
 * payload's end when it is too short, the item's end when it is too long), `dlt645.bcd` (offset of
 * the bad byte), `dlt645.value-range` (date/time field out of range).
 */
export function decodeValue(di: string, payload: Uint8Array, options?: DecodeValueOptions): Result<DataValue, DecodeError> {
  const def = lookup(di);
  if (def === undefined) return err(decodeError('dlt645.unknown-di', `data identifier ${di} is not in the DL/T 645 dictionary`, 0));
  const node = layoutOf(def);
  const trailing = options?.trailingBytes ?? 'reject';
  const range = node.kind === 'block' ? node.range : undefined;
  let k: number | undefined;
  if (range === undefined) {
    const need = nodeLength(node, undefined);
    if (payload.length < need) return err(lengthError(def, `${need} bytes`, payload.length, payload.length));
    if (payload.length > need && trailing === 'reject') return err(lengthError(def, `${need} bytes`, payload.length, need));
  } else {
    let best: number | undefined;
    for (let t = range.min; t <= range.max; t++) {
      const n = nodeLength(node, t);
      if (n === payload.length) {
        best = t;
        break;
      }
      if (n < payload.length) best = t;
    }
    const expected = `${nodeLength(node, range.min)}..${nodeLength(node, range.max)} bytes (${range.min}..${range.max} tariffs)`;
    if (best === undefined) return err(lengthError(def, expected, payload.length, payload.length));
    const n = nodeLength(node, best);
    if (n !== payload.length && trailing === 'reject') return err(lengthError(def, expected, payload.length, n));
    k = best;
  }
  return decodeNode(node, payload, 0, k);
}

function lengthError(def: DataItemDefinition, expected: string, got: number, offset: number): DecodeError {
  return decodeError('dlt645.value-length', `${def.di} (${def.name}) takes ${expected}, got ${got}`, offset);
}

/** Encodes a value for the wire (before +33H). Throws EncodeError when it does not fit. */
export function encodeValue(di: string, value: DataValue): Uint8Array {
  const def = lookup(di);
  if (def === undefined) throw new EncodeError(`data identifier ${di} is not in the DL/T 645 dictionary`);
  const parts: Uint8Array[] = [];
  encodeNode(layoutOf(def), value, { k: undefined }, def.di, parts);
  return concatBytes(...parts);
}

/**
 * One line for logs and reports: "forward active total energy = 1234.56 kWh",
 * "voltage block (phases A, B, C) = [225.6, absent, absent] V". Never throws.
 */
export function describeValue(di: string, value: DataValue): string {
  const def = lookup(di);
  if (def === undefined) return `${di} = ${JSON.stringify(value)}`;
  return `${def.name} = ${describeNode(layoutOf(def), value)}`;
}

function describeNode(node: LayoutNode, value: DataValue): string {
  switch (node.kind) {
    case 'field': {
      const text = node.codec.text(value);
      if (node.def.bits !== undefined && typeof value === 'number') {
        const fields = decodeStatusBits(node.def.bits, value);
        const set = node.def.bits.filter((b) => Math.floor(value / 2 ** b.bit) % 2 ** b.width !== 0).map((b) => `${b.name} ${String(fields[b.name])}`);
        return `${text} (${set.length === 0 ? 'all bits 0' : set.join(', ')})`;
      }
      return withUnit(text, value, node.unit);
    }
    case 'record': {
      if (!isRecordValue(value)) return JSON.stringify(value);
      const parts = node.fields.map((f) => {
        const v = value[f.name];
        if (v === undefined) return `${f.name} ?`;
        if (f.count !== undefined && Array.isArray(v)) return `${f.name} [${(v as readonly DataValue[]).map((x) => f.codec.text(x)).join(', ')}]`;
        return `${f.name} ${withUnit(f.codec.text(v), v, f.unit)}`;
      });
      return `{${parts.join(', ')}}`;
    }
    case 'block': {
      if (!Array.isArray(value)) return JSON.stringify(value);
      const values = value as readonly DataValue[];
      const leaves = values.map((_, i) => memberAt(node, i));
      const units = new Set(leaves.map((m) => (m.kind === 'field' ? m.unit : null)));
      if (leaves.every((m) => m.kind === 'field') && units.size === 1) {
        const unit = [...units][0];
        const text = `[${values.map((v, i) => (leaves[i] as FieldNode).codec.text(v)).join(', ')}]`;
        return unit === undefined || unit === null ? text : `${text} ${unit}`;
      }
      return `[${values.map((v, i) => describeNode(leaves[i]!, v)).join('; ')}]`;
    }
  }
}

function withUnit(text: string, value: DataValue, unit: string | undefined): string {
  return unit === undefined || value === ABSENT_VALUE ? text : `${text} ${unit}`;
}

/** One value field of a layout: where it sits in the payload and how it is coded. */
export interface ValueLayoutEntry {
  /** Path into the decoded value: "" for a single value, "[1]", "time", "[2][0]", "identifiers[3]". */
  readonly path: string;
  readonly offset: number;
  readonly spec: ValueFieldSpec;
  readonly unit?: string;
}

/**
 * The value fields of a DI in wire order, for `tariffs` tariffs in tariff-dependent blocks
 * (default: the listed 4). Undefined for an unknown DI or a tariff count the block does not take.
 */
export function valueLayout(di: string, tariffs?: number): readonly ValueLayoutEntry[] | undefined {
  const def = lookup(di);
  if (def === undefined) return undefined;
  const node = layoutOf(def);
  const range = node.kind === 'block' ? node.range : undefined;
  if (tariffs !== undefined && (range === undefined || tariffs < range.min || tariffs > range.max)) return undefined;
  const out: ValueLayoutEntry[] = [];
  let offset = 0;
  const walk = (n: LayoutNode, path: string): void => {
    switch (n.kind) {
      case 'field':
        out.push({ path, offset, spec: n.codec.spec, ...(n.unit === undefined ? {} : { unit: n.unit }) });
        offset += n.codec.spec.length;
        return;
      case 'record':
        for (const f of n.fields) {
          const count = f.count ?? 1;
          for (let i = 0; i < count; i++) {
            const p = `${path === '' ? '' : `${path}.`}${f.name}${f.count === undefined ? '' : `[${i}]`}`;
            out.push({ path: p, offset, spec: f.codec.spec, ...(f.unit === undefined ? {} : { unit: f.unit }) });
            offset += f.codec.spec.length;
          }
        }
        return;
      case 'block': {
        const count = n.repeat === undefined ? n.members.length : n.repeat.from + (tariffs ?? n.members.length - n.repeat.from);
        for (let i = 0; i < count; i++) walk(memberAt(n, i), `${path}[${i}]`);
        return;
      }
    }
  };
  walk(node, '');
  return out;
}

/** Selects definitions for `dataItems`. Every given criterion must hold. */
export interface DataItemFilter {
  readonly edition?: '2007' | '1997';
  readonly category?: DataItemCategory | readonly DataItemCategory[];
  /** true: readable (read, readWrite); false: write-only. */
  readonly readable?: boolean;
  /** true: writable (write, readWrite); false: read-only. */
  readonly writable?: boolean;
  /** Leading hex digits of the DI, e.g. "0001" or "0506". */
  readonly prefix?: string;
  /** true: blocks only (items with members); false: no blocks. */
  readonly block?: boolean;
}

/** Definitions in table order, optionally filtered. */
export function dataItems(filter?: DataItemFilter | ((def: DataItemDefinition) => boolean)): readonly DataItemDefinition[] {
  if (filter === undefined) return table;
  if (typeof filter === 'function') return table.filter(filter);
  const categories = filter.category === undefined ? undefined : typeof filter.category === 'string' ? [filter.category] : filter.category;
  const prefix = filter.prefix?.toUpperCase();
  return table.filter(
    (d) =>
      (filter.edition === undefined || d.edition === filter.edition) &&
      (categories === undefined || categories.includes(d.category)) &&
      (filter.readable === undefined || (d.access !== 'write') === filter.readable) &&
      (filter.writable === undefined || (d.access !== 'read') === filter.writable) &&
      (prefix === undefined || d.di.startsWith(prefix)) &&
      (filter.block === undefined || (d.members !== undefined) === filter.block),
  );
}

/** The DL/T 645 dictionary (2007 with the 1997 items the vectors use). */
export const DICTIONARY: Dlt645Dictionary = Object.freeze({
  lookup,
  all: (): readonly DataItemDefinition[] => table,
  decodeValue,
  encodeValue,
});
