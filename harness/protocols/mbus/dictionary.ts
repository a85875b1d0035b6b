/**
 * The M-Bus data dictionary: what a value information block (VIF + VIFEs) means. ONE table,
 * read by the codec (records.ts), the JSON renderings, and later the heat-meter simulator, the
 * master and the suites: nobody re-types it.
 *
 * - `PRIMARY_VIFS`: the primary VIF table (VIF with the E bit masked, MBUS.md 9).
 * - `FD_VIFS`: the main extension table selected by VIF FD, first VIFE (MBUS.md 10).
 * - `FB_VIFS`: the alternate extension table selected by VIF FB, first VIFE (MBUS.md 10).
 * - `COMBINABLE_VIFES`: the orthogonal VIFEs that may follow (MBUS.md 10, partly [BK]).
 *
 * Each entry gives the quantity, the unit of the scaled value and the scale (value in `unit` =
 * raw value × scale). Units are written in ASCII as libmbus writes them ("m^3", "m^3/h"); °C and
 * °F keep their degree sign. [BK] marks an entry MBUS.md does not confirm.
 */

export type VifTable = 'primary' | 'fd' | 'fb';

/** How the data of a record with this VIF is to be read, when not as a plain number. */
export type VifCoding = 'date' | 'dateTime' | 'identity';

export interface VifEntry {
  readonly table: VifTable;
  /** The VIF (primary) or the first VIFE (FD, FB) with its E bit masked. */
  readonly code: number;
  readonly quantity: string;
  /** Unit of raw × scale; '' for counts, identities and dimensionless values. */
  readonly unit: string;
  readonly scale: number;
  /** Decimal exponent when scale is a power of ten, for "10^(n-3) Wh" style text. */
  readonly exponent?: number;
  readonly coding?: VifCoding;
  /** Reserved code: decoded, but it carries no defined meaning. */
  readonly reserved?: true;
  /** Not confirmed by MBUS.md. */
  readonly bk?: true;
}

/** Powers of ten as literals (correctly rounded, as a C compiler reads `1.0e-3`). */
export function powerOfTen(exponent: number): number {
  return Number(`1e${exponent}`);
}

/** Seconds per time unit of the 2-bit "nn" codes: s, min, h, d (MBUS.md 9). */
const TIME_UNITS_S = [1, 60, 3600, 86400] as const;

type Builder = (table: VifTable) => VifEntry[];

function decimal(first: number, count: number, quantity: string, unit: string, exponentAtFirst: number, bk?: true): Builder {
  return (table) =>
    Array.from({ length: count }, (_, n) => ({
      table,
      code: first + n,
      quantity,
      unit,
      scale: powerOfTen(exponentAtFirst + n),
      exponent: exponentAtFirst + n,
      ...(bk ? { bk } : {}),
    }));
}

function durations(first: number, quantity: string, units: readonly (number | 'month' | 'year')[], bk?: true): Builder {
  return (table) =>
    units.map((u, n) => ({
      table,
      code: first + n,
      quantity,
      // Months and years are calendar units, not a fixed number of seconds: kept as they are.
      unit: typeof u === 'number' ? 's' : u,
      scale: typeof u === 'number' ? u : 1,
      ...(bk ? { bk } : {}),
    }));
}

function single(code: number, quantity: string, options: Partial<Pick<VifEntry, 'unit' | 'coding' | 'reserved' | 'bk' | 'scale'>> = {}): Builder {
  return (table) => [{ table, code, quantity, unit: options.unit ?? '', scale: options.scale ?? 1, ...options }];
}

function reserved(first: number, last: number): Builder {
  return (table) => Array.from({ length: last - first + 1 }, (_, n) => ({ table, code: first + n, quantity: 'Reserved', unit: '', scale: 1, reserved: true as const }));
}

function build(table: VifTable, builders: readonly Builder[]): ReadonlyMap<number, VifEntry> {
  const out = new Map<number, VifEntry>();
  for (const b of builders) {
    for (const e of b(table)) {
      if (out.has(e.code)) throw new Error(`dictionary: ${table} code ${e.code.toString(16)} defined twice`);
      out.set(e.code, e);
    }
  }
  return out;
}

/** Primary VIF table (MBUS.md 9). 7B, 7C, 7D, 7E, 7F are not quantities: see `decodeVib`. */
export const PRIMARY_VIFS: ReadonlyMap<number, VifEntry> = build('primary', [
  decimal(0x00, 8, 'Energy', 'Wh', -3),
  decimal(0x08, 8, 'Energy', 'J', 0),
  decimal(0x10, 8, 'Volume', 'm^3', -6),
  decimal(0x18, 8, 'Mass', 'kg', -3),
  durations(0x20, 'On time', TIME_UNITS_S),
  durations(0x24, 'Operating time', TIME_UNITS_S),
  decimal(0x28, 8, 'Power', 'W', -3),
  decimal(0x30, 8, 'Power', 'J/h', 0),
  decimal(0x38, 8, 'Volume flow', 'm^3/h', -6),
  decimal(0x40, 8, 'Volume flow', 'm^3/min', -7),
  decimal(0x48, 8, 'Volume flow', 'm^3/s', -9),
  decimal(0x50, 8, 'Mass flow', 'kg/h', -3),
  decimal(0x58, 4, 'Flow temperature', '°C', -3),
  decimal(0x5c, 4, 'Return temperature', '°C', -3),
  decimal(0x60, 4, 'Temperature difference', 'K', -3),
  decimal(0x64, 4, 'External temperature', '°C', -3),
  decimal(0x68, 4, 'Pressure', 'bar', -3),
  single(0x6c, 'Time point (date)', { coding: 'date' }),
  single(0x6d, 'Time point (date & time)', { coding: 'dateTime' }),
  single(0x6e, 'Units for H.C.A.'),
  reserved(0x6f, 0x6f),
  durations(0x70, 'Averaging duration', TIME_UNITS_S),
  durations(0x74, 'Actuality duration', TIME_UNITS_S),
  single(0x78, 'Fabrication number', { coding: 'identity' }),
  single(0x79, 'Enhanced identification', { coding: 'identity' }),
  single(0x7a, 'Bus address', { coding: 'identity' }),
]);

/** Main extension table after VIF FD, selected by the first VIFE (MBUS.md 10). */
export const FD_VIFS: ReadonlyMap<number, VifEntry> = build('fd', [
  decimal(0x00, 4, 'Credit', 'currency units', -3),
  decimal(0x04, 4, 'Debit', 'currency units', -3),
  single(0x08, 'Access number'),
  single(0x09, 'Medium'),
  single(0x0a, 'Manufacturer'),
  single(0x0b, 'Parameter set identification', { coding: 'identity' }),
  single(0x0c, 'Model / version'),
  single(0x0d, 'Hardware version'),
  single(0x0e, 'Firmware version'),
  single(0x0f, 'Software version'),
  single(0x10, 'Customer location', { coding: 'identity' }),
  single(0x11, 'Customer', { coding: 'identity' }),
  single(0x12, 'Access code user'),
  single(0x13, 'Access code operator'),
  single(0x14, 'Access code system operator'),
  single(0x15, 'Access code developer'),
  single(0x16, 'Password'),
  single(0x17, 'Error flags'),
  single(0x18, 'Error mask'),
  reserved(0x19, 0x19),
  single(0x1a, 'Digital output'),
  single(0x1b, 'Digital input'),
  single(0x1c, 'Baud rate', { unit: 'Bd' }),
  single(0x1d, 'Response delay time', { unit: 'bit times' }),
  single(0x1e, 'Retry'),
  reserved(0x1f, 0x1f),
  single(0x20, 'First storage number for cyclic storage'),
  single(0x21, 'Last storage number for cyclic storage'),
  single(0x22, 'Size of storage block'),
  reserved(0x23, 0x23),
  durations(0x24, 'Storage interval', [...TIME_UNITS_S, 'month', 'year']),
  reserved(0x2a, 0x2b),
  durations(0x2c, 'Duration since last readout', TIME_UNITS_S),
  single(0x30, 'Start of tariff', { coding: 'dateTime' }),
  durations(0x31, 'Duration of tariff', [60, 3600, 86400]),
  durations(0x34, 'Period of tariff', [...TIME_UNITS_S, 'month', 'year']),
  single(0x3a, 'Dimensionless'),
  reserved(0x3b, 0x3f),
  decimal(0x40, 16, 'Voltage', 'V', -9),
  decimal(0x50, 16, 'Current', 'A', -12),
  single(0x60, 'Reset counter'),
  single(0x61, 'Cumulation counter'),
  single(0x62, 'Control signal'),
  single(0x63, 'Day of week'),
  single(0x64, 'Week number'),
  single(0x65, 'Time point of day change'),
  single(0x66, 'State of parameter activation'),
  single(0x67, 'Special supplier information'),
  durations(0x68, 'Duration since last cumulation', [3600, 86400, 'month', 'year']),
  durations(0x6c, 'Operating time battery', [3600, 86400, 'month', 'year']),
  single(0x70, 'Date and time of battery change', { coding: 'dateTime' }),
  reserved(0x71, 0x7f),
]);

/** Alternate extension table after VIF FB, selected by the first VIFE (MBUS.md 10); the rest is reserved. */
export const FB_VIFS: ReadonlyMap<number, VifEntry> = build('fb', [
  decimal(0x00, 2, 'Energy', 'Wh', 5), // 0.1 MWh, 1 MWh
  reserved(0x02, 0x07),
  decimal(0x08, 2, 'Energy', 'J', 8), // 0.1 GJ, 1 GJ
  reserved(0x0a, 0x0f),
  decimal(0x10, 2, 'Volume', 'm^3', 2), // 100 m³, 1000 m³
  reserved(0x12, 0x17),
  decimal(0x18, 2, 'Mass', 'kg', 5), // 100 t, 1000 t
  reserved(0x1a, 0x20),
  single(0x21, 'Volume', { unit: 'ft^3', scale: 0.1 }),
  single(0x22, 'Volume', { unit: 'US gallon', scale: 0.1 }),
  single(0x23, 'Volume', { unit: 'US gallon' }),
  single(0x24, 'Volume flow', { unit: 'US gallon/min', scale: 0.001 }),
  single(0x25, 'Volume flow', { unit: 'US gallon/min' }),
  single(0x26, 'Volume flow', { unit: 'US gallon/h' }),
  reserved(0x27, 0x27),
  decimal(0x28, 2, 'Power', 'W', 5), // 0.1 MW, 1 MW
  reserved(0x2a, 0x2f),
  decimal(0x30, 2, 'Power', 'J/h', 8), // 0.1 GJ/h, 1 GJ/h
  reserved(0x32, 0x57),
  decimal(0x58, 4, 'Flow temperature', '°F', -3),
  decimal(0x5c, 4, 'Return temperature', '°F', -3),
  decimal(0x60, 4, 'Temperature difference', '°F', -3),
  decimal(0x64, 4, 'External temperature', '°F', -3),
  reserved(0x68, 0x6f),
  decimal(0x70, 4, 'Cold / warm temperature limit', '°F', -3),
  decimal(0x74, 4, 'Cold / warm temperature limit', '°C', -3),
  decimal(0x78, 8, 'Cumulative count of max power', 'W', -3),
]);

// ---------------------------------------------------------------------------------------------
// Combinable (orthogonal) VIFEs

export type VifeEffect =
  | { readonly kind: 'multiply'; readonly factor: number }
  | { readonly kind: 'add'; readonly offset: number }
  | { readonly kind: 'none' };

export interface CombinableVife {
  readonly code: number;
  readonly description: string;
  readonly effect: VifeEffect;
  /** Not confirmed by MBUS.md ("verify the full table in EN 13757-3"). */
  readonly bk?: true;
}

const NONE: VifeEffect = { kind: 'none' };

function vifes(): ReadonlyMap<number, CombinableVife> {
  const out = new Map<number, CombinableVife>();
  const put = (code: number, description: string, effect: VifeEffect = NONE, bk = true): void => {
    out.set(code, { code, description, effect, ...(bk ? { bk: true as const } : {}) });
  };
  // [BK] 00..1F: error/action codes (EN 13757-3 table of orthogonal VIFEs, not in MBUS.md).
  for (let c = 0x00; c <= 0x1f; c++) put(c, `error or action code ${c.toString(16).toUpperCase().padStart(2, '0')}H`);
  const per = ['per second', 'per minute', 'per hour', 'per day', 'per week', 'per month', 'per year', 'per revolution / measurement'];
  per.forEach((d, i) => put(0x20 + i, d));
  put(0x28, 'increment per input pulse on input channel 0');
  put(0x29, 'increment per input pulse on input channel 1');
  put(0x2a, 'increment per output pulse on output channel 0');
  put(0x2b, 'increment per output pulse on output channel 1');
  put(0x2c, 'per litre');
  put(0x2d, 'per m^3');
  put(0x2e, 'per kg');
  put(0x2f, 'per K');
  put(0x30, 'per kWh');
  put(0x31, 'per GJ');
  put(0x32, 'per kW');
  put(0x33, 'per (K*l)');
  put(0x34, 'per V');
  put(0x35, 'per A');
  put(0x36, 'multiplied by s');
  put(0x37, 'multiplied by s/V');
  put(0x38, 'multiplied by s/A');
  put(0x39, 'start date(/time) of');
  put(0x3a, 'VIF contains uncorrected unit');
  // MBUS.md 10 names these two.
  put(0x3b, 'accumulation only if positive contributions (forward flow)', NONE, false);
  put(0x3c, 'accumulation of abs value only if negative contributions (backward flow)', NONE, false);
  put(0x3d, 'reserved');
  put(0x3e, 'value at base conditions');
  put(0x3f, 'reserved');
  for (let c = 0x40; c <= 0x6f; c++) put(c, `limit, duration or time point qualifier ${c.toString(16).toUpperCase()}H`);
  // MBUS.md 10: 70-77 multiplicative correction 10^(n-6), 78-7B additive correction 10^(n-3), 7D ×1000, 7E future value, 7F manufacturer specific.
  for (let n = 0; n < 8; n++) put(0x70 + n, `multiplicative correction factor 10^${n - 6}`, { kind: 'multiply', factor: powerOfTen(n - 6) }, false);
  for (let n = 0; n < 4; n++) put(0x78 + n, `additive correction constant 10^${n - 3} (unit of VIF)`, { kind: 'add', offset: powerOfTen(n - 3) }, false);
  put(0x7c, 'reserved');
  put(0x7d, 'multiplicative correction factor 10^3', { kind: 'multiply', factor: 1000 }, false);
  put(0x7e, 'future value', NONE, false);
  put(0x7f, 'manufacturer specific VIFE', NONE, false);
  return out;
}

/** Orthogonal VIFEs (E bit masked). */
export const COMBINABLE_VIFES: ReadonlyMap<number, CombinableVife> = vifes();

/** The entry of a table code, or undefined. */
export function vifEntry(table: VifTable, code: number): VifEntry | undefined {
  const map = table === 'primary' ? PRIMARY_VIFS : table === 'fd' ? FD_VIFS : FB_VIFS;
  return map.get(code & 0x7f);
}

/** First entry with this quantity and unit (for encoders and simulators: "Energy in Wh at 10^3"). */
export function findVif(quantity: string, unit: string, scale: number): VifEntry | undefined {
  for (const map of [PRIMARY_VIFS, FD_VIFS, FB_VIFS]) {
    for (const e of map.values()) if (e.quantity === quantity && e.unit === unit && e.scale === scale) return e;
  }
  return undefined;
}

/** The VIF byte(s) that select an entry, E bits set where a VIFE follows: primary `[vif]`, FD `[FD, code]`, FB `[FB, code]`. */
export function vibBytesOf(entry: VifEntry): number[] {
  if (entry.table === 'primary') return [entry.code];
  return [entry.table === 'fd' ? 0xfd : 0xfb, entry.code];
}

// ---------------------------------------------------------------------------------------------
// Legacy fixed data (CI 73) units [BK]

/**
 * Units of the 6-bit unit codes of fixed-data counters (CI 73, MBUS.md 7 gives the layout but not
 * the table). [BK]: the EN 1434-3 unit codes as libmbus prints them; only 05 (kWh), 29 (l) and
 * 3E ("reserved but historic") are confirmed, by the corpus's expected files.
 */
export const FIXED_UNITS: Readonly<Record<number, { readonly unit: string; readonly bk: true }>> = {
  0x00: { unit: 'h,m,s', bk: true },
  0x01: { unit: 'D,M,Y', bk: true },
  0x02: { unit: 'Wh', bk: true },
  0x03: { unit: '10 Wh', bk: true },
  0x04: { unit: '100 Wh', bk: true },
  0x05: { unit: 'kWh', bk: true },
  0x06: { unit: '10 kWh', bk: true },
  0x07: { unit: '100 kWh', bk: true },
  0x08: { unit: 'MWh', bk: true },
  0x09: { unit: '10 MWh', bk: true },
  0x0a: { unit: '100 MWh', bk: true },
  0x0b: { unit: 'kJ', bk: true },
  0x0c: { unit: '10 kJ', bk: true },
  0x0d: { unit: '100 kJ', bk: true },
  0x0e: { unit: 'MJ', bk: true },
  0x0f: { unit: '10 MJ', bk: true },
  0x10: { unit: '100 MJ', bk: true },
  0x11: { unit: 'GJ', bk: true },
  0x12: { unit: '10 GJ', bk: true },
  0x13: { unit: '100 GJ', bk: true },
  0x14: { unit: 'W', bk: true },
  0x15: { unit: '10 W', bk: true },
  0x16: { unit: '100 W', bk: true },
  0x17: { unit: 'kW', bk: true },
  0x18: { unit: '10 kW', bk: true },
  0x19: { unit: '100 kW', bk: true },
  0x1a: { unit: 'MW', bk: true },
  0x1b: { unit: '10 MW', bk: true },
  0x1c: { unit: '100 MW', bk: true },
  0x1d: { unit: 'kJ/h', bk: true },
  0x1e: { unit: '10 kJ/h', bk: true },
  0x1f: { unit: '100 kJ/h', bk: true },
  0x20: { unit: 'MJ/h', bk: true },
  0x21: { unit: '10 MJ/h', bk: true },
  0x22: { unit: '100 MJ/h', bk: true },
  0x23: { unit: 'GJ/h', bk: true },
  0x24: { unit: '10 GJ/h', bk: true },
  0x25: { unit: '100 GJ/h', bk: true },
  0x26: { unit: 'ml', bk: true },
  0x27: { unit: '10 ml', bk: true },
  0x28: { unit: '100 ml', bk: true },
  0x29: { unit: 'l', bk: true },
  0x2a: { unit: '10 l', bk: true },
  0x2b: { unit: '100 l', bk: true },
  0x2c: { unit: 'm^3', bk: true },
  0x2d: { unit: '10 m^3', bk: true },
  0x2e: { unit: '100 m^3', bk: true },
  0x2f: { unit: 'ml/h', bk: true },
  0x30: { unit: '10 ml/h', bk: true },
  0x31: { unit: '100 ml/h', bk: true },
  0x32: { unit: 'l/h', bk: true },
  0x33: { unit: '10 l/h', bk: true },
  0x34: { unit: '100 l/h', bk: true },
  0x35: { unit: 'm^3/h', bk: true },
  0x36: { unit: '10 m^3/h', bk: true },
  0x37: { unit: '100 m^3/h', bk: true },
  0x38: { unit: '1e-3 °C', bk: true },
  0x39: { unit: 'units for HCA', bk: true },
  0x3a: { unit: 'reserved', bk: true },
  0x3b: { unit: 'reserved', bk: true },
  0x3c: { unit: 'reserved', bk: true },
  0x3d: { unit: 'reserved', bk: true },
  0x3e: { unit: 'reserved but historic', bk: true },
  0x3f: { unit: 'without units', bk: true },
};
