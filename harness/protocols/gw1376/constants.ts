/**
 * Q/GDW 1376.1-2013 numbers, each with where it comes from (section numbers refer to
 * ../shared/protocols/PROTOCOLS.md section 3). [BK] marks background knowledge not confirmed
 * against a retrieved source.
 */

/** Start character, twice: `68 L L 68` (3.1). */
export const START = 0x68;
/** End character (3.1). */
export const END = 0x16;

/** Offsets in a frame (3.1): 68 L1 L1 L2 L2 68 C A1 A1 A2 A2 A3 AFN SEQ ... */
export const LENGTH1_OFFSET = 1;
export const LENGTH2_OFFSET = 3;
export const START2_OFFSET = 5;
/** First byte of user data (C); L counts from here to the last AUX byte (3.1). */
export const USER_DATA_OFFSET = 6;
export const CONTROL_OFFSET = 6;
export const ADDRESS_OFFSET = 7;
export const AFN_OFFSET = 12;
export const SEQ_OFFSET = 13;
/** First byte of the data units (DA DT ...). */
export const DATA_OFFSET = 14;
/** 68 L L 68 before the user data. */
export const HEADER_LENGTH = 6;
/** 68 L L 68 + CS 16: bytes that L does not count. */
export const FRAME_OVERHEAD = 8;
/** C(1) A(5) AFN(1) SEQ(1): the fixed part of the user data. */
export const FIXED_USER_DATA_LENGTH = 8;

/** L bits 0-1: protocol id; 2 = Q/GDW 376.1 / 1376.1 (3.1 [vec]); 1 = Q/GDW 130-2005 [BK]. */
export const PROTOCOL_ID = 2;
export const PROTOCOL_ID_MASK = 0x03;
/** L bits 2-15: user-data length, at most 14 bits (3.1). */
export const MAX_USER_DATA_LENGTH = 0x3fff;
/** Largest user data on a network channel (3.1, qgdw_3761_api.h MT_FRM_MAX_*). */
export const MAX_USER_DATA_NETWORK = 16383;
/** Largest user data on a private radio channel (3.1). */
export const MAX_USER_DATA_RADIO = 255;

/** Control field C bits (3.2). */
export const C_DIR = 0x80;
export const C_PRM = 0x40;
/** D5: FCB on a downlink frame, ACD on an uplink frame (3.2). */
export const C_FCB_ACD = 0x20;
/** D4: FCV, downlink only (3.2). */
export const C_FCV = 0x10;
export const C_FUNCTION_MASK = 0x0f;

/** Function codes with PRM = 1 (initiating station), 3.2. */
export const PrmFunction = { reset: 1, userData: 4, linkTest: 9, requestClass1: 10, requestClass2: 11 } as const;
/** Function codes with PRM = 0 (responding station), 3.2. */
export const RespFunction = { confirm: 0, userDataResponse: 8, denyNoData: 9, linkStatus: 11 } as const;

export function functionName(prm: boolean, code: number): string {
  const table: Record<number, string> = prm
    ? { 1: 'reset', 4: 'userData', 9: 'linkTest', 10: 'requestClass1', 11: 'requestClass2' }
    : { 0: 'confirm', 8: 'userDataResponse', 9: 'denyNoData', 11: 'linkStatus' };
  return table[code] ?? `reserved${code}`;
}

/** Address field A (3.3): A1 area code 2 BCD bytes low first, A2 terminal 2 bytes binary LE, A3. */
export const ADDRESS_LENGTH = 5;
export const A3_GROUP = 0x01;
/** Terminal address FFFF with the group flag = broadcast (3.3). */
export const BROADCAST_TERMINAL = 0xffff;
/** Master-station address MSA: A3 D1-D7, 0..127 (3.3). */
export const MAX_MSA = 127;

/** SEQ bits (3.4). */
export const SEQ_TPV = 0x80;
export const SEQ_FIR = 0x40;
export const SEQ_FIN = 0x20;
export const SEQ_CON = 0x10;
export const SEQ_NUMBER_MASK = 0x0f;

/** Auxiliary field lengths (3.6). PW 16 bytes in 1376.1-2013 (2 bytes in older terminals [BK]). */
export const PW_LENGTH = 16;
export const EC_LENGTH = 2;
export const TP_LENGTH = 6;

/** Application function codes AFN (3.7). */
export const Afn = {
  confirmDeny: 0x00,
  reset: 0x01,
  linkTest: 0x02,
  relayCommand: 0x03,
  setParameters: 0x04,
  control: 0x05,
  authentication: 0x06,
  cascadeReport: 0x08,
  terminalConfiguration: 0x09,
  queryParameters: 0x0a,
  taskData: 0x0b,
  class1Data: 0x0c,
  class2Data: 0x0d,
  class3Data: 0x0e,
  fileTransfer: 0x0f,
  dataForwarding: 0x10,
} as const;
export type AfnName = keyof typeof Afn;

const AFN_NAMES: Readonly<Record<number, { name: string; nameZh: string }>> = {
  0x00: { name: 'confirm/deny', nameZh: '确认/否认' },
  0x01: { name: 'reset', nameZh: '复位' },
  0x02: { name: 'link test', nameZh: '链路接口检测' },
  0x03: { name: 'relay station command', nameZh: '中继站命令' },
  0x04: { name: 'set parameters', nameZh: '设置参数' },
  0x05: { name: 'control command', nameZh: '控制命令' },
  0x06: { name: 'authentication and key negotiation', nameZh: '身份认证及密钥协商' },
  0x08: { name: 'request cascaded terminal report', nameZh: '请求被级联终端主动上报' },
  0x09: { name: 'request terminal configuration', nameZh: '请求终端配置' },
  0x0a: { name: 'query parameters', nameZh: '查询参数' },
  0x0b: { name: 'request task data', nameZh: '请求任务数据' },
  0x0c: { name: 'request class 1 data (real time)', nameZh: '请求1类数据' },
  0x0d: { name: 'request class 2 data (frozen)', nameZh: '请求2类数据' },
  0x0e: { name: 'request class 3 data (events)', nameZh: '请求3类数据' },
  0x0f: { name: 'file transfer', nameZh: '文件传输' },
  0x10: { name: 'data forwarding', nameZh: '数据转发' },
};

export function afnInfo(afn: number): { name: string; nameZh: string } {
  return AFN_NAMES[afn] ?? { name: `reserved AFN ${afn.toString(16).toUpperCase().padStart(2, '0')}H`, nameZh: '备用' };
}

/** Downlink AFNs that carry PW (3.6): 01, 04, 05, 0F, 10, and 06 both ways. */
export const DEFAULT_PW_AFNS: readonly number[] = [0x01, 0x04, 0x05, 0x06, 0x0f, 0x10];

/** Data-unit identifier (3.5): DA1 DA2 DT1 DT2. */
export const DADT_LENGTH = 4;
/** Fn range of the standard (3.5); DT2 up to FFH gives F2040 (vendor extension, vector 18). */
export const MAX_STANDARD_FN = 248;
export const MAX_FN = 2040;
/** pn range (3.5). */
export const MAX_PN = 2040;

/**
 * Meter-archive protocol codes. AFN 04 F10 (COL-10, NUC97X AFN04.h:144-153): 0 = do not read,
 * 1 = DL/T 645-1997, 2 = AC sampling, 30 = DL/T 645-2007, 31 = narrowband-PLC module interface.
 * AFN 04 F249 (MeterLab's four-meter extension, docs/protocols/meterlab-four-meter-1376.md):
 * 40 = CJ/T 188-2004, 41 = EN 13757-3 M-Bus by primary address. 40/41 are MeterLab's choice (GAP-12).
 */
export const ArchiveProtocol = { none: 0, dlt645_1997: 1, acSampling: 2, dlt645_2007: 30, carrier: 31, cjt188: 40, mbus: 41 } as const;

/**
 * Port numbers of 376.1 (CON-07, NUC97X Terminal_Uart_AFN10_Forwarding.c): 1 = internal AC
 * sampling, 2-4 = RS-485 ports 1-3, 31 = carrier. MeterLab's concentrator numbers any further
 * local port (M-Bus, more RS-485) 5..30.
 */
export const Port = { acSampling: 1, rs485First: 2, carrier: 31 } as const;

/** The Fn of MeterLab's four-meter extension in AFN 04, 0A, 0C and 0D: beyond the standard's F1..F248, so it cannot collide. */
export const FOUR_METER_FN = 249;

/**
 * Curves of class 2 data (AFN 0D, COL-12): F81 total active power (有功功率曲线, A.9 kW), F89 phase A
 * voltage (A相电压曲线, A.7 V), F101 forward active total energy reading (正向有功总电能示值曲线, A.11 kWh).
 */
export const CurveFn = { activePower: 81, phaseAVoltage: 89, forwardActiveEnergy: 101 } as const;

/**
 * Td_c density m (曲线数据冻结密度, BIN 1 byte) -> minutes between points: 1 = 15 min, 2 = 30 min,
 * 3 = 60 min (public master-station code maps 1/2/3 to 15/30/60 min); 254 = 5 min and 255 = 1 min
 * [BK]. 0 = not frozen (no points) and 4..253 are reserved: no interval.
 */
export const CURVE_DENSITY_MINUTES: Readonly<Record<number, number>> = { 1: 15, 2: 30, 3: 60, 254: 5, 255: 1 };

/** Minutes between the points of Td_c density `m`, or undefined for 0 (not frozen) and reserved codes. */
export function curveDensityMinutes(m: number): number | undefined {
  return CURVE_DENSITY_MINUTES[m];
}

/** The Td_c density code of an interval in minutes (15 -> 1), or undefined when 376.1 has none. */
export function curveDensityOf(minutes: number): number | undefined {
  for (const [m, min] of Object.entries(CURVE_DENSITY_MINUTES)) if (min === minutes) return Number(m);
  return undefined;
}
