/**
 * The one Q/GDW 1376.1 data dictionary: Fn per AFN with its name from the standard (English and
 * Chinese), whether pn is p0 or a measuring point, and the layout of the data unit in each
 * direction (PROTOCOLS.md 3.7 - 3.9). The codec, future simulators (concentrator, master
 * station), suites and reports read it; nobody re-types a table.
 *
 * A layout is a list of fields in wire order. A field is a fixed-length format (formats.ts), or a
 * repetition whose count comes from an earlier field (`count`, plus `plus`: M tariffs give M + 1
 * values), or runs to the end of the data-unit region (`untilEnd`, only for the last unit of a
 * frame), or length-prefixed records (ERC events), or length-prefixed bytes (forwarded frames).
 * A direction without a layout (`undefined`) is unknown: the unit's bytes run to the end of the
 * region and are kept opaque. An empty layout means "no data" (a request that only names Fn).
 * Layouts recalled rather than read in a source are marked `bk: true` ([BK]).
 */
import { decodeError, EncodeError, type DecodeError } from '../../core/errors.ts';
import { concatBytes, toHex } from '../../core/bytes.ts';
import { err, ok, type Result } from '../../core/result.ts';
import { A1, A11, A12, A14, A15, A20, A7, A9, ascii, bin, bytesOf, eeFilled, ML7, type FieldValue, type Format } from './formats.ts';

export type Field =
  | { readonly name: string; readonly format: Format }
  | { readonly name: string; readonly repeat: readonly Field[]; readonly count: string; readonly plus?: number }
  | { readonly name: string; readonly repeat: readonly Field[]; readonly untilEnd: true }
  /** ERC records (AFN 0E): ERC(1) Le(1) data(Le), until `count` records or the end. */
  | { readonly name: string; readonly records: 'erc'; readonly count?: string }
  /** Length (BIN, `lengthBytes`) then that many bytes. */
  | { readonly name: string; readonly lengthPrefixed: number };

export type Layout = readonly Field[];

/** A decoded data unit: field name -> value (repetitions as arrays of such objects). */
export interface UnitValue {
  readonly [field: string]: FieldValue | UnitValue | readonly UnitValue[];
}

export interface FnDefinition {
  readonly afn: number;
  readonly fn: number;
  readonly name: string;
  readonly nameZh: string;
  /** 'p0' = terminal (pn 0), 'point' = measuring point pn, 'any'. */
  readonly pn: 'p0' | 'point' | 'any';
  /** Data in the downlink frame (master -> terminal); undefined = unknown (opaque). */
  readonly down?: Layout;
  /** Data in the uplink frame (terminal -> master); undefined = unknown (opaque). */
  readonly up?: Layout;
  readonly bk?: boolean;
  readonly note?: string;
}

// ---------------------------------------------------------------------------------------------
// Layout pieces

const f = (name: string, format: Format): Field => ({ name, format });
const NONE: Layout = [];
/** Reading time A.15, tariff count M, then M + 1 values (total, T1..TM). */
const tariffs = (name: string, format: Format): Field => ({ name, repeat: [f('value', format)], count: 'tariffCount', plus: 1 });

/**
 * Td_c, the time of curve data (AFN 0D curves, COL-12): start time A.15 (mm hh DD MM YY), density
 * m (BIN 1: 1 = 15 min, 2 = 30, 3 = 60, 254 = 5, 255 = 1 [BK]; constants.ts CURVE_DENSITY_MINUTES),
 * point count n (BIN 1). Sources: public master-station code (m -> minutes) and a test tool that
 * sends "mmhhDDMMyy" + m + n.
 */
const TD_C: Layout = [f('start', A15), f('density', bin(1)), f('pointCount', bin(1))];
/** A curve reply: Td_c, then n points of `format`; a point with no data is EEH-filled (null). */
const curve = (format: Format): Layout => [...TD_C, { name: 'points', repeat: [f('value', eeFilled(format))], count: 'pointCount' }];

/** AFN 04 F10 / AFN 0A F10 meter archive record, 27 bytes [BK]. */
const METER_ARCHIVE_RECORD: Layout = [
  f('serial', bin(2)),
  f('pn', bin(2)),
  /** D7-D5 baud code, D4-D0 port [BK]. */
  f('rateAndPort', bin(1)),
  /** 1 = DL/T 645-1997, 30 = DL/T 645-2007, 2 = AC sampling, 31 = carrier 1376.2 [BK]. */
  f('protocol', bin(1)),
  f('address', A12),
  f('password', bytesOf(6, 'meter password')),
  /** D5-D0 number of tariffs [BK]. */
  f('tariffs', bin(1)),
  /** D3-D2 integer digits - 4, D1-D0 decimal digits - 1 [BK]. */
  f('digits', bin(1)),
  f('collectorAddress', A12),
  /** D7-D4 user class, D3-D0 meter class [BK]. */
  f('classes', bin(1)),
];

/**
 * AFN 04 F1 / AFN 0A F1 terminal uplink communication parameters (CON-01, NUC97X AFN04.h:34-39):
 * RTS delay (x 20 ms), the master's permitted transmit delay in minutes (the Tp window), response
 * timeout in s (D11-D0) and retries (D13-D12), CON flags (D0 class 1, D1 class 2, D2 class 3 active
 * reports need the master's confirmation), heartbeat period in minutes. Byte layout [BK].
 */
const UPLINK_PARAMETERS: Layout = [
  f('rtsDelay20ms', bin(1)),
  f('tpDelayMinutes', bin(1)),
  f('timeoutAndRetries', bin(2)),
  f('conFlags', bin(1)),
  f('heartbeatMinutes', bin(1)),
];

/**
 * The four-meter archive record (AFN 04 / 0A F249), MeterLab's (docs/protocols/meterlab-four-meter-1376.md):
 * 376.1 F10 has a 6-byte address and no protocol code for CJ/T 188 or M-Bus (COL-10, GAP-12).
 */
const FOUR_METER_RECORD: Layout = [
  f('serial', bin(2)),
  f('pn', bin(2)),
  /** 376.1 port number (CON-07: 2-4 RS-485 1-3; MeterLab: any 2..30 local port, RS-485 or M-Bus). */
  f('port', bin(1)),
  /** FOUR_METER_PROTOCOL: 40 = CJ/T 188-2004, 41 = EN 13757-3 M-Bus (primary address). */
  f('protocol', bin(1)),
  /** CJ/T 188 meter type T (10H cold water, 20H heat, 30H gas, ...) or M-Bus medium (04H heat). */
  f('meterType', bin(1)),
  /** CJ/T 188: its 14-digit address; M-Bus: the primary address 1..250 as 14 digits. */
  f('address', ML7),
];

/** AFN 00 F3 item: AFN then {DA DT ERR} until the end (PROTOCOLS.md 3.7, vector 8). */
const CONFIRM_ITEMS: Layout = [f('afn', bin(1)), { name: 'items', repeat: [f('da', bytesOf(2, 'DA1 DA2')), f('dt', bytesOf(2, 'DT1 DT2')), f('err', bin(1))], untilEnd: true }];

// ---------------------------------------------------------------------------------------------
// The entries

const D: FnDefinition[] = [
  // AFN 00 confirm / deny (3.7)
  { afn: 0x00, fn: 1, name: 'all confirmed', nameZh: '全部确认', pn: 'p0', down: NONE, up: NONE },
  { afn: 0x00, fn: 2, name: 'all denied', nameZh: '全部否认', pn: 'p0', down: NONE, up: NONE },
  { afn: 0x00, fn: 3, name: 'confirm/deny per data unit', nameZh: '按数据单元标识确认和否认', pn: 'p0', down: CONFIRM_ITEMS, up: CONFIRM_ITEMS, note: 'ERR 00 = correct, 01 = error / denied' },
  // AFN 01 reset (3.7); the reply is AFN 00
  { afn: 0x01, fn: 1, name: 'hardware initialisation', nameZh: '硬件初始化', pn: 'p0', down: NONE },
  { afn: 0x01, fn: 2, name: 'data-area initialisation', nameZh: '数据区初始化', pn: 'p0', down: NONE },
  { afn: 0x01, fn: 3, name: 'parameter and full data-area initialisation (factory reset)', nameZh: '参数及全体数据区初始化', pn: 'p0', down: NONE },
  { afn: 0x01, fn: 4, name: 'parameter (except communication) and data-area initialisation', nameZh: '参数（除与系统主站通信有关的）及全体数据区初始化', pn: 'p0', down: NONE },
  // AFN 02 link test (3.7, vectors 0-12)
  { afn: 0x02, fn: 1, name: 'login', nameZh: '登录', pn: 'p0', up: NONE },
  { afn: 0x02, fn: 2, name: 'logout', nameZh: '退出登录', pn: 'p0', up: NONE },
  { afn: 0x02, fn: 3, name: 'heartbeat', nameZh: '心跳', pn: 'p0', up: NONE },
  // AFN 04 set parameters; the reply is AFN 00
  { afn: 0x04, fn: 1, name: 'terminal uplink communication parameters', nameZh: '终端上行通信口通信参数设置', pn: 'p0', down: UPLINK_PARAMETERS, bk: true, note: 'CON-01; timeoutAndRetries D11-D0 s, D13-D12 retries' },
  {
    afn: 0x04,
    fn: 249,
    name: 'four-meter archive (water, gas, heat meters) [MeterLab]',
    nameZh: '四表档案（MeterLab扩展）',
    pn: 'p0',
    down: [f('count', bin(2)), { name: 'meters', repeat: FOUR_METER_RECORD, count: 'count' }],
    bk: true,
    note: "MeterLab's extension beyond F248 (docs/protocols/meterlab-four-meter-1376.md): the four-meter extension of 1376.1 is not public (GAP-12)",
  },
  {
    afn: 0x04,
    fn: 10,
    name: 'meter archive (electricity meter / AC sampling configuration)',
    nameZh: '终端电能表/交流采样装置配置参数',
    pn: 'p0',
    down: [f('count', bin(2)), { name: 'meters', repeat: METER_ARCHIVE_RECORD, count: 'count' }],
    bk: true,
  },
  // AFN 05 control (3.7); the reply is AFN 00
  { afn: 0x05, fn: 1, name: 'remote trip', nameZh: '遥控跳闸', pn: 'point', down: [f('limitAndDelay', bin(1))], bk: true, note: 'pn = control round; D7-D4 power-limit time, D3-D0 alarm delay [BK]' },
  { afn: 0x05, fn: 2, name: 'allow close', nameZh: '允许合闸', pn: 'point', down: NONE, bk: true },
  { afn: 0x05, fn: 25, name: 'keep power on', nameZh: '终端保电投入', pn: 'p0', down: [f('durationHalfHours', bin(1))], bk: true, note: '0 = until released [BK]' },
  { afn: 0x05, fn: 26, name: 'payment-reminder alarm on', nameZh: '催费告警投入', pn: 'p0', down: undefined },
  { afn: 0x05, fn: 31, name: 'time synchronisation', nameZh: '对时命令', pn: 'p0', down: [f('clock', A1)] },
  { afn: 0x05, fn: 33, name: 'keep power off (released)', nameZh: '终端保电解除', pn: 'p0', down: NONE, bk: true },
  { afn: 0x05, fn: 34, name: 'payment-reminder alarm off', nameZh: '催费告警解除', pn: 'p0', down: NONE, bk: true },
  { afn: 0x05, fn: 49, name: 'pause meter reading on a port', nameZh: '命令指定通信端口暂停抄表', pn: 'p0', down: [f('port', bin(1))], bk: true },
  { afn: 0x05, fn: 50, name: 'resume meter reading on a port', nameZh: '命令指定通信端口恢复抄表', pn: 'p0', down: [f('port', bin(1))], bk: true },
  { afn: 0x05, fn: 51, name: 'restart meter reading on a port', nameZh: '命令指定通信端口重新抄表', pn: 'p0', down: [f('port', bin(1))], bk: true },
  // AFN 09 terminal configuration (vector 15)
  {
    afn: 0x09,
    fn: 1,
    name: 'terminal version information',
    nameZh: '终端版本信息',
    pn: 'p0',
    down: NONE,
    up: [f('vendor', ascii(4)), f('deviceNumber', ascii(8)), f('softwareVersion', ascii(4)), f('softwareDate', A20), f('capacityCode', ascii(11)), f('protocolVersion', ascii(4)), f('hardwareVersion', ascii(4)), f('hardwareDate', A20)],
    bk: true,
  },
  // AFN 0A query parameters (vectors 16, 17)
  {
    afn: 0x0a,
    fn: 10,
    name: 'meter archive (electricity meter / AC sampling configuration)',
    nameZh: '终端电能表/交流采样装置配置参数',
    pn: 'p0',
    down: [f('count', bin(2)), { name: 'serials', repeat: [f('serial', bin(2))], count: 'count' }],
    up: [f('count', bin(2)), { name: 'meters', repeat: METER_ARCHIVE_RECORD, count: 'count' }],
    bk: true,
  },
  { afn: 0x0a, fn: 1, name: 'terminal uplink communication parameters', nameZh: '终端上行通信口通信参数', pn: 'p0', down: NONE, up: UPLINK_PARAMETERS, bk: true },
  {
    afn: 0x0a,
    fn: 249,
    name: 'four-meter archive (water, gas, heat meters) [MeterLab]',
    nameZh: '四表档案（MeterLab扩展）',
    pn: 'p0',
    down: [f('count', bin(2)), { name: 'serials', repeat: [f('serial', bin(2))], count: 'count' }],
    up: [f('count', bin(2)), { name: 'meters', repeat: FOUR_METER_RECORD, count: 'count' }],
    bk: true,
    note: "MeterLab's extension (docs/protocols/meterlab-four-meter-1376.md)",
  },
  { afn: 0x0a, fn: 85, name: 'F85 (2013 or regional addition)', nameZh: 'F85', pn: 'p0', down: NONE, note: 'request seen in the wild (vector 16); reply layout unknown' },
  { afn: 0x0a, fn: 89, name: 'F89 (2013 or regional addition)', nameZh: 'F89', pn: 'p0', down: NONE, note: 'request seen in the wild (vector 17); reply layout unknown' },
  // AFN 0C class 1 data (3.7, vectors 13, 14)
  { afn: 0x0c, fn: 2, name: 'terminal clock', nameZh: '终端日历时钟', pn: 'p0', down: NONE, up: [f('clock', A1)] },
  {
    afn: 0x0c,
    fn: 33,
    name: 'current forward active/reactive energy (total, T1..TM)',
    nameZh: '当前正向有/无功电能示值、一/四象限无功电能示值',
    pn: 'point',
    down: NONE,
    up: [f('readingTime', A15), f('tariffCount', bin(1)), tariffs('forwardActive', A14), tariffs('forwardReactive', A11), tariffs('quadrant1Reactive', A11), tariffs('quadrant4Reactive', A11)],
    bk: true,
  },
  {
    afn: 0x0c,
    fn: 129,
    name: 'current forward active energy (total, T1..TM)',
    nameZh: '当前正向有功电能示值',
    pn: 'point',
    down: NONE,
    up: [f('readingTime', A15), f('tariffCount', bin(1)), tariffs('forwardActive', A14)],
    bk: true,
  },
  {
    afn: 0x0c,
    fn: 161,
    name: 'meter remote switch state',
    nameZh: '电能表远程控制通断电状态及记录',
    pn: 'point',
    down: NONE,
    up: [f('readingTime', A15), f('state', bin(1)), f('lastOnTime', A15), f('lastOffTime', A15)],
    bk: true,
    note: 'state 00 = off, 11H = on (PROTOCOLS.md 3.7)',
  },
  {
    afn: 0x0c,
    fn: 167,
    name: 'meter purchase and usage information',
    nameZh: '电能表购、用电信息',
    pn: 'point',
    down: NONE,
    up: [
      f('readingTime', A15),
      f('purchaseCount', bin(2)),
      f('remainingMoney', A14),
      f('totalPurchaseMoney', A14),
      f('remainingEnergy', A11),
      f('overdraftEnergy', A11),
      f('totalPurchaseEnergy', A11),
      f('creditLimitEnergy', A11),
      f('alarmEnergy', A11),
      f('faultEnergy', A11),
    ],
    bk: true,
    note: 'money A.14, energy A.11 from qgdw_3761_api.h sMtAfn0cf167_f; field order [BK]',
  },
  { afn: 0x0c, fn: 25, name: 'current power, voltage, current', nameZh: '当前三相及总有/无功功率、功率因数，三相电压、电流、零序电流、视在功率', pn: 'point', down: NONE },
  {
    afn: 0x0c,
    fn: 249,
    name: 'current reading of a water, gas or heat meter [MeterLab]',
    nameZh: '四表当前数据（MeterLab扩展）',
    pn: 'point',
    down: NONE,
    up: [f('readingTime', A15), f('meterType', bin(1)), f('unit', bin(1)), f('value', A14), f('status', bytesOf(2, 'CJ/T 188 ST, low byte first (M-Bus: 00 00)'))],
    bk: true,
    note: "MeterLab's extension: value in the CJ/T 188 unit `unit` (2CH m³, 05H kWh) (docs/protocols/meterlab-four-meter-1376.md)",
  },
  // AFN 0D class 2 data (3.7)
  {
    afn: 0x0d,
    fn: 81,
    name: 'total active power curve',
    nameZh: '有功功率曲线',
    pn: 'point',
    down: TD_C,
    up: curve(A9),
    bk: true,
    note: 'Td_c (start A.15, density m, n) then n points A.9 kW (signed); EEH = no data (COL-12)',
  },
  {
    afn: 0x0d,
    fn: 89,
    name: 'phase A voltage curve',
    nameZh: 'A相电压曲线',
    pn: 'point',
    down: TD_C,
    up: curve(A7),
    bk: true,
    note: 'Td_c (start A.15, density m, n) then n points A.7 V; EEH = no data (COL-12)',
  },
  {
    afn: 0x0d,
    fn: 101,
    name: 'forward active total energy reading curve',
    nameZh: '正向有功总电能示值曲线',
    pn: 'point',
    down: TD_C,
    up: curve(A11),
    bk: true,
    note: 'Td_c (start A.15, density m, n) then n points A.11 kWh; EEH = no data (COL-12)',
  },
  {
    afn: 0x0d,
    fn: 161,
    name: 'daily frozen forward active energy (total, T1..TM)',
    nameZh: '日冻结正向有功电能示值',
    pn: 'point',
    down: [f('day', A20)],
    up: [f('day', A20), f('readingTime', A15), f('tariffCount', bin(1)), tariffs('forwardActive', A14)],
    bk: true,
    note: 'Td_d A.20 in request and reply [BK]',
  },
  {
    afn: 0x0d,
    fn: 177,
    name: 'monthly frozen forward active energy (total, T1..TM)',
    nameZh: '月冻结正向有功电能示值',
    pn: 'point',
    down: [f('month', bytesOf(2, 'Td_m MM YY (A.21) [BK]'))],
    up: [f('month', bytesOf(2, 'Td_m MM YY (A.21) [BK]')), f('readingTime', A15), f('tariffCount', bin(1)), tariffs('forwardActive', A14)],
    bk: true,
  },
  {
    afn: 0x0d,
    fn: 249,
    name: 'daily frozen reading of a water, gas or heat meter [MeterLab]',
    nameZh: '四表日冻结数据（MeterLab扩展）',
    pn: 'point',
    down: [f('day', A20)],
    up: [f('day', A20), f('readingTime', A15), f('meterType', bin(1)), f('unit', bin(1)), f('value', A14)],
    bk: true,
    note: "MeterLab's extension: the reading the concentrator stored for the day (a meter without a daily freeze: read after 00:00 of the next day, COL-03)",
  },
  // AFN 0E class 3 data, events (3.7)
  {
    afn: 0x0e,
    fn: 1,
    name: 'important events',
    nameZh: '请求重要事件',
    pn: 'p0',
    down: [f('pm', bin(1)), f('pn', bin(1))],
    up: [f('ec1', bin(1)), f('ec2', bin(1)), f('pm', bin(1)), f('pn', bin(1)), { name: 'events', records: 'erc' }],
    bk: true,
    note: 'pm/pn: start/end event pointers; records ERC Le data until the end [BK]',
  },
  {
    afn: 0x0e,
    fn: 2,
    name: 'normal events',
    nameZh: '请求一般事件',
    pn: 'p0',
    down: [f('pm', bin(1)), f('pn', bin(1))],
    up: [f('ec1', bin(1)), f('ec2', bin(1)), f('pm', bin(1)), f('pn', bin(1)), { name: 'events', records: 'erc' }],
    bk: true,
  },
  // AFN 10 data forwarding (3.8)
  {
    afn: 0x10,
    fn: 1,
    name: 'transparent forwarding',
    nameZh: '透明转发',
    pn: 'p0',
    down: [f('port', bin(1)), f('controlWord', bin(1)), f('frameTimeout', bin(1)), f('byteTimeout', bin(1)), { name: 'content', lengthPrefixed: 2 }],
    up: [f('port', bin(1)), { name: 'content', lengthPrefixed: 2 }],
    bk: true,
    note: 'downlink from PROTOCOLS.md 3.8 (control-word and timeout bit maps [BK]); uplink port + length + content [BK]',
  },
];

/** ERC (event record code) layouts for AFN 0E records [BK]. Unknown ERCs keep their bytes. */
export const ERC_LAYOUTS: Readonly<Record<number, { readonly name: string; readonly nameZh: string; readonly layout: Layout }>> = {
  14: { name: 'terminal power off/on', nameZh: '终端停/上电事件', layout: [f('offTime', A15), f('onTime', A15)] },
  39: {
    name: 'failed re-read (补抄失败) [layout MeterLab]',
    nameZh: '补抄失败事件',
    layout: [f('pn', bin(2)), f('time', A15), f('day', A20)],
  },
  31: {
    name: 'meter reading failed (485 re-read failure)',
    nameZh: '终端485抄表失败事件',
    layout: [f('pnAndFlag', bin(2)), f('time', A15), f('lastSuccessTime', A15), f('lastForwardActive', A14), f('lastForwardReactive', A11)],
  },
};

const BY_KEY = new Map<number, FnDefinition>(D.map((d) => [(d.afn << 16) | d.fn, d]));

/** Every dictionary entry, in AFN and Fn order. */
export const DICTIONARY: readonly FnDefinition[] = [...D].sort((a, b) => a.afn - b.afn || a.fn - b.fn);

export function lookupFn(afn: number, fn: number): FnDefinition | undefined {
  return BY_KEY.get((afn << 16) | fn);
}

/**
 * Directions in which an AFN carries no data for any Fn, so that an Fn missing from the dictionary
 * is still read (as no data) instead of turned opaque [BK]: requests for class 1 data (0C),
 * terminal configuration (09) and resets (01), and the terminal's link tests (02, uplink).
 */
export const NO_DATA_DIRECTIONS: readonly { readonly afn: number; readonly uplink: boolean }[] = [
  { afn: 0x01, uplink: false },
  { afn: 0x02, uplink: true },
  { afn: 0x09, uplink: false },
  { afn: 0x0c, uplink: false },
];

/** The layout for one direction (`uplink` = DIR 1), or undefined when unknown. */
export function layoutFor(afn: number, fn: number, uplink: boolean): Layout | undefined {
  const d = lookupFn(afn, fn);
  const layout = d === undefined ? undefined : uplink ? d.up : d.down;
  if (layout === undefined && NO_DATA_DIRECTIONS.some((x) => x.afn === afn && x.uplink === uplink)) return NONE;
  return layout;
}

// ---------------------------------------------------------------------------------------------
// Decoding and encoding a layout

export const VALUE_ERROR_CODES = ['gw1376.value-length', 'gw1376.bcd'] as const;

/**
 * Decodes one data unit by `layout` from `bytes[at..end)`. Returns the value and the offset just
 * past it. Errors: `gw1376.value-length` (the region ends inside the unit), `gw1376.bcd` (a field
 * not valid for its format); offsets absolute in `bytes` (+ `base` when bytes is a sub-array).
 */
export function decodeLayout(layout: Layout, bytes: Uint8Array, at: number, end: number, base = 0): Result<{ value: UnitValue; next: number }, DecodeError> {
  const out: Record<string, UnitValue[string]> = {};
  let p = at;
  for (const field of layout) {
    if ('format' in field) {
      const len = field.format.length;
      if (p + len > end) return err(short(field.name, len, end - p, base + p));
      const v = field.format.decode(bytes, p);
      if (v === undefined) return err(decodeError('gw1376.bcd', `${field.name}: bytes ${toHex(bytes.subarray(p, p + len))} are not valid ${field.format.id}`, base + p));
      out[field.name] = v;
      p += len;
    } else if ('repeat' in field) {
      const items: UnitValue[] = [];
      if ('untilEnd' in field) {
        while (p < end) {
          const r = decodeLayout(field.repeat, bytes, p, end, base);
          if (!r.ok) return r;
          items.push(r.value.value);
          p = r.value.next;
        }
      } else {
        const c = out[field.count];
        const count = (typeof c === 'number' ? c : 0) + (field.plus ?? 0);
        for (let i = 0; i < count; i++) {
          const r = decodeLayout(field.repeat, bytes, p, end, base);
          if (!r.ok) return r;
          items.push(r.value.value);
          p = r.value.next;
        }
      }
      out[field.name] = items;
    } else if ('records' in field) {
      const items: UnitValue[] = [];
      while (p < end) {
        if (p + 2 > end) return err(short(`${field.name} ERC Le`, 2, end - p, base + p));
        const erc = bytes[p]!;
        const le = bytes[p + 1]!;
        if (p + 2 + le > end) return err(short(`${field.name} ERC${erc}`, le, end - p - 2, base + p + 2));
        const known = ERC_LAYOUTS[erc];
        let record: UnitValue = { erc, length: le, data: toHex(bytes.subarray(p + 2, p + 2 + le)) };
        if (known) {
          const r = decodeLayout(known.layout, bytes, p + 2, p + 2 + le, base);
          if (r.ok && r.value.next === p + 2 + le) record = { erc, length: le, name: known.name, fields: r.value.value };
        }
        items.push(record);
        p += 2 + le;
      }
      out[field.name] = items;
    } else {
      const lb = field.lengthPrefixed;
      if (p + lb > end) return err(short(`${field.name} length`, lb, end - p, base + p));
      let len = 0;
      for (let i = lb - 1; i >= 0; i--) len = len * 256 + bytes[p + i]!;
      if (p + lb + len > end) return err(short(field.name, len, end - p - lb, base + p + lb));
      out[field.name] = toHex(bytes.subarray(p + lb, p + lb + len));
      p += lb + len;
    }
  }
  return ok({ value: out, next: p });
}

function short(name: string, need: number, have: number, offset: number): DecodeError {
  return decodeError('gw1376.value-length', `${name}: needs ${need} byte(s), the data unit region has ${Math.max(0, have)} left`, offset);
}

/** Inverse of decodeLayout. Throws EncodeError for a value that does not fit the layout. */
export function encodeLayout(layout: Layout, value: UnitValue): Uint8Array {
  if (typeof value !== 'object' || value === null) throw new EncodeError('a data unit value must be an object');
  const parts: Uint8Array[] = [];
  for (const field of layout) {
    const v = value[field.name];
    if ('format' in field) {
      parts.push(field.format.encode((v ?? null) as FieldValue));
    } else if ('repeat' in field) {
      if (!Array.isArray(v)) throw new EncodeError(`${field.name} must be an array`);
      if (!('untilEnd' in field)) {
        const c = value[field.count];
        const count = (typeof c === 'number' ? c : -1) + (field.plus ?? 0);
        if (count !== v.length) throw new EncodeError(`${field.name} has ${v.length} item(s) but ${field.count}${field.plus ? ` + ${field.plus}` : ''} says ${count}`);
      }
      for (const item of v as readonly UnitValue[]) parts.push(encodeLayout(field.repeat, item));
    } else if ('records' in field) {
      if (!Array.isArray(v)) throw new EncodeError(`${field.name} must be an array of ERC records`);
      for (const rec of v as readonly UnitValue[]) {
        const erc = rec.erc;
        if (typeof erc !== 'number' || !Number.isInteger(erc) || erc < 0 || erc > 255) throw new EncodeError(`ERC must be 0..255, got ${JSON.stringify(erc)}`);
        const known = ERC_LAYOUTS[erc];
        const data = known && rec.fields !== undefined ? encodeLayout(known.layout, rec.fields as UnitValue) : bytesOf(typeof rec.length === 'number' ? rec.length : -1).encode(rec.data as FieldValue);
        if (data.length > 255) throw new EncodeError(`ERC${erc} record of ${data.length} bytes exceeds 255`);
        parts.push(Uint8Array.of(erc, data.length), data);
      }
    } else {
      const hexText = typeof v === 'string' ? v.replace(/\s+/g, '') : null;
      if (hexText === null || hexText.length % 2 !== 0) throw new EncodeError(`${field.name} must be hex text`);
      const data = bytesOf(hexText.length / 2).encode(hexText);
      if (data.length >= 2 ** (8 * field.lengthPrefixed)) throw new EncodeError(`${field.name} is too long for its ${field.lengthPrefixed}-byte length`);
      parts.push(bin(field.lengthPrefixed).encode(data.length), data);
    }
  }
  return concatBytes(...parts);
}
