/**
 * A draft target profile from a discovery (discover.ts): the same schema as suites/profiles/*.json,
 * validated with the loader before anyone writes it, plus the review notes the user must read —
 * what discovery could not see because it only reads (passwords, writes, freeze, time sync,
 * remote control) and what it saw that a suite will fail.
 *
 * Capabilities are conservative: those seen on the wire are set from the evidence (a meter that
 * answers a wildcard read badly still declares it, so the suite judges it); those discovery
 * cannot check without changing the meter's state are false and named in the review notes.
 */
import { formatLine } from '../links/link.ts';
import { lookup } from '../protocols/dlt645/dictionary.ts';
import { MeterDeclarationSchema } from '../protocols/dlt645/declaration.ts';
import { describeProbe, type Discovery } from './discover.ts';
import { parseTargetProfile, type TargetProfile } from './profile.ts';

export type DraftConnection = { readonly type: 'serial'; readonly path: string } | { readonly type: 'tcp'; readonly host: string; readonly port: number };

export interface DraftProfileOptions {
  readonly connection: DraftConnection;
  /** Profile name; default "meter-<address>". */
  readonly name?: string;
}

export interface DraftProfile {
  /** The profile document (what gets written). */
  readonly json: Record<string, unknown>;
  /** `json` as text: two-space JSON, identifier lists eight to a line; ends with a newline. */
  readonly text: string;
  /** The loaded profile (the loader accepted `json`). */
  readonly profile: TargetProfile;
  /** What the user must still check or declare, one item each. */
  readonly review: readonly string[];
}

/** Identifiers the reading suite's freeze case reads after 16H (the declaration's defaults). */
const FREEZE_DEFAULTS = MeterDeclarationSchema.shape.freezeIdentifiers.parse(undefined);
/** The write test's default identifier (alarm amount 1). */
const WRITABLE_DEFAULT = MeterDeclarationSchema.shape.writableIdentifier.parse(undefined);
/** Reading the clock for the time-sync case (DL/T 645-2007 04000101 date and week, 04000102 time). */
const CLOCK_IDENTIFIERS = ['04000101', '04000102'];
/** How many identifiers a review item lists before "and N more". */
const LIST_LIMIT = 12;

function list(ids: readonly string[]): string {
  return ids.length <= LIST_LIMIT ? ids.join(', ') : `${ids.slice(0, LIST_LIMIT).join(', ')} and ${ids.length - LIST_LIMIT} more`;
}

/** Builds, validates and formats the draft. Throws ProfileError if the loader refuses it (a bug here). */
export function draftTargetProfile(d: Discovery, options: DraftProfileOptions): DraftProfile {
  const name = options.name ?? `meter-${d.address}`;
  const line = d.line ?? MeterDeclarationSchema.shape.line.parse(undefined);
  const supported = new Set(d.supported);
  const probes2007 = d.identifiers.filter((p) => p.edition === '2007');

  const connection =
    options.connection.type === 'serial'
      ? { type: 'serial', path: options.connection.path, line }
      : { type: 'tcp', host: options.connection.host, port: options.connection.port };
  const where = options.connection.type === 'serial' ? `${options.connection.path} at ${formatLine(line)}` : `tcp ${options.connection.host}:${options.connection.port}`;
  const json: Record<string, unknown> = {
    name,
    description:
      `DRAFT written by meterlab discover: meter ${d.address} on ${where}, ${d.supported.length} identifiers answered of ${probes2007.length} probed. ` +
      'Review it before certifying: capabilities that discovery could not check are false, passwords are empty (see suites/profiles/README.md).' +
      (d.line === undefined ? ` meter.line is the default ${formatLine(line)}, not discovered: behind a TCP serial server the line is the server's.` : ''),
    connection,
    meter: {
      protocol: 'dlt645-2007',
      address: d.address,
      line,
      identifiers: [...d.supported],
      followUpIdentifiers: [...d.followUp],
      unsupportedIdentifier: d.unsupportedIdentifier.di,
      capabilities: {
        readAddressWithWildcard: d.capabilities.readAddressWithWildcard,
        readWithWildcard: d.capabilities.readWithWildcard,
        broadcastTimeSync: false,
        freeze: false,
        followUp: d.capabilities.followUp,
        writeData: false,
        remoteControl: false,
        keepPower: false,
        localCostControl: false,
      },
      passwords: {},
      operatorCode: '00000000',
    },
    master: { timeoutMs: 3000, attempts: 3, preamble: 4 },
    limits: { responseDelayMs: { min: 20, max: 500 }, clockToleranceS: 10 },
  };
  const profile = parseTargetProfile(json, { source: `draft profile for meter ${d.address}` });

  // ---- review notes
  const review: string[] = [];
  const has = (di: string): boolean => supported.has(di);
  const clockReadable = CLOCK_IDENTIFIERS.every(has);
  review.push(
    `capabilities.broadcastTimeSync is false: discover does not set the meter's clock. Set it true if the meter accepts 08H time sync` +
      (clockReadable ? '' : ` (the time-sync case also needs ${CLOCK_IDENTIFIERS.filter((di) => !has(di)).join(' and ')} in meter.identifiers)`),
  );
  const freezeMissing = [FREEZE_DEFAULTS.time, FREEZE_DEFAULTS.energy].filter((di) => !has(di));
  review.push(
    `capabilities.freeze is false: discover does not freeze the meter. Set it true if it accepts 16H freeze` +
      (freezeMissing.length === 0
        ? ` (it answers ${FREEZE_DEFAULTS.time} and ${FREEZE_DEFAULTS.energy}, the default meter.freezeIdentifiers)`
        : `, and set meter.freezeIdentifiers: it does not answer ${freezeMissing.join(' and ')}`),
  );
  const writable = d.supported.filter((di) => lookup(di)?.access === 'readWrite');
  review.push(
    'capabilities.writeData is false and meter.passwords is empty: to run the write test, declare the level-02/04 passwords and set writeData true; ' +
      (has(WRITABLE_DEFAULT)
        ? `meter.writableIdentifier defaults to ${WRITABLE_DEFAULT}, which the meter answers`
        : writable.length > 0
          ? `meter.writableIdentifier must be one the meter answers and may change harmlessly (readable and writable here: ${list(writable)})`
          : 'the meter answered no identifier the dictionary marks writable'),
  );
  review.push(
    'capabilities.remoteControl is false: set it true only if the meter accepts plain-text 1CH trip/close (not for ESAM-encrypted meters), ' +
      'then declare meter.remoteControl.commands, meter.passwordLevels.remoteControl and meter.relay (type internal/external, tripDelayMs)',
  );
  review.push('capabilities.keepPower and capabilities.localCostControl are false: discover does not probe 保电 (1CH 3A/3B) or a local prepaid balance');
  if (d.line === undefined) {
    review.push(
      `meter.line is the default ${formatLine(line)}: behind a TCP serial server the line is the server's business; set meter.line to the server's RS-485 port setting`,
    );
  }
  if (!d.unsupportedIdentifier.verified) review.push(`meter.unsupportedIdentifier: ${d.unsupportedIdentifier.note}`);
  const undecoded = probes2007.filter((p) => p.status === 'supported' && p.decoded === false);
  if (undecoded.length > 0) {
    review.push(
      `${undecoded.length} identifier(s) answered with data the dictionary does not decode (reading.read-declared-identifiers will fail them): ` +
        list(undecoded.map((p) => `${p.di} (${p.length} bytes)`)),
    );
  }
  const errors = probes2007.filter((p) => p.status === 'error');
  if (errors.length > 0) {
    review.push(`${errors.length} identifier(s) got an error other than "no requested data" and are not declared: ${list(errors.map((p) => `${p.di} ${describeProbe(p)}`))}`);
  }
  const invalid = probes2007.filter((p) => p.status === 'invalid');
  if (invalid.length > 0) review.push(`${invalid.length} identifier(s) got only invalid replies and are not declared: ${list(invalid.map((p) => `${p.di} ${p.detail ?? ''}`.trim()))}`);
  const silent = probes2007.filter((p) => p.status === 'silent');
  if (silent.length > 0) {
    review.push(`${silent.length} identifier(s) got no reply and are not declared (a meter should answer "no requested data"): ${list(silent.map((p) => p.di))}`);
  }
  const answered1997 = d.identifiers.filter((p) => p.edition === '1997' && p.status === 'supported');
  if (answered1997.length > 0) {
    review.push(`${answered1997.length} DL/T 645-1997 identifier(s) answered (${list(answered1997.map((p) => p.di))}); target profiles declare 2007 identifiers only`);
  }
  for (const n of [...d.addressNotes.filter((n) => n.startsWith('byte order') || n.includes('will fail')), ...d.notes]) review.push(n);

  return { json, text: formatProfileJson(json), profile, review };
}

/** Two-space JSON with identifier arrays (8 hex digits each) eight to a line, as the checked-in profiles read. */
export function formatProfileJson(json: unknown): string {
  const placeholders: string[] = [];
  const text = JSON.stringify(
    json,
    (_key, value: unknown) => {
      if (Array.isArray(value) && value.length > 0 && value.every((v) => typeof v === 'string' && /^[0-9A-F]{8}$/.test(v))) {
        placeholders.push(formatIdList(value as string[]));
        return `\u0000${placeholders.length - 1}\u0000`;
      }
      return value;
    },
    2,
  );
  const lines = text.split('\n').map((lineText) => {
    const m = /^( *)(.*)"\\u0000(\d+)\\u0000"(,?)$/.exec(lineText);
    if (!m) return lineText;
    const [, indent = '', head = '', i = '0', comma = ''] = m;
    return `${indent}${head}${placeholders[Number(i)]!.replace(/\n/g, `\n${indent}`)}${comma}`;
  });
  return `${lines.join('\n')}\n`;
}

function formatIdList(ids: readonly string[]): string {
  const rows: string[] = [];
  for (let i = 0; i < ids.length; i += 8) rows.push(ids.slice(i, i + 8).map((d) => `"${d}"`).join(', '));
  return rows.length === 1 ? `[${rows[0]}]` : `[\n${rows.map((r) => `  ${r}`).join(',\n')}\n]`;
}
