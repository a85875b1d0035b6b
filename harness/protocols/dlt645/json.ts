/**
 * JSON and one-line renderings of decoded DL/T 645 frames: what `meterlab decode dlt645 <hex>`
 * prints, what captures and reports show. Pure: the dictionary (optional) only adds names and
 * values of known data identifiers.
 */
import { toHex } from '../../core/bytes.ts';
import { type DecodeError, errorToJson, type DecodeErrorJson } from '../../core/errors.ts';
/** The error shape shared by every codec (harness/core/errors.ts), under this codec's name too. */
export { errorToJson, type DecodeErrorJson };
import type { Result } from '../../core/result.ts';
import { functionName, BROADCAST_ADDRESS, HEADER_LENGTH } from './constants.ts';
import type { DataValue, Dlt645Dictionary } from './dictionary-types.ts';
import { isBroadcast, isWildcard } from './frame.ts';
import { formatDateTime } from './messages.ts';
import { RemoteControlCommand, type Dlt645DecodedFrame, type Dlt645Message } from './types.ts';

export type AddressKind = 'unicast' | 'wildcard' | 'broadcast';

/** Name, format and value of the data item a message carries (from the dictionary). */
export interface ItemJson {
  readonly di: string;
  readonly name: string;
  readonly format: string;
  readonly unit?: string;
  /** Decoded payload (replies and writes); absent for requests that carry only the DI. */
  readonly value?: DataValue;
  /** Bytes after the item's length (a real-device quirk, PROTOCOLS.md 1.10, vectors 46/47/50/51). */
  readonly trailing?: string;
  readonly quirk?: 'trailing-bytes';
  /** The payload did not decode as the dictionary's format (offset absolute). */
  readonly error?: DecodeErrorJson;
  /**
   * Bytes this frame carries of a value read in several frames (B1/B2/92 of a 12H follow-up
   * read, PROTOCOLS.md 1.3): a part is not decoded on its own; the value is the parts joined.
   */
  readonly partBytes?: number;
}

export interface Dlt645FrameJson {
  /** True when the frame and its message decoded; false when only the frame did (see `error`). */
  readonly ok: boolean;
  readonly edition: '2007' | '1997';
  readonly preamble: number;
  readonly address: string;
  readonly addressKind: AddressKind;
  readonly control: {
    readonly raw: string;
    readonly isResponse: boolean;
    readonly isAbnormal: boolean;
    readonly hasFollowUp: boolean;
    readonly functionCode: string;
    readonly functionName: string;
  };
  readonly length: number;
  /** Data field after −33H, hex. */
  readonly data: string;
  readonly checksum: string;
  readonly message?: { readonly kind: string; readonly [field: string]: unknown };
  readonly error?: DecodeErrorJson;
  readonly item?: ItemJson;
}

export function addressKind(address: string): AddressKind {
  if (isBroadcast(address)) return 'broadcast';
  return isWildcard(address) ? 'wildcard' : 'unicast';
}

/** `{ ok: false, error: { code, message, offset } }` for input that is not a frame at all. */
/**
 * The JSON rendering of a decoded frame and its message. When the message did not decode (e.g.
 * the negative vector: Z not a feature word), `ok` is false, `error` says why and the frame
 * fields are still shown.
 */
export function frameToJson(
  decoded: Dlt645DecodedFrame,
  message: Result<Dlt645Message, DecodeError>,
  dictionary?: Dlt645Dictionary,
): Dlt645FrameJson {
  const f = decoded.frame;
  const c = f.control;
  const base = {
    ok: message.ok,
    edition: f.edition,
    preamble: f.preamble,
    address: f.address,
    addressKind: addressKind(f.address),
    control: {
      raw: hex2(c.raw),
      isResponse: c.isResponse,
      isAbnormal: c.isAbnormal,
      hasFollowUp: c.hasFollowUp,
      functionCode: hex2(c.functionCode),
      functionName: functionName(c.functionCode, f.edition),
    },
    length: f.data.length,
    data: toHex(f.data),
    checksum: hex2(f.checksum),
  };
  if (!message.ok) return { ...base, error: errorToJson(message.error).error };
  const item = dictionary ? itemOf(message.value, decoded, dictionary) : undefined;
  return { ...base, message: renderMessage(message.value), ...(item ? { item } : {}) };
}

function renderMessage(m: Dlt645Message): { kind: string; [field: string]: unknown } {
  return toJsonValue(m) as { kind: string };
}

function toJsonValue(v: unknown): unknown {
  if (v instanceof Uint8Array) return toHex(v);
  if (Array.isArray(v)) return v.map(toJsonValue);
  if (v !== null && typeof v === 'object') {
    const out: Record<string, unknown> = {};
    for (const [k, x] of Object.entries(v)) out[k] = toJsonValue(x);
    return out;
  }
  return v;
}

/** DI, payload and the payload's absolute offset of a message, when it carries them. */
function diAndPayload(m: Dlt645Message, dataStart: number): { di: string; payload?: Uint8Array; payloadOffset: number } | null {
  switch (m.kind) {
    case 'readDataResponse':
    case 'readFollowUpResponse':
      return { di: m.di, payload: m.payload, payloadOffset: dataStart + 4 };
    case 'readDataResponse1997':
      return { di: m.di, payload: m.payload, payloadOffset: dataStart + 2 };
    case 'writeData':
      return { di: m.di, payload: m.payload, payloadOffset: dataStart + 12 };
    case 'readData':
    case 'readFollowUp':
    case 'readData1997':
    case 'changePassword':
    case 'eventClear':
      return { di: m.di, payloadOffset: dataStart };
    default:
      return null;
  }
}

function itemOf(m: Dlt645Message, decoded: Dlt645DecodedFrame, dictionary: Dlt645Dictionary): ItemJson | undefined {
  const dataStart = decoded.start + decoded.frame.preamble + HEADER_LENGTH;
  const found = diAndPayload(m, dataStart);
  if (!found) return undefined;
  const def = dictionary.lookup(found.di);
  if (!def) return undefined;
  const head = { di: found.di, name: def.name, format: def.format, ...(def.unit !== undefined ? { unit: def.unit } : {}) };
  if (!found.payload) return head;
  const payload = found.payload;
  const isPart = (m.kind === 'readDataResponse' && m.hasFollowUp) || m.kind === 'readFollowUpResponse';
  if (isPart) return { ...head, partBytes: payload.length };
  let value = dictionary.decodeValue(found.di, payload);
  let trailing: Uint8Array | undefined;
  if (!value.ok && def.length > 0 && payload.length > def.length) {
    // Some devices append bytes after the value (PROTOCOLS.md 1.10, vectors 46/47/50/51). The
    // whole payload is tried first because blocks that follow the tariff count may be longer
    // than the dictionary's default length.
    const prefix = dictionary.decodeValue(found.di, payload.subarray(0, def.length));
    if (prefix.ok) {
      value = prefix;
      trailing = payload.subarray(def.length);
    }
  }
  const extra = trailing ? { trailing: toHex(trailing), quirk: 'trailing-bytes' as const } : {};
  if (!value.ok) {
    const e = value.error;
    return { ...head, error: { code: e.code, message: e.message, offset: found.payloadOffset + e.offset } };
  }
  return { ...head, value: value.value, ...extra };
}

/**
 * One line for captures and logs, e.g.
 * `91 readDataResponse 123456789012 DI 00010000 forward active total energy = 1234.56 kWh`.
 */
export function describeFrame(
  decoded: Dlt645DecodedFrame,
  message: Result<Dlt645Message, DecodeError>,
  dictionary?: Dlt645Dictionary,
): string {
  const f = decoded.frame;
  const c = f.control;
  const parts: string[] = [hex2(c.raw)];
  if (!message.ok) {
    const e = message.error;
    parts.push(functionName(c.functionCode, f.edition) + (c.isResponse ? 'Response' : ''), f.address);
    parts.push(`invalid ${e.code} at ${e.offset}: ${e.message}`);
    return parts.join(' ');
  }
  const m = message.value;
  parts.push(m.kind === 'other' ? m.functionName : m.kind, f.address);
  if (f.address === BROADCAST_ADDRESS) parts.push('(broadcast)');
  const item = dictionary ? itemOf(m, decoded, dictionary) : undefined;
  switch (m.kind) {
    case 'broadcastTimeSync':
      parts.push(formatDateTime(m.time));
      break;
    case 'readFollowUp':
      parts.push(`DI ${m.di} SEQ ${m.seq}`);
      break;
    case 'readAddressResponse':
      parts.push(`address ${m.address}`);
      break;
    case 'writeAddress':
      parts.push(`new address ${m.newAddress}`);
      break;
    case 'freeze':
      parts.push(`at mm=${m.minute} hh=${m.hour} DD=${m.day} MM=${m.month}`);
      break;
    case 'changeBaud':
    case 'changeBaudResponse':
      parts.push(`Z ${hex2(m.z)} = ${m.baudRate} bit/s`);
      break;
    case 'changePasswordResponse':
      parts.push(`level ${hex2(m.newPassword.level)}`);
      break;
    case 'remoteControl': {
      const name = Object.entries(RemoteControlCommand).find(([, v]) => v === m.command)?.[0] ?? 'unknown';
      parts.push(`N1 ${hex2(m.command)} ${name}`, m.validUntil ? `valid until ${formatDateTime(m.validUntil)}` : 'no valid-until');
      break;
    }
    case 'multiFunctionOutput':
      parts.push(`output ${hex2(m.output)}`);
      break;
    case 'errorResponse':
      parts.push(`ERR ${hex2(m.errorWord)} ${m.errors.join(',') || 'none'}`);
      break;
    case 'other':
      if (m.data.length > 0) parts.push(`data ${toHex(m.data)}`);
      break;
    default:
      break;
  }
  if ('di' in m && m.kind !== 'readFollowUp') parts.push(`DI ${m.di}`);
  if (item) {
    parts.push(item.name);
    if (item.value !== undefined) parts.push(`= ${valueText(item.value, item.format)}${item.unit ? ` ${item.unit}` : ''}`);
    if (item.error) parts.push(`(payload invalid: ${item.error.code})`);
    if (item.partBytes !== undefined) parts.push(`(part of a follow-up read: ${item.partBytes} bytes)`);
    if (item.trailing) parts.push(`(+trailing ${item.trailing})`);
  } else if ('payload' in m && m.payload.length > 0) {
    parts.push(`payload ${toHex(m.payload)}`);
  }
  if ('seq' in m && m.kind === 'readFollowUpResponse') parts.push(`SEQ ${m.seq}`);
  if ('hasFollowUp' in m && m.hasFollowUp) parts.push('(more follows)');
  return parts.join(' ');
}

/** A value as text; numbers keep the decimals of a format such as XXXXXX.XX. */
export function valueText(v: DataValue, format = ''): string {
  if (typeof v === 'number') {
    const dot = format.indexOf('.');
    const decimals = dot >= 0 ? format.length - dot - 1 : 0;
    return decimals > 0 && /^[X#N]+$/i.test(format.slice(dot + 1)) ? v.toFixed(decimals) : String(v);
  }
  if (typeof v === 'string') return v;
  if (Array.isArray(v)) return `[${v.map((x) => valueText(x, memberFormat(format))).join(', ')}]`;
  return `{${Object.entries(v as Record<string, DataValue>)
    .map(([k, x]) => `${k}: ${valueText(x)}`)
    .join(', ')}}`;
}

/** "5×XXXXXX.XX" style block formats name their member format after a multiplication sign. */
function memberFormat(format: string): string {
  const m = /[×*]\s*(.+)$/.exec(format);
  return m ? m[1]!.trim() : format;
}

function hex2(b: number): string {
  return (b & 0xff).toString(16).toUpperCase().padStart(2, '0');
}
