/**
 * JSON renderings of decoded M-Bus frames: what `meterlab decode mbus <hex>` prints (through
 * `decodeMbusHex`), what captures and reports show. Pure; every value is JSON-clean (bigints as
 * decimal strings, bytes as hex).
 */
import { toHex } from '../../core/bytes.ts';
import { type DecodeError, errorToJson, type DecodeErrorJson } from '../../core/errors.ts';
/** The error shape shared by every codec (harness/core/errors.ts), under this codec's name too. */
export { errorToJson, type DecodeErrorJson };
import { decodeHexWith, type DecodedLine } from '../../core/decoded-line.ts';
import type { Result } from '../../core/result.ts';
import { formatSecondaryAddress } from './address.ts';
import { decodeApplication, identityOf, type MbusApplication } from './application.ts';
import { addressKind, decodeSingleFrame, type ControlField, type MbusDecodedFrame } from './frame.ts';
import type { MbusRecord, RecordValue, Vib } from './records.ts';

/** `{ ok: false, error: { code, message, offset } }` for input that is not a frame at all. */
/** The same shape as `decodeDlt645Hex`'s result (harness/cli/decode.ts). */
export type MbusDecodedLine = DecodedLine;

function hex2(b: number): string {
  return b.toString(16).toUpperCase().padStart(2, '0');
}

function controlJson(c: ControlField): Record<string, unknown> {
  return {
    raw: hex2(c.raw),
    fromMaster: c.fromMaster,
    ...(c.fromMaster ? { fcb: c.fcb, fcv: c.fcv } : { acd: c.acd, dfc: c.dfc }),
    functionCode: hex2(c.functionCode),
    functionName: c.functionName,
  };
}

/** A record value as JSON: numbers stay numbers, bigints become strings, dates get an ISO-like `text`. */
export function valueToJson(v: RecordValue): Record<string, unknown> {
  switch (v.type) {
    case 'integer':
      return { type: 'integer', value: typeof v.value === 'bigint' ? v.value.toString() : v.value };
    case 'date':
      return { ...v, text: `${pad(v.year, 4)}-${pad(v.month, 2)}-${pad(v.day, 2)}` };
    case 'dateTime':
      return { ...v, text: `${pad(v.year, 4)}-${pad(v.month, 2)}-${pad(v.day, 2)}T${pad(v.hour, 2)}:${pad(v.minute, 2)}${v.second === null ? '' : `:${pad(v.second, 2)}`}` };
    case 'real':
      return { type: 'real', value: Number.isFinite(v.value) ? v.value : String(v.value) };
    default:
      return { ...v };
  }
}

function pad(n: number, width: number): string {
  return String(n).padStart(width, '0');
}

function vibJson(vib: Vib): Record<string, unknown> {
  return {
    vif: hex2(vib.vif),
    vife: vib.vife.map(hex2),
    table: vib.kind,
    ...(vib.plainText !== undefined ? { plainText: vib.plainText } : {}),
    ...(vib.combinable.length > 0 ? { extensions: vib.combinable.map((e) => ({ code: hex2(e.code), description: e.meaning?.description ?? 'manufacturer specific' })) } : {}),
  };
}

/** Quantity and unit of a record, from the dictionary (or the plain-text VIF). */
export function quantityOf(vib: Vib): { quantity: string; unit: string } {
  if (vib.entry) return { quantity: vib.entry.quantity, unit: vib.entry.unit };
  // A plain-text VIF sends the unit itself (e.g. "%RH"); the quantity is not named.
  if (vib.kind === 'plain-text') return { quantity: 'Plain-text unit', unit: vib.plainText ?? '' };
  if (vib.kind === 'manufacturer') return { quantity: 'Manufacturer specific', unit: '' };
  if (vib.kind === 'any') return { quantity: 'Any VIF', unit: '' };
  return { quantity: 'Unknown', unit: '' };
}

export function recordToJson(r: MbusRecord): Record<string, unknown> {
  if (r.kind === 'manufacturer') return { kind: 'manufacturer', dif: hex2(r.dif), moreRecordsFollow: r.moreRecordsFollow, data: toHex(r.data) };
  if (r.kind === 'global-readout') return { kind: 'global-readout' };
  return {
    kind: 'data',
    function: r.function,
    storageNumber: r.storageNumber,
    tariff: r.tariff,
    subunit: r.subunit,
    ...quantityOf(r.vib),
    value: valueToJson(r.value),
    scaled: r.scaled,
    dif: hex2(r.dif),
    dife: r.dife.map(hex2),
    vib: vibJson(r.vib),
    data: toHex(r.data),
  };
}

export function applicationToJson(a: MbusApplication): Record<string, unknown> {
  switch (a.kind) {
    case 'variableData':
      return {
        kind: a.kind,
        ci: hex2(a.ci),
        header:
          a.header === null
            ? null
            : a.header.type === 'long'
              ? {
                  ...a.header,
                  status: hex2(a.header.status),
                  signature: a.header.signature.toString(16).toUpperCase().padStart(4, '0'),
                  secondaryAddress: formatSecondaryAddress(identityOf(a.header)),
                }
              : { ...a.header, status: hex2(a.header.status) },
        records: a.records.map(recordToJson),
        moreRecordsFollow: a.moreRecordsFollow,
        fillers: a.fillers,
      };
    case 'dataSend':
      return { kind: a.kind, ci: hex2(a.ci), records: a.records.map(recordToJson), moreRecordsFollow: a.moreRecordsFollow, fillers: a.fillers };
    case 'fixedData':
      return { ...a, ci: hex2(a.ci), status: hex2(a.status), counters: a.counters.map((c) => ({ ...c, value: valueToJson(c.value) })) };
    case 'selection':
      return { kind: a.kind, ci: hex2(a.ci), address: { ...a.address, text: formatSecondaryAddress(a.address) } };
    default:
      return { ...a, ci: hex2(a.ci) };
  }
}

/** JSON of a decoded frame and, for control/long frames, its application layer (or why it did not decode). */
export function frameToJson(decoded: MbusDecodedFrame, application?: Result<MbusApplication, DecodeError>): Record<string, unknown> & { ok: boolean } {
  const f = decoded.frame;
  if (f.type === 'ack') return { ok: true, type: 'ack' };
  const base = { type: f.type, control: controlJson(f.control), address: f.address, addressKind: addressKind(f.address) };
  if (f.type === 'short') return { ok: true, ...base, checksum: hex2(f.checksum) };
  const frame = { ...base, ci: hex2(f.ci), length: f.data.length, data: toHex(f.data), checksum: hex2(f.checksum) };
  if (!application) return { ok: true, ...frame };
  if (!application.ok) return { ok: false, ...frame, error: errorToJson(application.error).error };
  return { ok: true, ...frame, application: applicationToJson(application.value) };
}

/**
 * Decodes one hex frame for `meterlab decode mbus <hex>` (the lead wires it into harness/cli).
 * The result has the shape of `decodeDlt645Hex`: `{ ok, json }`; `ok` false for bad hex (offset
 * = character index), a rejected frame, bytes after the frame (`mbus.trailing`), or an
 * application layer that does not decode (the frame fields are still shown). Never throws.
 */
export function decodeMbusHex(text: string): MbusDecodedLine {
  return decodeHexWith(text, (bytes) => {
    const frame = decodeSingleFrame(bytes);
    if (!frame.ok) return { ok: false, json: errorToJson(frame.error) };
    const f = frame.value.frame;
    const app = f.type === 'long' || f.type === 'control' ? decodeApplication(f, frame.value.start) : undefined;
    const json = frameToJson(frame.value, app);
    return { ok: json.ok, json };
  });
}

/**
 * One line for captures and logs: `E5`, `SND_NKE → 5`, `REQ_UD2 FCB=1 → 254`,
 * `RSP_UD ← 5 CI 72 12345678 KAM v1 Heat (outlet) acc 7: 3 records`, `SND_UD → 253 CI 52 select 06855817FFFFFFFF`.
 */
export function describeFrame(decoded: MbusDecodedFrame, application?: Result<MbusApplication, DecodeError>): string {
  const f = decoded.frame;
  if (f.type === 'ack') return 'E5';
  const c = f.control;
  const name = c.functionName ?? `C ${hex2(c.raw)}`;
  const bits = c.fromMaster ? (c.fcv ? ` FCB=${c.fcb ? 1 : 0}` : '') : `${c.acd ? ' ACD' : ''}${c.dfc ? ' DFC' : ''}`;
  const head = `${name}${bits} ${c.fromMaster ? '→' : '←'} ${f.address}`;
  if (f.type === 'short') return head;
  const ci = `${head} CI ${hex2(f.ci)}`;
  if (!application) return ci;
  if (!application.ok) return `${ci}: ${application.error.code} at ${application.error.offset}`;
  const a = application.value;
  switch (a.kind) {
    case 'variableData': {
      const h = a.header;
      const who = h?.type === 'long' ? ` ${h.id} ${h.manufacturerCode} v${h.version} ${h.mediumName} acc ${h.accessNumber}` : h ? ` acc ${h.accessNumber}` : '';
      return `${ci}${who}: ${a.records.length} record(s)${a.moreRecordsFollow ? ', more follow' : ''}`;
    }
    case 'fixedData':
      return `${ci} ${a.id} acc ${a.accessNumber}: fixed data`;
    case 'applicationError':
      return `${ci} application error ${a.code === null ? '(no code)' : hex2(a.code)} ${a.description}`;
    case 'dataSend':
      return `${ci} data send: ${a.records.length} record(s)`;
    case 'selection':
      return `${ci} select ${formatSecondaryAddress(a.address)}`;
    case 'applicationReset':
      return `${ci} application reset${a.subcode === null ? '' : ` ${hex2(a.subcode)}`}`;
    case 'baudRate':
      return `${ci} baud rate ${a.baudRate}`;
  }
}
