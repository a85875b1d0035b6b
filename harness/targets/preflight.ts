/**
 * Is the meter there? One question asked two ways, and the answer told in words a user can act
 * on (issue 6):
 *
 * - `checkMeterPresence(target)`: a read (11H) of an ordinary identifier at the declared
 *   address, one attempt with the profile's timeout; when that gets no acceptable reply, a read
 *   address (13H) to the wildcard AAAAAAAAAAAA (when the meter declares it), one attempt. The
 *   answer is 'answering' (a normal or abnormal reply from the declared address), 'misaddressed'
 *   (replies, but from another address: named, with the byte-order hint when it is the declared
 *   address in nameplate order) or 'silent'. Suites use it to tell a dead meter from a defect.
 * - `preflight(profile)`: `meterlab run` calls it for serial and TCP targets before any suite
 *   starts: it opens the target, checks presence, closes, and throws a PreflightError (one line,
 *   exit 3) naming what to check unless the meter answers at its declared address. Against a
 *   dead meter it costs two timeouts (2 × 3000 ms by default) instead of every case's retries.
 * - `preflightDevice(profile)`: the same for a device of another registered protocol, through the
 *   protocol entry's `presence` (CJ/T 188: 901F then 03H to the wildcard; M-Bus: SND_NKE then
 *   REQ_UD2 at 254; a converter: a read of its archived meters through it). Without it (a
 *   suite would see an all-inconclusive run that does not fail) a dead water meter or heat meter
 *   would let `meterlab run` exit 0.
 *
 * May import what targets may: core, protocols, links, masters (through the Target).
 */
import { MeterLabError, TimeoutError } from '../core/errors.ts';
import { formatLine } from '../links/link.ts';
import { WILDCARD_ADDRESS, byteOrderHint } from '../protocols/dlt645/index.ts';
import { openDeviceTarget, openTarget, type Target } from './target.ts';
import type { DeviceTargetProfile, TargetProfile } from './profile.ts';
import { targetProtocol, type TargetMasters } from './protocols.ts';

/** Forward active total energy (PROTOCOLS.md 1.9): the identifier every 2007 meter serves. */
const FORWARD_ACTIVE_TOTAL = '00010000';

/** The identifier ordinary reads use: forward active total when declared, else the first declared one. */
export function ordinaryIdentifier(profile: TargetProfile): string {
  const ids = profile.meter.identifiers;
  return ids.includes(FORWARD_ACTIVE_TOTAL) ? FORWARD_ACTIVE_TOTAL : ids[0]!;
}

/**
 * 'answering': an acceptable reply (normal or abnormal) from the declared address.
 * 'misaddressed': replies, but from another address (named in `seenAddress`).
 * 'garbled': bytes came back, but no valid frame (a broken checksum routine, a wrong line setting).
 * 'silent': nothing at all.
 */
export type PresenceState = 'answering' | 'misaddressed' | 'garbled' | 'silent';

export interface MeterPresence {
  readonly state: PresenceState;
  /** Where replies came from when not from the declared address (13H data or a reply's frame address). */
  readonly seenAddress?: string;
  /** What was sent and what came back, one clause: "a read of 00010000 at 123456789012 got no reply; …". */
  readonly detail: string;
  /** The byte-order sentence (address-order.ts) when `seenAddress` is the declared address in nameplate order. */
  readonly hint?: string;
}

export interface PresenceOptions {
  /** Reply timeout of each request, ms. Default the profile's `master.timeoutMs`. */
  readonly timeoutMs?: number;
  /** Abort between the two requests (a suite case that ran out of time). */
  readonly signal?: AbortSignal;
}

interface ExchangeLike {
  readonly rejected?: readonly { readonly reason: string; readonly frame: { readonly address: string; readonly control: { readonly isResponse: boolean } } }[];
  readonly discarded?: readonly { readonly bytes: Uint8Array; readonly error: { readonly code: string; readonly message: string } }[];
}

/** "3 byte run(s) that are no valid frame (dlt645.checksum: checksum mismatch: …)", or '' when nothing was discarded. */
function discardedText(e: unknown): string {
  const d = (e as { exchange?: ExchangeLike } | null)?.exchange?.discarded ?? [];
  if (d.length === 0) return '';
  return `${d.length} byte run(s) that are no valid frame (${d[0]!.error.code}: ${d[0]!.error.message})`;
}

/**
 * Frame addresses of replies the master rejected for their address (ROB-03), in arrival order,
 * from an error that carries its exchange (the master's no-reply error); [] otherwise.
 */
export function rejectedAddresses(e: unknown): string[] {
  const x = (e as { exchange?: ExchangeLike } | null)?.exchange;
  return (x?.rejected ?? []).filter((r) => r.frame.control.isResponse && (r.reason === 'address' || r.reason === 'wildcard-echo')).map((r) => r.frame.address);
}

/** True for errors that mean "the meter did answer" (an abnormal reply, a reply the master could not use). */
function isAnswer(e: unknown): boolean {
  return e instanceof MeterLabError && e.code.startsWith('dlt645.');
}

/**
 * Checks whether the meter answers at its declared address (see the file header). Never throws
 * for silence or bad replies; rethrows link failures (a closed port is not a silent meter).
 */
export async function checkMeterPresence(t: Target, options: PresenceOptions = {}): Promise<MeterPresence> {
  const declared = t.profile.meter.address;
  const di = ordinaryIdentifier(t.profile);
  const request = { attempts: 1, timeoutMs: options.timeoutMs ?? t.profile.master.timeoutMs };
  let seen: string | undefined;
  let readDetail: string;
  try {
    await t.master.readData(declared, di, request);
    return { state: 'answering', detail: `a read of ${di} at ${declared} was answered` };
  } catch (e) {
    if (isAnswer(e)) return { state: 'answering', detail: `a read of ${di} at ${declared} was answered (${(e as Error).message})` };
    if (!(e instanceof TimeoutError)) throw e;
    seen = rejectedAddresses(e)[0];
    const garbage = discardedText(e);
    if (!seen && garbage) return { state: 'garbled', detail: `a read of ${di} at ${declared} was answered with ${garbage}` };
    readDetail = seen
      ? `a read of ${di} at ${declared} was answered from ${seen} instead`
      : `a read of ${di} at ${declared} got no reply within ${request.timeoutMs} ms`;
  }
  let wildcardDetail = '';
  if (!seen && t.profile.meter.capabilities.readAddressWithWildcard && !options.signal?.aborted) {
    try {
      seen = await t.master.readAddress(WILDCARD_ADDRESS, request);
      wildcardDetail = `a read address (13H) at ${WILDCARD_ADDRESS} was answered with ${seen}`;
    } catch (e) {
      if (!(e instanceof TimeoutError) && !isAnswer(e)) throw e;
      const from = rejectedAddresses(e);
      seen = from.find((a) => a !== WILDCARD_ADDRESS);
      if (seen) {
        wildcardDetail = `a read address (13H) at ${WILDCARD_ADDRESS} was answered from ${seen}`;
      } else if (from.length > 0 || isAnswer(e)) {
        // Something answered 13H, but not with an address we can name (an echoed wildcard, an abnormal reply).
        const what = isAnswer(e) ? (e as Error).message : `a reply from ${from[0]}`;
        return { state: 'misaddressed', detail: `${readDetail}; a read address (13H) at ${WILDCARD_ADDRESS} got ${what}` };
      } else if (discardedText(e)) {
        return { state: 'garbled', detail: `${readDetail}; a read address (13H) at ${WILDCARD_ADDRESS} was answered with ${discardedText(e)}` };
      } else {
        wildcardDetail = `nor did a read address (13H) at ${WILDCARD_ADDRESS}`;
      }
    }
  }
  const detail = wildcardDetail ? `${readDetail}; ${wildcardDetail}` : readDetail;
  if (seen === declared) {
    // 13H names the declared address, yet a read there was not answered: the meter is there,
    // the read is its problem (a case will say so).
    return { state: 'answering', detail };
  }
  if (seen) {
    const hint = byteOrderHint(seen, declared);
    return { state: 'misaddressed', seenAddress: seen, detail, ...(hint ? { hint } : {}) };
  }
  return { state: 'silent', detail };
}

/** The meter did not answer before the run: `meterlab run` stops with one line, exit 3. */
export class PreflightError extends MeterLabError {
  readonly presence: MeterPresence;
  constructor(message: string, presence: MeterPresence) {
    super('preflight', message);
    this.presence = presence;
  }
}

/** "on /dev/ttyUSB0", "behind the serial server 10.0.0.5:4001", "on the reference simulator". */
function whereOf(profile: TargetProfile): string {
  const c = profile.connection;
  switch (c.type) {
    case 'serial':
      return `on ${c.path}`;
    case 'tcp':
      return `behind the serial server ${c.host}:${c.port}`;
    default:
      return 'on the reference simulator';
  }
}

/** The one line a user reads when the pre-flight stops the run; `source` names the profile. */
export function preflightMessage(profile: TargetProfile, presence: MeterPresence, source = profile.source): string {
  const m = profile.meter;
  const where = whereOf(profile);
  const of = `(target profile ${source})`;
  if (presence.state === 'garbled') {
    return (
      `the meter ${where} answers, but with bytes that are no valid DL/T 645 frame: ${presence.detail}; ` +
      `check the line settings (meter.line declares ${formatLine(m.line)}: a wrong baud rate or parity garbles every byte) ${of}`
    );
  }
  if (presence.state === 'misaddressed') {
    const fix = presence.hint
      ? `${presence.hint}; declare meter.address "${presence.seenAddress}" to test it as it answers, or have the vendor fix the byte order`
      : presence.seenAddress
        ? `check meter.address: the meter there answers as ${presence.seenAddress}`
        : 'check meter.address';
    return `the meter ${where} does not answer at its declared address ${m.address}: ${presence.detail}; ${fix} ${of}`;
  }
  const serverLine = profile.connection.type === 'tcp' ? ' and the serial server\'s port settings' : '';
  return (
    `no answer from the meter ${where}: ${presence.detail}; check the wiring (A and B swapped? meter powered? adapter on the right port?), ` +
    `the line settings (meter.line declares ${formatLine(m.line)}: baud rate and parity must match the meter${serverLine}) ` +
    `and the address (meter.address ${m.address}) ${of}`
  );
}

/**
 * Opens the target, checks that the meter answers at its declared address, and closes it.
 * Throws PreflightError (one line) when it does not; LinkError when the link cannot be opened.
 */
export async function preflight(profile: TargetProfile, options: { readonly source?: string; readonly timeoutMs?: number } = {}): Promise<MeterPresence> {
  const target = await openTarget(profile, { describe: false });
  let presence: MeterPresence;
  try {
    presence = await checkMeterPresence(target, options.timeoutMs !== undefined ? { timeoutMs: options.timeoutMs } : {});
  } finally {
    await target.close();
  }
  if (presence.state !== 'answering') throw new PreflightError(preflightMessage(profile, presence, options.source), presence);
  return presence;
}

/** "a heat-meter on /dev/ttyUSB0", "… behind the serial server 10.0.0.5:4001". */
function deviceWhere(profile: DeviceTargetProfile): string {
  const c = profile.connection;
  const kind = profile.device.kind.replace('-', ' ');
  return c.type === 'serial' ? `the ${kind} on ${c.path}` : c.type === 'tcp' ? `the ${kind} behind the serial server ${c.host}:${c.port}` : `the simulated ${kind}`;
}

/**
 * The pre-flight of a device of another protocol (not DL/T 645: `preflight`): opens the target,
 * asks the protocol entry's `presence`, closes, and throws PreflightError (one line naming what
 * to check) unless the device answers at its declared address. A protocol without `presence`
 * gets no pre-flight (undefined).
 */
export async function preflightDevice(profile: DeviceTargetProfile, options: { readonly source?: string } = {}): Promise<MeterPresence | undefined> {
  const entry = targetProtocol(profile.device.protocol);
  if (!entry?.presence) return undefined;
  const target = await openDeviceTarget(profile, { describe: false });
  let presence: MeterPresence;
  try {
    const master = (target.masters as Record<string, unknown>)[profile.device.protocol] as TargetMasters[keyof TargetMasters];
    presence = await entry.presence(master as never, profile.device.declaration);
  } finally {
    await target.close();
  }
  if (presence.state === 'answering') return presence;
  const of = `(target profile ${options.source ?? profile.source})`;
  const where = deviceWhere(profile);
  const address = entry.addressOf(profile.device.declaration);
  const line = formatLine(entry.lineOf(profile.device.declaration));
  const message =
    presence.state === 'misaddressed'
      ? `${where} does not answer at its declared address ${address}: ${presence.detail}; check device.declaration's address ${of}`
      : `no answer from ${where}: ${presence.detail}; check the wiring, the line settings (device.declaration.line ${line}${profile.connection.type === 'tcp' ? ", and the serial server's port settings" : ''}) and the address (${address}) ${of}`;
  throw new PreflightError(message, presence);
}
