/**
 * JSON and one-line renderings of decoded Q/GDW 1376.1 frames: what `meterlab decode gw1376`
 * prints, what captures and reports show. Same top-level shape as the other protocols where they
 * agree (ok, protocol, control, address, length, data, checksum, message | error).
 *
 * The data of AFN 10 F1 (transparent forwarding) is usually a DL/T 645 frame: it is decoded here
 * with the DL/T 645 codec (`dlt645` beside `content`). harness/protocols/gw1376 imports
 * harness/protocols/dlt645 in this one direction only; dlt645 never imports gw1376.
 */
import { byteHex, hex as parseHexLiteral, toHex } from '../../core/bytes.ts';
import { type DecodeError, errorToJson, type DecodeErrorJson } from '../../core/errors.ts';
/** The error shape shared by every codec (harness/core/errors.ts), under this codec's name too. */
export { errorToJson, type DecodeErrorJson };
import type { Result } from '../../core/result.ts';
import * as dlt645 from '../dlt645/index.ts';
import { afnInfo, functionName } from './constants.ts';
import { lookupFn, type UnitValue } from './dictionary.ts';
import { isBroadcast } from './frame.ts';
import type { DataUnitGroup, Gw1376Message } from './messages.ts';
import type { Gw1376DecodedFrame } from './types.ts';

export interface Gw1376FrameJson {
  readonly ok: boolean;
  readonly protocol: 'gw1376';
  readonly protocolId: number;
  /** User-data length (L bits 2-15). */
  readonly length: number;
  readonly control: { raw: string; dir: 'down' | 'up'; prm: boolean; fcb?: boolean; acd?: boolean; fcv: boolean; functionCode: number; functionName: string };
  readonly address: { areaCode: string; terminal: number; terminalHex: string; msa: number; group: boolean; kind: 'unicast' | 'group' | 'broadcast' | 'invalid' };
  readonly afn: { raw: string; name: string; nameZh: string };
  readonly seq: { raw: string; tpv: boolean; fir: boolean; fin: boolean; con: boolean; seq: number; position: string };
  readonly aux: { pw?: string; ec?: { important: number; normal: number }; tp?: { pfc: number; sendTime: string; delayMinutes: number } };
  /** The data-unit region, hex. */
  readonly data: string;
  readonly checksum: string;
  readonly units?: readonly unknown[];
  readonly error?: DecodeErrorJson;
}

export function frameToJson(decoded: Gw1376DecodedFrame, message: Result<Gw1376Message, DecodeError>): Gw1376FrameJson {
  const f = decoded.frame;
  const c = f.control;
  const a = f.address;
  const info = afnInfo(f.afn);
  const tp = f.aux.tp;
  const base: Gw1376FrameJson = {
    ok: message.ok,
    protocol: 'gw1376',
    protocolId: f.protocolId,
    length: decoded.raw.length - 8,
    control: {
      raw: byteHex(c.raw),
      dir: c.dir ? 'up' : 'down',
      prm: c.prm,
      ...(c.dir ? { acd: c.acd } : { fcb: c.fcb }),
      fcv: c.fcv,
      functionCode: c.functionCode,
      functionName: functionName(c.prm, c.functionCode),
    },
    address: {
      areaCode: a.areaCode,
      terminal: a.terminal,
      terminalHex: a.terminal.toString(16).toUpperCase().padStart(4, '0'),
      msa: a.msa,
      group: a.group,
      kind: isBroadcast(a) ? 'broadcast' : a.terminal === 0 ? 'invalid' : a.group ? 'group' : 'unicast',
    },
    afn: { raw: byteHex(f.afn), name: info.name, nameZh: info.nameZh },
    seq: { raw: byteHex(f.seq.raw), tpv: f.seq.tpv, fir: f.seq.fir, fin: f.seq.fin, con: f.seq.con, seq: f.seq.seq, position: f.seq.position },
    aux: {
      ...(f.aux.pw ? { pw: toHex(f.aux.pw) } : {}),
      ...(f.aux.ec ? { ec: { important: f.aux.ec.important, normal: f.aux.ec.normal } } : {}),
      ...(tp ? { tp: { pfc: tp.pfc, sendTime: `day ${pad(tp.day)} ${pad(tp.hour)}:${pad(tp.minute)}:${pad(tp.second)}`, delayMinutes: tp.delayMinutes } } : {}),
    },
    data: toHex(f.data),
    checksum: byteHex(f.checksum),
  };
  if (!message.ok) return { ...base, error: errorToJson(message.error).error };
  return { ...base, units: message.value.units.map((g) => groupToJson(f.afn, g)) };
}

function groupToJson(afn: number, g: DataUnitGroup): unknown {
  return {
    da: toHex(Uint8Array.from(g.da)),
    dt: toHex(Uint8Array.from(g.dt)),
    pn: g.pns,
    fn: g.fns,
    items: g.items.map((item) => {
      const def = lookupFn(afn, item.fn);
      return {
        pn: item.pn,
        fn: item.fn,
        name: def?.name ?? null,
        ...(def?.nameZh ? { nameZh: def.nameZh } : {}),
        ...(def?.bk ? { bk: true } : {}),
        data: toHex(item.data),
        ...(item.opaque ? { opaque: true, ...(item.layoutError ? { layoutError: { code: item.layoutError.code, message: item.layoutError.message, offset: item.layoutError.offset } } : {}) } : { value: item.value }),
        ...(afn === 0x10 && item.fn === 1 && item.value ? forwardedToJson(item.value) : {}),
      };
    }),
  };
}

/** AFN 10 F1 content decoded as DL/T 645 when it is one frame of it (else nothing added). */
function forwardedToJson(value: UnitValue): { dlt645?: unknown } {
  const content = value.content;
  if (typeof content !== 'string' || content.length === 0) return {};
  const bytes = parseHexLiteral(content);
  const frame = dlt645.decodeFrame(bytes, 0);
  if (!frame.ok || frame.value.end !== bytes.length) return {};
  const f = frame.value.frame;
  return { dlt645: dlt645.frameToJson(frame.value, dlt645.decodeMessage(f, frame.value.start + f.preamble + dlt645.HEADER_LENGTH), dlt645.DICTIONARY) };
}

function pad(n: number): string {
  return String(n).padStart(2, '0');
}

/** One line for logs and captures: `up C9 A 0200/1234 AFN 02 SEQ 71 p0 F1 login`. */
export function describeFrame(decoded: Gw1376DecodedFrame, message: Result<Gw1376Message, DecodeError>): string {
  const f = decoded.frame;
  const head = `${f.control.dir ? 'up' : 'down'} C ${byteHex(f.control.raw)} A ${f.address.areaCode}/${f.address.terminal.toString(16).toUpperCase().padStart(4, '0')} MSA ${f.address.msa} AFN ${byteHex(f.afn)} SEQ ${byteHex(f.seq.raw)}`;
  if (!message.ok) return `${head} error ${message.error.code} at ${message.error.offset}`;
  const units = message.value.units
    .flatMap((g) => g.items)
    .map((i) => `p${i.pn === 'all' ? '*' : i.pn} F${i.fn}${lookupFn(f.afn, i.fn) ? ` ${lookupFn(f.afn, i.fn)!.name}` : ''}`);
  return `${head} ${units.join('; ')}`.replace(/[\r\n]/g, ' ');
}
