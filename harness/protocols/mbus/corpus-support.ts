/**
 * Test support for the libmbus corpus (fixtures/libmbus, a copy of shared/corpus/mbus-libmbus;
 * BSD 3-Clause, LICENSE.libmbus and COPYING.libmbus beside it): a minimal reader of its expected XML files and
 * the rendering of OUR decode as libmbus's normalised XML prints it, with every libmbus quirk
 * named (README.md "Corpus"). Never imported by the codec.
 *
 * The rendering takes the quantity, unit and scale from our dictionary and the raw value from
 * our decoder; it only re-labels (libmbus's names for the same quantities) and re-formats
 * (printf %f). Where libmbus computes a different number than the standard gives, the quirk is a
 * named function here and each record it applies to is counted, so the corpus test can list it.
 */
import { existsSync, readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { toHex } from '../../core/bytes.ts';
import type { MbusApplication } from './application.ts';
import type { DataRecord, MbusRecord } from './records.ts';

/**
 * Where the corpus lives: the copy in fixtures/libmbus (with its licence; MBUS_CORPUS overrides,
 * e.g. to run the test over shared/corpus/mbus-libmbus itself).
 */
export function corpusDirectory(): string | null {
  const candidates = [process.env.MBUS_CORPUS, resolve(import.meta.dirname, 'fixtures/libmbus')];
  for (const c of candidates) if (c && existsSync(resolve(c, 'test-frames'))) return c;
  return null;
}

// ---------------------------------------------------------------------------------------------
// Minimal XML reader for libmbus's MBusData files

export interface ExpectedRecord {
  readonly id: number;
  /** Element name -> text, for the elements present (Function, StorageNumber, Tariff, Device, Unit, Quantity, Value). */
  readonly fields: Readonly<Record<string, string>>;
}

export interface ExpectedFile {
  readonly slave: Readonly<Record<string, string>>;
  readonly records: readonly ExpectedRecord[];
}

function unescapeXml(s: string): string {
  return s.replace(/&lt;/g, '<').replace(/&gt;/g, '>').replace(/&quot;/g, '"').replace(/&apos;/g, "'").replace(/&amp;/g, '&');
}

function children(body: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const m of body.matchAll(/<([A-Za-z]+)>([\s\S]*?)<\/\1>/g)) out[m[1]!] = unescapeXml(m[2]!);
  return out;
}

/**
 * Reads an expected file. Quirk: the files declare ISO-8859-1 but hold UTF-8 (°C), so they are
 * read as UTF-8 (corpus README).
 */
export function readExpected(path: string): ExpectedFile {
  const text = readFileSync(path, 'utf8');
  const slave = children(/<SlaveInformation>([\s\S]*?)<\/SlaveInformation>/.exec(text)?.[1] ?? '');
  const records: ExpectedRecord[] = [];
  for (const m of text.matchAll(/<DataRecord id="(\d+)"[^>]*>([\s\S]*?)<\/DataRecord>/g)) records.push({ id: Number(m[1]), fields: children(m[2]!) });
  return { slave, records };
}

// ---------------------------------------------------------------------------------------------
// libmbus's labels and quirks

/** libmbus's normalised Quantity names where ours (the dictionary's) differ in wording only. */
export const LIBMBUS_QUANTITY: Readonly<Record<string, string>> = {
  'Averaging duration': 'Averaging Duration',
  'Actuality duration': 'Actuality Duration',
  'Fabrication number': 'Fabrication No',
  'Enhanced identification': '(Enhanced) Identification',
  'Units for H.C.A.': 'H.C.A.',
  'Digital output': 'Digital Output',
  'Digital input': 'Digital Input',
  'Model / version': 'Model / Version',
};

const LIBMBUS_FUNCTION: Readonly<Record<DataRecord['function'], string>> = {
  instantaneous: 'Instantaneous value',
  maximum: 'Maximum value',
  minimum: 'Minimum value',
  error: 'Value during error state',
};

/** The quirks of libmbus's output that the rendering reproduces; counted per use. */
export type Quirk =
  | 'bcd-non-decimal-nibbles'
  | 'manufacturer-data-reversed'
  | 'fd-fb-correction-vife-ignored'
  | 'only-first-vife-applied'
  | 'date-year-always-20xx'
  | 'plain-text-unit-dash'
  | 'hca-unit-text'
  | 'invalid-time-zeros'
  | 'lvar-binary-reversed';

export interface RenderedRecord {
  readonly fields: Record<string, string>;
  readonly quirks: readonly Quirk[];
}

/** printf("%f"): six decimals. */
export function printfF(v: number): string {
  return (Object.is(v, -0) ? 0 : v).toFixed(6);
}

/**
 * libmbus's reading of BCD bytes (MBUS.md 8 [libmbus]): a high nibble >= A counts as 0, a low
 * nibble >= A as 10..15, and a top nibble F negates. Equal to the standard's value when every
 * nibble (but an F sign) is 0-9.
 */
export function libmbusBcd(digits: string): number {
  let v = 0;
  const bytes = digits.match(/../g) ?? [];
  for (const b of bytes) {
    const hi = parseInt(b[0]!, 16);
    const lo = parseInt(b[1]!, 16);
    v = v * 10 + (hi < 10 ? hi : 0);
    v = v * 10 + lo;
  }
  return digits.startsWith('F') ? -v : v;
}

function pad(n: number, w: number): string {
  return String(n).padStart(w, '0');
}

/**
 * Our record as libmbus's normalised XML prints it. `expected` is used ONLY to pick between the
 * two byte orders libmbus versions printed manufacturer data in (corpus README), and that choice
 * is reported as a quirk.
 */
export function renderLikeLibmbus(r: MbusRecord, expected?: ExpectedRecord): RenderedRecord {
  const quirks: Quirk[] = [];
  if (r.kind === 'global-readout') return { fields: { Function: 'Global readout' }, quirks };
  if (r.kind === 'manufacturer') {
    const wire = toHex(r.data);
    let value = wire;
    if (expected && expected.fields.Value !== wire && expected.fields.Value === toHex(r.data.slice().reverse())) {
      value = toHex(r.data.slice().reverse());
      quirks.push('manufacturer-data-reversed');
    }
    return {
      fields: { Function: r.moreRecordsFollow ? 'More records follow' : 'Manufacturer specific', StorageNumber: '0', Unit: '', Quantity: '', Value: value },
      quirks,
    };
  }
  const fields: Record<string, string> = { Function: LIBMBUS_FUNCTION[r.function], StorageNumber: String(r.storageNumber) };
  if (r.dife.length > 0) {
    // libmbus prints Tariff and Device only when there is a DIFE (MBUS.md 8).
    fields.Tariff = String(r.tariff);
    fields.Device = String(r.subunit);
  }
  const vib = r.vib;
  const entry = vib.entry;
  // Quantity and unit
  let quantity: string;
  let unit: string;
  if (vib.kind === 'plain-text') {
    quantity = vib.plainText ?? '';
    unit = '-';
    quirks.push('plain-text-unit-dash');
  } else if (entry) {
    quantity = LIBMBUS_QUANTITY[entry.quantity] ?? entry.quantity;
    unit = entry.coding === 'date' || entry.coding === 'dateTime' ? '-' : entry.unit;
    if (entry.quantity === 'Units for H.C.A.') {
      unit = 'Units for H.C.A.';
      quirks.push('hca-unit-text');
    }
    if (entry.reserved) unit = 'Reserved';
  } else if (vib.kind === 'manufacturer') {
    quantity = 'Manufacturer specific';
    unit = '';
  } else {
    quantity = 'Unknown';
    unit = '';
  }
  // Value
  let value: string;
  const v = r.value;
  switch (v.type) {
    case 'date':
      value = `${pad(dateYear20xx(v.year, quirks), 4)}-${pad(v.month, 2)}-${pad(v.day, 2)}`;
      break;
    case 'dateTime':
      if (v.invalid) {
        // libmbus prints a time point whose "invalid" bit is set as zeros (MBUS.md 8).
        quirks.push('invalid-time-zeros');
        value = '1900-01-00T00:00:00Z';
        break;
      }
      value = `${pad(v.year, 4)}-${pad(v.month, 2)}-${pad(v.day, 2)}T${pad(v.hour, 2)}:${pad(v.minute, 2)}:${pad(v.second ?? 0, 2)}Z`;
      break;
    case 'text':
      value = v.value;
      break;
    case 'bytes':
      // libmbus prints variable-length binary last byte first; we keep wire order.
      quirks.push('lvar-binary-reversed');
      value = v.hex.split(' ').reverse().join(' ');
      break;
    case 'none':
      value = '';
      break;
    default: {
      let raw: number;
      if (v.type === 'bcd') {
        raw = libmbusBcd(v.digits);
        if (v.value === null) quirks.push('bcd-non-decimal-nibbles');
      } else raw = Number(v.value);
      value = printfF(libmbusScaled(r, raw, quirks));
    }
  }
  fields.Unit = unit;
  fields.Quantity = quantity;
  fields.Value = value;
  return { fields, quirks };
}

/** libmbus adds 2000 to every type G year (MBUS.md 8); our decoder reads 81..99 as 19xx ([BK]). */
function dateYear20xx(year: number, quirks: Quirk[]): number {
  if (year < 2000) {
    quirks.push('date-year-always-20xx');
    return (year % 100) + 2000;
  }
  return year;
}

/**
 * libmbus's normalised number: raw × the table scale (ours), then ONLY the first VIFE of a primary
 * or plain-text VIF as a correction (MBUS.md 10 [libmbus]); after FD/FB no correction at all.
 * Where that differs from our `scaled` (every correction VIFE applied), the quirk is recorded.
 */
function libmbusScaled(r: DataRecord, raw: number, quirks: Quirk[]): number {
  const vib = r.vib;
  let v = vib.entry && !vib.entry.reserved ? raw * vib.entry.scale : raw;
  if (vib.kind === 'primary' || vib.kind === 'plain-text' || vib.kind === 'any' || vib.kind === 'manufacturer' || vib.kind === 'unknown') {
    const first = vib.combinable[0]?.meaning?.effect;
    if (first?.kind === 'multiply') v *= first.factor;
    else if (first?.kind === 'add') v += first.offset;
    const later = vib.combinable.slice(1).some((e) => e.meaning?.effect.kind === 'multiply' || e.meaning?.effect.kind === 'add');
    if (later) quirks.push('only-first-vife-applied');
  } else if (vib.combinable.some((e) => e.meaning?.effect.kind === 'multiply' || e.meaning?.effect.kind === 'add')) {
    quirks.push('fd-fb-correction-vife-ignored');
  }
  return v;
}

/** libmbus's Medium text -> the medium code (the corpus's names; ours are in constants.ts MEDIA). */
export const LIBMBUS_MEDIUM: Readonly<Record<string, number>> = {
  Other: 0x00,
  Oil: 0x01,
  Electricity: 0x02,
  Gas: 0x03,
  'Heat: Outlet': 0x04,
  'Warm water (30-90°C)': 0x06,
  Water: 0x07,
  'Heat Cost Allocator': 0x08,
  'Heat: Inlet': 0x0c,
  'Heat / Cooling load meter': 0x0d,
  'Bus/System': 0x0e,
  'Cold water': 0x16,
  'Breaker: Electricity': 0x20,
};

/** libmbus's 4-bit medium names of legacy fixed data (CI 73) seen in the corpus [BK]. */
export const LIBMBUS_FIXED_MEDIUM: Readonly<Record<string, number>> = { Water: 0x7, Heat: 0x4 };

/** A fixed-data counter as libmbus prints it (no normalisation: raw value, unit text). */
export function renderFixedCounterLikeLibmbus(app: Extract<MbusApplication, { kind: 'fixedData' }>, i: 0 | 1): Record<string, string> {
  const c = app.counters[i];
  const v = c.value;
  const raw = v.type === 'bcd' ? libmbusBcd(v.digits) : v.type === 'integer' ? Number(v.value) : NaN;
  return { Function: app.stored ? 'Stored value' : 'Actual value', Unit: c.unit, Value: String(raw) };
}

/** The SlaveInformation fields of a CI 72 header as libmbus prints them. */
export function renderHeaderLikeLibmbus(app: MbusApplication): Record<string, string> {
  if (app.kind !== 'variableData' || app.header?.type !== 'long') return {};
  const h = app.header;
  return {
    Id: libmbusId(h.id),
    Manufacturer: h.manufacturerCode,
    Version: String(h.version),
    AccessNumber: String(h.accessNumber),
    Status: h.status.toString(16).toUpperCase().padStart(2, '0'),
    Signature: h.signature.toString(16).toUpperCase().padStart(4, '0'),
  };
}

/** libmbus prints the identification's nibbles as hex digits without leading zeros (500023E). */
export function libmbusId(id: string): string {
  return id.replace(/^0+(?=.)/, '');
}
