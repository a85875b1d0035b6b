/**
 * JSON and one-line renderings of decoded CJ/T 188 frames: what `meterlab decode cjt188 <hex>`
 * prints, what captures and reports show. Same shape as dlt645/json.ts where the protocols agree
 * (ok, preamble, address, addressKind, control, length, data, checksum, message | error, item).
 */
import { toHex } from '../../core/bytes.ts';
import { type DecodeError, errorToJson, type DecodeErrorJson } from '../../core/errors.ts';
/** The error shape shared by every codec (harness/core/errors.ts), under this codec's name too. */
export { errorToJson, type DecodeErrorJson };
import type { Result } from '../../core/result.ts';
import { functionName, meterTypeInfo, type MeterFamily } from './constants.ts';
import { describeValue, fieldText, lookup, type Direction } from './dictionary.ts';
import { isWildcardAddress } from './frame.ts';
import type { Cjt188DecodedFrame, Cjt188Message } from './types.ts';

export interface Cjt188FrameJson {
  readonly ok: boolean;
  readonly protocol: 'cjt188';
  readonly preamble: number;
  readonly meterType: { readonly raw: string; readonly name: string; readonly family: MeterFamily };
  readonly address: string;
  readonly addressKind: 'unicast' | 'wildcard';
  readonly control: {
    readonly raw: string;
    readonly isResponse: boolean;
    readonly isAbnormal: boolean;
    readonly functionCode: string;
    readonly functionName: string;
  };
  /** L: DI0 DI1 SER DATA. */
  readonly length: number;
  /** DI0 DI1 SER DATA, hex. */
  readonly data: string;
  readonly checksum: string;
  readonly message?: { readonly kind: string; readonly [field: string]: unknown };
  readonly error?: DecodeErrorJson;
  /** The identifier as the dictionary names it. */
  readonly item?: { readonly di: string; readonly name: string; readonly nameZh: string; readonly direction: Direction };
}

/** The JSON rendering of a frame and its message (ok false with `error` when the message did not decode). */
export function frameToJson(decoded: Cjt188DecodedFrame, message: Result<Cjt188Message, DecodeError>): Cjt188FrameJson {
  const f = decoded.frame;
  const c = f.control;
  const t = meterTypeInfo(f.meterType);
  const base = {
    ok: message.ok,
    protocol: 'cjt188' as const,
    preamble: f.preamble,
    meterType: { raw: hex2(f.meterType), name: t.name, family: t.family },
    address: f.address,
    addressKind: isWildcardAddress(f.address) ? ('wildcard' as const) : ('unicast' as const),
    control: {
      raw: hex2(c.raw),
      isResponse: c.isResponse,
      isAbnormal: c.isAbnormal,
      functionCode: hex2(c.functionCode),
      functionName: functionName(c.functionCode),
    },
    length: f.data.length,
    data: toHex(f.data),
    checksum: hex2(f.checksum),
  };
  if (!message.ok) return { ...base, error: errorToJson(message.error).error };
  const m = message.value;
  const def = lookup(m.di);
  return {
    ...base,
    message: { kind: m.kind, ...(toJsonValue(m) as object) },
    ...(def ? { item: { di: def.di, name: def.name, nameZh: def.nameZh, direction: def.direction } } : {}),
  };
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

/**
 * One line for captures and logs, e.g.
 * `81 readDataResponse 10 78330011223344 DI 901F SER 00 metering data: currentFlow 556677.00 m³, ...`.
 */
export function describeFrame(decoded: Cjt188DecodedFrame, message: Result<Cjt188Message, DecodeError>): string {
  const f = decoded.frame;
  const parts = [hex2(f.control.raw)];
  if (!message.ok) {
    parts.push(functionName(f.control.functionCode) + (f.control.isResponse ? 'Response' : ''), hex2(f.meterType), f.address);
    parts.push(`invalid ${message.error.code} at ${message.error.offset}: ${message.error.message}`);
    return parts.join(' ');
  }
  const m = message.value;
  parts.push(m.kind, hex2(f.meterType), f.address, `DI ${m.di}${m.diOrder === 'reversed' ? ' (reversed)' : ''}`, `SER ${hex2(m.ser)}`);
  const def = lookup(m.di);
  if (def) parts.push(def.name);
  switch (m.kind) {
    case 'readDataResponse':
    case 'readKeyVersionResponse':
    case 'writeData':
    case 'writeSyncData':
      parts.push(`= ${describeValue(m.value)}`);
      break;
    case 'writeAddress':
      parts.push(`new address ${m.newAddress}`);
      break;
    case 'valveControl':
      parts.push(`command ${hex2(m.command)} ${m.commandName ?? 'unknown'}`);
      break;
    case 'writeDataResponse':
    case 'writeAddressResponse':
    case 'writeSyncDataResponse':
    case 'valveControlResponse':
    case 'abnormalResponse':
      if (m.status) parts.push(`status ${fieldText(m.status)}`);
      if (m.kind === 'abnormalResponse' && !m.status && m.payload.length > 0) parts.push(`payload ${toHex(m.payload)}`);
      break;
    case 'other':
      if (m.payload.length > 0) parts.push(`payload ${toHex(m.payload)}`);
      break;
    default:
      break;
  }
  return parts.join(' ').replace(/[\r\n]/g, ' ');
}

function hex2(b: number): string {
  return (b & 0xff).toString(16).toUpperCase().padStart(2, '0');
}
