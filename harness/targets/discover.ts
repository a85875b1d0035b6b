/**
 * Discovery of an unknown DL/T 645-2007 meter, so that certifying one starts from what the meter
 * itself answers instead of a hand-typed declaration (issue #6, `meterlab discover`):
 *
 * 1. Line settings. On a serial port, for each candidate line (parity-major: every rate at even
 *    parity first, since DL/T 645 specifies 8E1 and a non-standard rate is likelier than a
 *    non-standard parity; rates 2400 first, the de-facto default, PROTOCOLS.md 1.1 / CON-06), the
 *    port is (re)opened and read address 13H is sent to the wildcard AA…AA with 4 × FE; the first
 *    line with a valid reply wins. With a known address (`address`), 11H of the communication
 *    address 04000401 is sent to it (and to it byte-reversed) instead: several meters on one bus
 *    all answer the wildcard at once. Behind a TCP serial server the line is the server's business:
 *    one trial, no line in the result.
 * 2. Address. From the 13H reply: the frame address, or the address in its data when the frame
 *    echoes the wildcard. Byte-order slips (PROTOCOLS.md 1.2: A0 is the least significant byte
 *    pair) are named: data vs frame address reversed, a meter that also answers its address
 *    reversed, a given (nameplate) address the meter only answers reversed.
 * 3. Identifiers. Every readable identifier of the dictionary, in its order (2007 ones; 1997 ones
 *    only when asked), is read with 11H (following 12H follow-ups) with a short per-request
 *    timeout, and classified: data (with its length and whether the dictionary decodes it),
 *    "no requested data", another error word, an invalid reply, or silence. After `maxSilent`
 *    silences in a row the meter is asked something it answered before: no answer stops the scan
 *    (a dead meter costs seconds, not identifiers × timeout); an answer means the meter keeps
 *    quiet about identifiers it lacks (a deviation: it should say "no requested data").
 *
 * Discovery only reads (13H, 11H, 12H): it never writes, freezes, syncs time or switches. What it
 * cannot see without changing the meter's state is left to the user (draft-profile.ts says what).
 *
 * Layering: uses links, the DL/T 645 master and the dictionary; time only from the injected
 * Clock. The CLI (`meterlab discover`) parses options, renders progress and writes the draft.
 *
 * Overlap: the run pre-flight (reading the meter's address before a run, with the byte-order hint)
 * does step 2 for a known line; `reverseAddressBytes` and `probeReadAddress` here are reusable for it.
 */
import { DiscoveryPruner, type PruneRule } from './discover-pruning.ts';
import type { Clock } from '../core/clock.ts';
import { MeterLabError } from '../core/errors.ts';
import { connectTcpLink } from '../links/tcp.ts';
import { openSerialLink, type SerialBinding } from '../links/serial.ts';
import { characterTimeMs, formatLine, type LineSettings, type Link, type Parity } from '../links/link.ts';
import { Dlt645AbnormalReplyError, Dlt645Master, Dlt645NoReplyError, Dlt645ProtocolError } from '../masters/index.ts';
import type { ReceivedFrame } from '../masters/exchange.ts';
import {
  FRAME_OVERHEAD,
  FunctionCode,
  MAX_DATA_LENGTH_2007,
  MeterDeclarationSchema,
  WILDCARD_ADDRESS,
  encodeMessage,
  isBroadcast,
  isWildcard,
} from '../protocols/dlt645/index.ts';
import { DICTIONARY } from '../protocols/dlt645/dictionary.ts';
import type { Dlt645Dictionary } from '../protocols/dlt645/dictionary-types.ts';
import type { ErrorWordBit } from '../protocols/dlt645/types.ts';

// ---------------------------------------------------------------------------------------------
// Constants

/** Rates tried, in order: 2400 first (the de-facto default, PROTOCOLS.md 1.1, CON-06), then the other usual RS-485 meter rates. */
export const DEFAULT_BAUD_RATES: readonly number[] = [2400, 1200, 4800, 9600, 19200];
/** Parities tried, in order: even first (DL/T 645-2007 8E1, PROTOCOLS.md 1.1; GAP-10), then none and odd (CON-06: "no parity" seen in the field). */
export const DEFAULT_PARITIES: readonly Parity[] = ['even', 'none', 'odd'];
/** Wake-up bytes before each request (CON-05, PROTOCOLS.md 1.1: 4 × FE). */
const PREAMBLE = 4;
/** Largest Td a conformant meter may take (PROTOCOLS.md 1.1: Td ≤ 500 ms). */
const MAX_RESPONSE_DELAY_MS = 500;
/** Slack on top of Td and transmission time: host and USB adapter latency (USB latency timers are up to 16 ms) with a wide margin. */
const TIMEOUT_MARGIN_MS = 200;
/** A TCP serial server adds a network round trip: extra slack when the line is not ours. */
const NETWORK_MARGIN_MS = 300;
/** 13H reply: 4 × FE + 68 A0..A5 68 C L + 6 address bytes + CS 16 (PROTOCOLS.md 1.2, 1.3). */
const READ_ADDRESS_REPLY_CHARS = PREAMBLE + FRAME_OVERHEAD + 6;
/** The longest reply a meter may send: 4 × FE + frame overhead + L ≤ 200 (PROTOCOLS.md 1.2 [BK]). */
const LONGEST_REPLY_CHARS = PREAMBLE + FRAME_OVERHEAD + MAX_DATA_LENGTH_2007;
/** Communication address register (DL/T 645-2007 04000401): read to check an address and to prove the meter alive. */
export const COMM_ADDRESS_DI = '04000401';
/** Forward active total energy: the ordinary identifier for the wildcard read check (as the reading suite uses). */
const FORWARD_ACTIVE_TOTAL_DI = '00010000';
/** Default attempts per identifier: one retry so a single lost frame does not drop an identifier. */
export const DEFAULT_ATTEMPTS = 2;
/** Silences in a row after which the meter is asked whether it is still there. */
export const DEFAULT_MAX_SILENT = 5;

/** The line a TCP serial server's meter is assumed to run at for timing estimates (PROTOCOLS.md 1.1). */
const ASSUMED_LINE: LineSettings = { baudRate: 2400, dataBits: 8, parity: 'even', stopBits: 1 };

// ---------------------------------------------------------------------------------------------
// Errors

/**
 * Nothing usable was found: no meter answered, several answered at once, or the meter stopped
 * answering. The message names what was tried; the CLI exits 3.
 */
export class DiscoveryError extends MeterLabError {
  constructor(message: string) {
    super('discovery', message);
  }
}

// ---------------------------------------------------------------------------------------------
// Ports

/** Where discovery talks: a serial port it may reopen at other line settings, or a fixed-line link. */
export interface DiscoveryPort {
  /** For messages: "serial port /dev/ttyUSB0", "tcp 192.168.1.50:4001". */
  readonly description: string;
  /** False when the far end fixes the line (a TCP serial server): one trial, no line discovered. */
  readonly lineSelectable: boolean;
  /** The link at these line settings (closing any previous one); `line` is undefined on fixed-line ports. */
  open(line: LineSettings | undefined): Promise<Link>;
  /** Closes what `open` opened (a link handed in from outside is left to its owner). */
  close(): Promise<void>;
}

/** A serial device, reopened for each line setting tried. */
export function serialDiscoveryPort(path: string, options: { binding?: SerialBinding } = {}): DiscoveryPort {
  let current: Link | undefined;
  const close = async (): Promise<void> => {
    const link = current;
    current = undefined;
    await link?.close();
  };
  return {
    description: `serial port ${path}`,
    lineSelectable: true,
    async open(line) {
      await close();
      current = await openSerialLink({ path, line: line ?? ASSUMED_LINE, ...(options.binding ? { binding: options.binding } : {}) });
      return current;
    },
    close,
  };
}

/** A TCP serial server in transparent mode: one connection, the line is the server's. */
export function tcpDiscoveryPort(host: string, port: number): DiscoveryPort {
  let current: Link | undefined;
  return {
    description: `tcp ${host}:${port}`,
    lineSelectable: false,
    async open() {
      if (!current || !current.isOpen) current = await connectTcpLink({ host, port });
      return current;
    },
    async close() {
      const link = current;
      current = undefined;
      await link?.close();
    },
  };
}

/**
 * A link the caller owns (a node of the RS-485 bus model, an in-memory pair): with `setLine` the
 * line can be changed between trials (BusNode.setLine), without it the line is fixed.
 */
export function linkDiscoveryPort(link: Link, options: { description?: string; setLine?: (line: LineSettings) => void } = {}): DiscoveryPort {
  const { setLine } = options;
  return {
    description: options.description ?? link.name,
    lineSelectable: setLine !== undefined,
    open(line) {
      if (line && setLine) setLine(line);
      return Promise.resolve(link);
    },
    close: () => Promise.resolve(),
  };
}

// ---------------------------------------------------------------------------------------------
// Results

/** What one line setting (or the one fixed line) gave. */
export interface LineTrial {
  /** Undefined on a fixed-line port (TCP serial server). */
  readonly line: LineSettings | undefined;
  /**
   * 'reply': a valid reply from one meter; 'several': valid replies from more than one address;
   * 'refused': a meter answered 13H with an abnormal reply; 'garbage': bytes but no valid frame
   * (wrong line settings, a collision, noise); 'silence': nothing at all.
   */
  readonly outcome: 'reply' | 'several' | 'refused' | 'garbage' | 'silence';
  /** Meter addresses seen in valid replies. */
  readonly addresses: readonly string[];
  /** Received bytes that belonged to no valid frame. */
  readonly strayBytes: number;
  readonly detail: string;
}

export type IdentifierStatus = 'supported' | 'unsupported' | 'error' | 'invalid' | 'silent';

/** How the meter answered one identifier. */
export interface IdentifierProbe {
  readonly di: string;
  readonly edition: '2007' | '1997';
  /**
   * 'supported': answered with data; 'unsupported': error word with "no requested data";
   * 'error': another error word, or a follow-up that failed; 'invalid': only frames that are no
   * valid reply (wrong DI, address, checksum); 'silent': nothing.
   */
  readonly status: IdentifierStatus;
  /** Payload bytes (follow-up parts included). */
  readonly length?: number;
  /** Frames the value came in (1 + follow-ups). */
  readonly frames?: number;
  /** The reply set the follow-up flag (12H frames were needed). */
  readonly followUp?: boolean;
  /** The dictionary decodes the payload. */
  readonly decoded?: boolean;
  readonly decodeError?: string;
  readonly errorWord?: number;
  readonly errors?: readonly ErrorWordBit[];
  /** Td of the first reply, ms. */
  readonly responseDelayMs?: number;
  /** One line for errors, invalid replies and silence. */
  readonly detail?: string;
}

export interface DiscoveryCounts {
  supported: number;
  unsupported: number;
  error: number;
  invalid: number;
  silent: number;
}

export type DiscoveryProgress =
  | { readonly phase: 'line'; readonly trial: LineTrial; readonly index: number; readonly total: number; readonly elapsedMs: number }
  | {
      readonly phase: 'identifiers';
      readonly done: number;
      readonly total: number;
      readonly probe: IdentifierProbe;
      readonly counts: Readonly<DiscoveryCounts>;
      readonly elapsedMs: number;
    };

export interface Discovery {
  /** DiscoveryPort.description. */
  readonly port: string;
  /** The line the meter answered at; undefined when the far end fixes it (TCP serial server). */
  readonly line: LineSettings | undefined;
  /** Every line setting tried, in order (the last one is the meter's). */
  readonly lineTrials: readonly LineTrial[];
  /** The address the meter answers to (12 characters, most significant first). */
  readonly address: string;
  /** 'wildcard': from the 13H reply; 'given': the caller's address (or it reversed) answered. */
  readonly addressFrom: 'wildcard' | 'given';
  /** Byte-order findings and other address facts, one line each. */
  readonly addressNotes: readonly string[];
  /** Every identifier probed, in dictionary order. */
  readonly identifiers: readonly IdentifierProbe[];
  /** 2007 identifiers answered with data, in dictionary order. */
  readonly supported: readonly string[];
  /** Those of `supported` whose reply needed follow-up frames. */
  readonly followUp: readonly string[];
  /** An identifier the meter answers with "no requested data", for meter.unsupportedIdentifier. */
  readonly unsupportedIdentifier: { readonly di: string; readonly verified: boolean; readonly note: string };
  /** Capabilities seen on the wire (everything else is left to the user). */
  readonly capabilities: { readonly readAddressWithWildcard: boolean; readonly readWithWildcard: boolean; readonly followUp: boolean };
  /** Deviations and hints seen along the way, one line each. */
  readonly notes: readonly string[];
  readonly counts: Readonly<DiscoveryCounts>;
  readonly timing: {
    /** Clock instant discovery started (ms since the epoch). */
    readonly startedAt: number;
    readonly lineMs: number;
    readonly scanMs: number;
    readonly totalMs: number;
    /** Identifiers probed. */
    readonly probed: number;
    /** Median Td of the replies with data, ms. */
    readonly medianResponseDelayMs?: number;
    /** Reply timeout per attempt used for identifier reads, ms. */
    readonly timeoutMs: number;
  };
}

export interface DiscoverOptions {
  readonly port: DiscoveryPort;
  readonly clock: Clock;
  /** Rates to try, in order. Default DEFAULT_BAUD_RATES. */
  readonly baudRates?: readonly number[];
  /** Parities to try, in order. Default DEFAULT_PARITIES. */
  readonly parities?: readonly Parity[];
  /** The meter's address when known (several meters on one bus): no wildcard read is used to find the line. */
  readonly address?: string;
  /** Reply timeout per attempt for identifier reads, ms. Default from the line: Td max + the longest reply + margin. */
  readonly timeoutMs?: number;
  /** Attempts per identifier. Default 2. */
  readonly attempts?: number;
  /** Silences in a row before checking the meter is still there. Default 5. */
  readonly maxSilent?: number;
  /** Also probe the dictionary's DL/T 645-1997 identifiers (01H reads). Default false. */
  readonly include1997?: boolean;
  /** Only identifiers starting with one of these hex prefixes. Default all. */
  readonly prefixes?: readonly string[];
  /**
   * Read every identifier, even those a refusal of a related one makes pointless (later history
   * of a refused item, tariffs above a refused one, event and freeze kinds refused as a whole:
   * discover-pruning.ts). Default false.
   */
  readonly exhaustive?: boolean;
  /** Default the DL/T 645 dictionary. */
  readonly dictionary?: Dlt645Dictionary;
  readonly onProgress?: (progress: DiscoveryProgress) => void;
}

// ---------------------------------------------------------------------------------------------
// Helpers

/**
 * The address with its six byte pairs in the opposite order: "123456789012" -> "129078563412".
 * The wire carries A0 (the least significant pair) first (PROTOCOLS.md 1.2); a meter that keeps
 * its address in nameplate order answers to the reversed one.
 */
export function reverseAddressBytes(address: string): string {
  const pairs = address.match(/../g) ?? [];
  return pairs.reverse().join('');
}

/** Line settings in trial order: parity-major (every rate at the first parity, then the next). */
export function lineCandidates(baudRates: readonly number[] = DEFAULT_BAUD_RATES, parities: readonly Parity[] = DEFAULT_PARITIES): LineSettings[] {
  const out: LineSettings[] = [];
  for (const parity of parities) for (const baudRate of baudRates) out.push({ baudRate, dataBits: 8, parity, stopBits: 1 });
  return out;
}

/** Listening window for one 13H probe: Td max + the reply's transmission time + margin. */
export function probeWindowMs(line: LineSettings | undefined): number {
  const l = line ?? ASSUMED_LINE;
  const extra = line ? 0 : NETWORK_MARGIN_MS;
  return Math.ceil(MAX_RESPONSE_DELAY_MS + READ_ADDRESS_REPLY_CHARS * characterTimeMs(l) + TIMEOUT_MARGIN_MS + extra);
}

/** Reply timeout for identifier reads: Td max + the longest reply's transmission time + margin, rounded up to 100 ms. */
export function identifierTimeoutMs(line: LineSettings | undefined): number {
  const l = line ?? ASSUMED_LINE;
  const extra = line ? 0 : NETWORK_MARGIN_MS;
  const ms = MAX_RESPONSE_DELAY_MS + LONGEST_REPLY_CHARS * characterTimeMs(l) + TIMEOUT_MARGIN_MS + extra;
  return Math.ceil(ms / 100) * 100;
}

/** The declaration's default unsupported identifier (MeterDeclarationSchema), whatever it is today. */
export function defaultUnsupportedIdentifier(): string {
  return MeterDeclarationSchema.shape.unsupportedIdentifier.parse(undefined);
}

function describeLine(line: LineSettings | undefined): string {
  return line ? formatLine(line) : "the serial server's line";
}

function median(values: readonly number[]): number | undefined {
  if (values.length === 0) return undefined;
  const s = [...values].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)];
}

function hex2(n: number): string {
  return n.toString(16).toUpperCase().padStart(2, '0');
}

// ---------------------------------------------------------------------------------------------
// Probes below the master's reply matching (it would hide echoes, collisions and garbage)

interface RawProbe {
  /** Valid reply frames (D7 = 1) with the probed function code. */
  readonly replies: readonly ReceivedFrame[];
  /** Valid reply frames with another function code, or requests (an echo), counted apart. */
  readonly otherFrames: number;
  /** Received bytes outside every valid frame. */
  readonly strayBytes: number;
}

async function listen(master: Dlt645Master, request: Uint8Array, functionCode: number, windowMs: number, untilFirstFrame = false): Promise<RawProbe> {
  const r = await master.sendRaw(request, { listenMs: windowMs, expectReply: untilFirstFrame });
  let inFrames = 0;
  let otherFrames = 0;
  const replies: ReceivedFrame[] = [];
  for (const f of r.replies) {
    inFrames += f.raw.length;
    if (f.frame.control.isResponse && f.frame.control.functionCode === functionCode) replies.push(f);
    else otherFrames++;
  }
  return { replies, otherFrames, strayBytes: Math.max(0, r.received.length - inFrames) };
}

/** The meter address a reply stands for: its frame address, or for a wildcard echo the 13H data. */
function replyMeterAddress(f: ReceivedFrame): string | undefined {
  const a = f.frame.address;
  if (!isWildcard(a) && !isBroadcast(a)) return a;
  if (f.message?.kind === 'readAddressResponse') return f.message.address;
  return undefined;
}

export interface ReadAddressProbe extends LineTrial {
  /** The first valid 13H reply, when there is one. */
  readonly reply?: ReceivedFrame;
}

/**
 * Sends read address 13H to the wildcard AA…AA and listens for `windowMs`. Reusable by a run
 * pre-flight: the outcome says whether one meter, several, a refusal, garbage or nothing answered.
 */
export async function probeReadAddress(master: Dlt645Master, line: LineSettings | undefined, windowMs: number): Promise<ReadAddressProbe> {
  const request = encodeMessage(WILDCARD_ADDRESS, { kind: 'readAddress' }, { preamble: PREAMBLE });
  const p = await listen(master, request, FunctionCode.ReadAddress, windowMs);
  const normal = p.replies.filter((f) => f.message?.kind === 'readAddressResponse');
  const abnormal = p.replies.filter((f) => f.message?.kind === 'errorResponse');
  const addresses = [...new Set(normal.map(replyMeterAddress).filter((a): a is string => a !== undefined))];
  const at = describeLine(line);
  if (addresses.length > 1) {
    return { line, outcome: 'several', addresses, strayBytes: p.strayBytes, reply: normal[0]!, detail: `${addresses.length} meters answered at ${at}: ${addresses.join(', ')}` };
  }
  if (addresses.length === 1) {
    const stray = p.strayBytes > 0 ? ` and ${p.strayBytes} stray byte(s)` : '';
    return { line, outcome: 'reply', addresses, strayBytes: p.strayBytes, reply: normal[0]!, detail: `meter ${addresses[0]} answered at ${at}${stray}` };
  }
  if (abnormal.length > 0) {
    const m = abnormal[0]!.message;
    const word = m?.kind === 'errorResponse' ? ` (error word ${hex2(m.errorWord)}H)` : '';
    return { line, outcome: 'refused', addresses: [], strayBytes: p.strayBytes, reply: abnormal[0]!, detail: `a meter refused read address (13H) at ${at}${word}` };
  }
  if (p.strayBytes > 0 || p.replies.length > 0) {
    return { line, outcome: 'garbage', addresses: [], strayBytes: p.strayBytes, detail: `${p.strayBytes} byte(s) but no valid reply at ${at}` };
  }
  return { line, outcome: 'silence', addresses: [], strayBytes: 0, detail: `silence at ${at}` };
}

/**
 * Sends 11H for `di` to `address` and listens for `windowMs`: which meters answered (normal or
 * abnormal replies count: both prove the meter heard its address).
 */
async function probeAddressedRead(master: Dlt645Master, address: string, di: string, line: LineSettings | undefined, windowMs: number): Promise<LineTrial> {
  const request = encodeMessage(address, { kind: 'readData', di, extra: new Uint8Array(0) }, { preamble: PREAMBLE });
  const p = await listen(master, request, FunctionCode.ReadData, windowMs);
  const addresses = [...new Set(p.replies.map((f) => f.frame.address))];
  const at = describeLine(line);
  if (addresses.length > 1) return { line, outcome: 'several', addresses, strayBytes: p.strayBytes, detail: `${addresses.length} addresses answered a read sent to ${address} at ${at}: ${addresses.join(', ')}` };
  if (addresses.length === 1) {
    const stray = p.strayBytes > 0 ? ` and ${p.strayBytes} stray byte(s)` : '';
    return { line, outcome: 'reply', addresses, strayBytes: p.strayBytes, detail: `meter ${addresses[0]} answered a read sent to ${address} at ${at}${stray}` };
  }
  if (p.strayBytes > 0 || p.otherFrames > 0) return { line, outcome: 'garbage', addresses: [], strayBytes: p.strayBytes, detail: `${p.strayBytes} byte(s) but no valid reply to ${address} at ${at}` };
  return { line, outcome: 'silence', addresses: [], strayBytes: 0, detail: `silence at ${at} (read sent to ${address})` };
}

// ---------------------------------------------------------------------------------------------
// Discovery

/**
 * Finds the meter's line and address, probes the dictionary's identifiers and returns what it
 * found. Throws DiscoveryError when nothing usable was found (the message names what was tried),
 * a LinkError when the port cannot be opened or fails.
 */
export async function discoverMeter(options: DiscoverOptions): Promise<Discovery> {
  const { port, clock } = options;
  const dictionary = options.dictionary ?? DICTIONARY;
  const startedAt = clock.now();
  const notes: string[] = [];
  const addressNotes: string[] = [];
  const masters: Dlt645Master[] = [];
  const newMaster = (link: Link, line: LineSettings | undefined, timeoutMs: number, attempts: number): Dlt645Master => {
    const m = new Dlt645Master({ link, clock, timeoutMs, attempts, preamble: PREAMBLE, ...(line ? { line } : {}) });
    masters.push(m);
    return m;
  };
  const dispose = (m: Dlt645Master): void => {
    m.dispose();
    masters.splice(masters.indexOf(m), 1);
  };

  try {
    // ---- 1. line settings (and the address they were found with)
    const candidates = port.lineSelectable ? lineCandidates(options.baudRates, options.parities) : [undefined];
    if (candidates.length === 0) throw new DiscoveryError('no line settings to try: give at least one baud rate and one parity');
    const trials: LineTrial[] = [];
    let found: { line: LineSettings | undefined; link: Link; trial: LineProbe } | undefined;
    for (const [i, line] of candidates.entries()) {
      const link = await port.open(line);
      const probeMaster = newMaster(link, line, Math.max(probeWindowMs(line), options.timeoutMs ?? 0), 1);
      try {
        const first = await probeLine(probeMaster, line, options.address);
        let chosen = first;
        // A valid reply with stray bytes around it, or several meters: look again before trusting it.
        if (first.outcome === 'several' || (first.outcome === 'reply' && first.strayBytes > 0)) {
          const again = await probeLine(probeMaster, line, options.address);
          if (again.outcome === 'several' || first.outcome === 'several') throw severalMeters(port, again.outcome === 'several' ? again : first, options.address);
          if (again.outcome !== 'reply' || again.strayBytes > 0) throw collision(port, [first, again], options.address);
          chosen = again;
        }
        const { reply: _reply, requested: _requested, ...trial } = chosen;
        trials.push(trial);
        options.onProgress?.({ phase: 'line', trial, index: i, total: candidates.length, elapsedMs: clock.now() - startedAt });
        if (chosen.outcome === 'reply' || chosen.outcome === 'refused') {
          found = { line, link, trial: chosen };
          break;
        }
      } finally {
        dispose(probeMaster);
      }
    }
    if (!found) throw nothingFound(port, trials, options.address);
    const lineMs = clock.now() - startedAt;
    const { line, link } = found;
    const timeoutMs = options.timeoutMs ?? identifierTimeoutMs(line);
    let attempts = options.attempts ?? DEFAULT_ATTEMPTS;
    const master = newMaster(link, line, timeoutMs, attempts);
    const windowMs = Math.max(probeWindowMs(line), options.timeoutMs ?? 0);

    // ---- 2. address
    let address: string;
    let readAddressWithWildcard: boolean;
    const tested = new Map<string, string | null>();
    /**
     * The address a read sent to `a` is answered from (an abnormal reply counts: the meter heard
     * its address; so does a reply from another address, which the master rejects), or null.
     */
    const answerFrom = async (a: string, attempts = DEFAULT_ATTEMPTS): Promise<string | null> => {
      const known = tested.get(a);
      if (known !== undefined) return known;
      let from: string | null;
      try {
        from = (await master.readData(a, COMM_ADDRESS_DI, { attempts })).address;
      } catch (e) {
        if (e instanceof Dlt645AbnormalReplyError) from = e.exchange.replyAddress ?? a;
        else if (e instanceof Dlt645NoReplyError) {
          const r = e.exchange.rejected.find((f) => f.frame.control.isResponse && f.frame.control.functionCode === FunctionCode.ReadData);
          from = r ? r.frame.address : null;
        } else throw e;
      }
      tested.set(a, from);
      return from;
    };
    /** Whether the meter answers reads addressed to `a` from `a` itself. */
    const answers = async (a: string, attempts = DEFAULT_ATTEMPTS): Promise<boolean> => (await answerFrom(a, attempts)) === a;
    if (options.address !== undefined) {
      const given = options.address;
      const requested = found.trial.requested ?? given;
      address = requested;
      if (requested !== given) {
        addressNotes.push(
          `byte order: the meter does not answer ${given} but answers ${requested}, the same bytes reversed: it keeps its address in nameplate byte order ` +
            `(on the wire A0, the least significant byte pair, goes first, PROTOCOLS.md 1.2); the profile uses ${requested}, the address it answers to`,
        );
      }
      const replied = found.trial.addresses[0];
      if (replied !== undefined && replied !== requested) {
        addressNotes.push(`a read sent to ${requested} is answered with the frame address ${replied}: reading.reply-frame-format will fail`);
      }
      const wildcard = await probeReadAddress(master, line, windowMs);
      readAddressWithWildcard = wildcard.outcome === 'reply' || wildcard.outcome === 'several';
      if (wildcard.outcome === 'reply' && wildcard.addresses[0] !== address) {
        addressNotes.push(`read address (13H) to the wildcard returns ${wildcard.addresses[0]}, but the meter answers reads addressed to ${address}`);
      } else if (wildcard.outcome === 'several' || wildcard.outcome === 'garbage') {
        notes.push(
          `read address (13H) to the wildcard: ${wildcard.detail} — with several meters on the bus the wildcard cases of the reading suite cannot pass; certify each meter alone on the line`,
        );
      } else if (!readAddressWithWildcard) {
        notes.push(`read address (13H) to the wildcard: ${wildcard.detail}; capabilities.readAddressWithWildcard is false`);
      }
    } else if (found.trial.outcome === 'refused') {
      // A meter is there but refuses 13H: learn its address from a wildcard read of its address register.
      const r = await probeAddressedRead(master, WILDCARD_ADDRESS, COMM_ADDRESS_DI, line, windowMs);
      const a = r.addresses.find((x) => !isWildcard(x) && !isBroadcast(x));
      if (r.outcome !== 'reply' || a === undefined || !(await answers(a))) {
        throw new DiscoveryError(
          `${found.trial.detail}, and a read of ${COMM_ADDRESS_DI} sent to the wildcard did not reveal an address it answers to (${r.detail}); give the address from the nameplate with --address`,
        );
      }
      address = a;
      readAddressWithWildcard = false;
      notes.push(`${found.trial.detail}: its address was learnt from a read of ${COMM_ADDRESS_DI} through the wildcard; capabilities.readAddressWithWildcard is false`);
    } else {
      readAddressWithWildcard = true;
      const reply = found.trial.reply!;
      const frameAddress = reply.frame.address;
      const dataAddress = reply.message?.kind === 'readAddressResponse' ? reply.message.address : undefined;
      const echoes = isWildcard(frameAddress) || isBroadcast(frameAddress);
      if (echoes) {
        notes.push(
          `the 13H reply carries ${frameAddress} as its frame address instead of the meter's own (PROTOCOLS.md 1.4); the address was taken from the reply data: reading.read-address-wildcard will fail`,
        );
      } else if (dataAddress !== undefined && dataAddress !== frameAddress) {
        addressNotes.push(
          dataAddress === reverseAddressBytes(frameAddress)
            ? `byte order: the 13H reply's frame address is ${frameAddress} but its data holds ${dataAddress}, the same bytes reversed (PROTOCOLS.md 1.2: both go low byte first)`
            : `the 13H reply's frame address is ${frameAddress} but its data holds ${dataAddress}`,
        );
      }
      const announced = [...new Set([echoes ? undefined : frameAddress, dataAddress].filter((a): a is string => a !== undefined && !isWildcard(a) && !isBroadcast(a)))];
      let chosen: string | undefined;
      for (const a of announced) {
        if (await answers(a)) {
          chosen = a;
          break;
        }
      }
      const primary = announced[0];
      if (chosen === undefined && primary !== undefined) {
        const reversed = reverseAddressBytes(primary);
        if (!announced.includes(reversed) && (await answers(reversed))) {
          chosen = reversed;
          addressNotes.push(`byte order: the meter announces ${primary} but answers only reads addressed to ${reversed}, the same bytes reversed; the profile uses ${reversed}`);
        }
      }
      if (chosen === undefined) {
        const triedAddresses = [...tested.keys()];
        throw new DiscoveryError(
          `${found.trial.detail}, but it answers no read of ${COMM_ADDRESS_DI} addressed to ${triedAddresses.join(' or ') || 'the address it announced'}; ` +
            'a meter must answer its own address (PROTOCOLS.md 1.4); give the address with --address if you know it',
        );
      }
      address = chosen;
      if (dataAddress !== undefined && dataAddress !== frameAddress && !echoes) addressNotes.push(`the profile uses ${address}, the address the meter answers to`);
      const rev = reverseAddressBytes(address);
      // One attempt: a conformant meter stays silent here, and silence costs a whole timeout.
      const revFrom = rev !== address ? await answerFrom(rev, 1) : null;
      if (revFrom !== null) {
        addressNotes.push(
          `byte order: the meter also answers reads addressed to ${rev}, its address with the bytes reversed (replying from ${revFrom}); it should answer only ${address}`,
        );
      } else if (rev !== address) {
        addressNotes.push(
          `if the nameplate reads ${rev}, the meter keeps its address in nameplate byte order (PROTOCOLS.md 1.2: A0, the least significant pair, goes first on the wire); the profile uses ${address}, the address it answers to`,
        );
      }
    }

    // ---- 3. identifiers
    const scanStart = clock.now();
    const prefixes = options.prefixes?.map((p) => p.toUpperCase());
    const defs = dictionary
      .all()
      .filter(
        (d) =>
          d.access !== 'write' &&
          (d.edition === '2007' || options.include1997 === true) &&
          (prefixes === undefined || prefixes.some((p) => d.di.startsWith(p))),
      );
    const probes: IdentifierProbe[] = [];
    const counts: DiscoveryCounts = { supported: 0, unsupported: 0, error: 0, invalid: 0, silent: 0 };
    let silentRun: IdentifierProbe[] = [];
    let lastAnswered: string | undefined;
    let silentOnUnsupported = false;
    const maxSilent = options.maxSilent ?? DEFAULT_MAX_SILENT;
    const pruner = options.exhaustive === true ? undefined : new DiscoveryPruner();
    for (const [i, def] of defs.entries()) {
      if (def.edition === '2007' && pruner?.skip(def.di) !== undefined) continue;
      const probe = def.edition === '1997' ? await probeIdentifier1997(master, address, def.di, attempts) : await probeIdentifier(master, address, def.di, attempts);
      if (def.edition === '2007' && probe.status !== 'silent') pruner?.record(def.di, probe.status === 'unsupported');
      probes.push(probe);
      counts[probe.status]++;
      options.onProgress?.({ phase: 'identifiers', done: i + 1, total: defs.length, probe, counts: { ...counts }, elapsedMs: clock.now() - startedAt });
      if (probe.status !== 'silent') {
        silentRun = [];
        lastAnswered = def.di;
        continue;
      }
      // A 2007 meter may rightly ignore 1997 frames: only 2007 silences count toward "dead".
      if (def.edition !== '2007') continue;
      silentRun.push(probe);
      if (silentRun.length < maxSilent) continue;
      const liveDi = probes.find((p) => p.status === 'supported' && p.edition === '2007')?.di ?? COMM_ADDRESS_DI;
      if (!(await alive(master, address, liveDi))) {
        const elapsed = ((clock.now() - scanStart) / 1000).toFixed(1);
        throw new DiscoveryError(
          `the meter stopped answering: no reply to the last ${silentRun.length} identifiers (${silentRun[0]!.di} to ${def.di}) nor to a read of ${liveDi}` +
            `${lastAnswered ? `; the last identifier it answered was ${lastAnswered}` : ''}; ${i + 1} of ${defs.length} identifiers probed in ${elapsed} s; ` +
            'nothing was written: check the meter (power, wiring) and run discover again',
        );
      }
      if (!silentOnUnsupported) {
        silentOnUnsupported = true;
        if (attempts > 1 && options.attempts === undefined) {
          attempts = 1;
          notes.push(
            `the meter keeps silent about identifiers it does not answer (${silentRun[0]!.di} ...) instead of replying "no requested data" (D1H, error bit 1); ` +
              'from then on each identifier was tried once',
          );
        } else {
          notes.push(`the meter keeps silent about identifiers it does not answer (${silentRun[0]!.di} ...) instead of replying "no requested data" (D1H, error bit 1)`);
        }
      }
      silentRun = [];
    }
    if (pruner !== undefined && pruner.total > 0) {
      const why = [...pruner.counts].map(([rule, n]) => `${n} ${PRUNE_REASON[rule]}`).join(', ');
      notes.push(`${pruner.total} of ${defs.length} identifiers were not read, inferred unsupported from a "no requested data" refusal of a related one (${why}); --exhaustive reads them all`);
    }
    const supportedProbes = probes.filter((p) => p.status === 'supported' && p.edition === '2007');
    if (supportedProbes.length === 0) {
      const seen = Object.entries(counts)
        .filter(([, n]) => n > 0)
        .map(([k, n]) => `${n} ${k}`)
        .join(', ');
      throw new DiscoveryError(
        `meter ${address} answered at ${describeLine(line)} on ${port.description}, but none of the ${defs.length} identifiers probed with data (${seen || 'none probed'}); nothing was written`,
      );
    }
    const supported = supportedProbes.map((p) => p.di);
    const followUp = supportedProbes.filter((p) => p.followUp).map((p) => p.di);

    // ---- wildcard read (capabilities.readWithWildcard), below the master so an echo is seen
    const ordinary = supported.includes(FORWARD_ACTIVE_TOTAL_DI) ? FORWARD_ACTIVE_TOTAL_DI : supported[0]!;
    const wildRead = await listen(
      master,
      encodeMessage(WILDCARD_ADDRESS, { kind: 'readData', di: ordinary, extra: new Uint8Array(0) }, { preamble: PREAMBLE }),
      FunctionCode.ReadData,
      Math.max(windowMs, timeoutMs),
      true,
    );
    const readWithWildcard = wildRead.replies.length > 0;
    if (readWithWildcard && wildRead.replies.some((f) => isWildcard(f.frame.address))) {
      notes.push(`a read of ${ordinary} sent to the wildcard is answered with the wildcard as the reply address, not the meter's own: reading.read-with-wildcard will fail`);
    } else if (!readWithWildcard) {
      notes.push(`a read of ${ordinary} sent to the wildcard address got no reply; capabilities.readWithWildcard is false`);
    }

    // ---- an identifier the meter does not support
    const unsupportedIdentifier = await chooseUnsupported(master, address, probes, attempts);

    const scanMs = clock.now() - scanStart;
    const tds = supportedProbes.map((p) => p.responseDelayMs).filter((v): v is number => v !== undefined);
    const medianTd = median(tds);
    return {
      port: port.description,
      line,
      lineTrials: trials,
      address,
      addressFrom: options.address !== undefined ? 'given' : 'wildcard',
      addressNotes,
      identifiers: probes,
      supported,
      followUp,
      unsupportedIdentifier,
      capabilities: { readAddressWithWildcard, readWithWildcard, followUp: followUp.length > 0 },
      notes,
      counts,
      timing: {
        startedAt,
        lineMs,
        scanMs,
        totalMs: clock.now() - startedAt,
        probed: probes.length,
        ...(medianTd !== undefined ? { medianResponseDelayMs: medianTd } : {}),
        timeoutMs,
      },
    };
  } finally {
    for (const m of [...masters]) m.dispose();
    await port.close().catch(() => undefined);
  }
}

const PRUNE_REASON: Record<PruneRule, string> = {
  history: 'later settlements, records or list elements of a refused item',
  tariffs: 'tariffs above a refused one',
  family: 'of event or freeze kinds whose first identifier was refused',
};

/** A line trial with what found it: the 13H reply (wildcard mode) or the address the read was sent to (given address). */
interface LineProbe extends LineTrial {
  readonly reply?: ReceivedFrame;
  readonly requested?: string;
}

/** Whether the meter answers a read of `di` at all (data or an error word), after its silences. */
async function alive(master: Dlt645Master, address: string, di: string): Promise<boolean> {
  try {
    await master.readData(address, di, { attempts: DEFAULT_ATTEMPTS });
    return true;
  } catch (e) {
    if (e instanceof Dlt645AbnormalReplyError || e instanceof Dlt645ProtocolError) return true;
    if (e instanceof Dlt645NoReplyError) return e.seq !== undefined || e.exchange.rejected.length > 0;
    throw e;
  }
}

/** One probe of a line setting: 13H to the wildcard, or 11H to the given address (then to it reversed). */
async function probeLine(master: Dlt645Master, line: LineSettings | undefined, address: string | undefined): Promise<LineProbe> {
  const windowMs = master.timeoutMs;
  if (address === undefined) return probeReadAddress(master, line, windowMs);
  const direct = await probeAddressedRead(master, address, COMM_ADDRESS_DI, line, windowMs);
  if (direct.outcome !== 'silence') return { ...direct, requested: address };
  const reversed = reverseAddressBytes(address);
  if (reversed === address) return direct;
  const r = await probeAddressedRead(master, reversed, COMM_ADDRESS_DI, line, windowMs);
  return r.outcome === 'silence' ? { ...direct, detail: `silence at ${describeLine(line)} (reads sent to ${address} and ${reversed})` } : { ...r, requested: reversed };
}

/** Reads one identifier and classifies the answer. Link failures propagate. */
async function probeIdentifier(master: Dlt645Master, address: string, di: string, attempts: number): Promise<IdentifierProbe> {
  const base = { di, edition: '2007' as const };
  try {
    const r = await master.readData(address, di, { attempts });
    const first = r.exchanges[0];
    return {
      ...base,
      status: 'supported',
      length: r.payload.length,
      frames: r.exchanges.length,
      followUp: r.exchanges.length > 1 || first?.reply?.frame.control.hasFollowUp === true,
      decoded: r.value !== undefined,
      ...(r.valueError ? { decodeError: r.valueError.message } : {}),
      ...(first?.responseDelayMs !== undefined ? { responseDelayMs: first.responseDelayMs } : {}),
    };
  } catch (e) {
    if (e instanceof Dlt645AbnormalReplyError) {
      const followUpRefused = e.functionCode === FunctionCode.ReadFollowUp;
      const unsupported = !followUpRefused && e.errors.includes('noRequestedData');
      return {
        ...base,
        status: unsupported ? 'unsupported' : 'error',
        errorWord: e.errorWord,
        errors: e.errors,
        detail: followUpRefused ? `follow-up refused: error word ${hex2(e.errorWord)}H (${e.errors.join(', ')})` : `error word ${hex2(e.errorWord)}H (${e.errors.join(', ') || 'no bit set'})`,
      };
    }
    if (e instanceof Dlt645NoReplyError) {
      if (e.seq !== undefined) return { ...base, status: 'error', followUp: true, detail: `follow-up frame SEQ ${e.seq} not answered` };
      const x = e.exchange;
      if (x.rejected.length > 0 || x.discarded.length > 0) {
        const what = x.rejected[0] ? `${x.rejected[0].reason}: ${x.rejected[0].detail}` : `${x.discarded.length} byte run(s) discarded (${x.discarded[0]!.error.code})`;
        return { ...base, status: 'invalid', detail: `no valid reply (${what})` };
      }
      return { ...base, status: 'silent', detail: 'no reply' };
    }
    if (e instanceof Dlt645ProtocolError) return { ...base, status: 'error', detail: e.message };
    throw e;
  }
}

async function probeIdentifier1997(master: Dlt645Master, address: string, di: string, attempts: number): Promise<IdentifierProbe> {
  const base = { di, edition: '1997' as const };
  try {
    const x = await master.request(address, { kind: 'readData1997', di }, { attempts, expect: ['readDataResponse1997', 'errorResponse'] });
    const m = x.reply?.message;
    if (m?.kind === 'readDataResponse1997') {
      const decoded = master.dictionary.decodeValue(di, m.payload);
      return {
        ...base,
        status: 'supported',
        length: m.payload.length,
        frames: 1,
        followUp: m.hasFollowUp,
        decoded: decoded.ok,
        ...(decoded.ok ? {} : { decodeError: decoded.error.message }),
        ...(x.responseDelayMs !== undefined ? { responseDelayMs: x.responseDelayMs } : {}),
      };
    }
    if (m?.kind === 'errorResponse') {
      return { ...base, status: 'error', errorWord: m.errorWord, errors: m.errors, detail: `error word ${hex2(m.errorWord)}H` };
    }
    return { ...base, status: 'invalid', detail: `reply ${m?.kind ?? 'none'}` };
  } catch (e) {
    if (e instanceof Dlt645NoReplyError) return { ...base, status: e.exchange.rejected.length > 0 ? 'invalid' : 'silent', detail: 'no reply to a DL/T 645-1997 read (01H)' };
    throw e;
  }
}

/**
 * meter.unsupportedIdentifier: the declaration's default when the meter answers it with "no
 * requested data", otherwise the first identifier the scan saw answered that way.
 */
async function chooseUnsupported(
  master: Dlt645Master,
  address: string,
  probes: readonly IdentifierProbe[],
  attempts: number,
): Promise<Discovery['unsupportedIdentifier']> {
  const fallback = defaultUnsupportedIdentifier();
  const known = probes.find((p) => p.di === fallback && p.edition === '2007');
  const viaDefault = known ?? (await probeIdentifier(master, address, fallback, attempts));
  if (viaDefault.status === 'unsupported') {
    return { di: fallback, verified: true, note: `${fallback} (the declaration's default) answered "no requested data"` };
  }
  const how = describeProbe(viaDefault);
  const other = probes.find((p) => p.status === 'unsupported' && p.edition === '2007');
  if (other) {
    return {
      di: other.di,
      verified: true,
      note: `the default ${fallback} was answered with ${how}; ${other.di} answered "no requested data" and is used instead`,
    };
  }
  return {
    di: fallback,
    verified: false,
    note: `no identifier was answered with "no requested data" (the default ${fallback}: ${how}); reading.unsupported-identifier will fail until meter.unsupportedIdentifier names one the meter refuses that way`,
  };
}

/** "data (4 bytes)", "no requested data", "error word 01H (otherError)", "silence". */
export function describeProbe(p: IdentifierProbe): string {
  switch (p.status) {
    case 'supported':
      return `data (${p.length ?? 0} bytes${p.frames && p.frames > 1 ? ` in ${p.frames} frames` : ''})`;
    case 'unsupported':
      return '"no requested data"';
    case 'silent':
      return 'silence';
    default:
      return p.detail ?? p.status;
  }
}

// ---------------------------------------------------------------------------------------------
// Failure messages

function tried(trials: readonly LineTrial[]): string {
  return trials.map((t) => describeLine(t.line)).join(', ');
}

function nothingFound(port: DiscoveryPort, trials: readonly LineTrial[], address: string | undefined): DiscoveryError {
  const what =
    address === undefined
      ? `read address (13H) to ${WILDCARD_ADDRESS}`
      : `a read of ${COMM_ADDRESS_DI} sent to ${address} or ${reverseAddressBytes(address)}`;
  const window = trials.length > 0 ? probeWindowMs(trials[0]!.line) : 0;
  const where = port.lineSelectable
    ? `at ${tried(trials)} (${trials.length} line setting(s), 4 × FE, listening about ${window} ms each)`
    : `(line settings are the serial server's: set its RS-485 port to the meter's, usually 2400 8E1)`;
  const garbage = trials.filter((t) => t.outcome === 'garbage');
  const garbageText =
    garbage.length > 0
      ? `; bytes but no valid frame at ${tried(garbage)}: several meters answering at once (a collision), a meter at other settings, or line noise — connect one meter only, or give its address with --address`
      : '';
  return new DiscoveryError(
    `no meter answered ${what} on ${port.description} ${where}${garbageText}; check the wiring (A/B swapped?), the meter's power, and the adapter` +
      (address === undefined ? ', or give the address with --address' : ''),
  );
}

function severalMeters(port: DiscoveryPort, trial: LineTrial, address: string | undefined): DiscoveryError {
  return new DiscoveryError(
    `several meters answered on ${port.description} at ${describeLine(trial.line)}: ${trial.addresses.join(', ')}; ` +
      (address === undefined ? 'connect one meter only, or give the address of the one to discover with --address' : 'connect the meter to discover alone on the line'),
  );
}

function collision(port: DiscoveryPort, probes: readonly LineTrial[], address: string | undefined): DiscoveryError {
  const addresses = [...new Set(probes.flatMap((p) => p.addresses))];
  return new DiscoveryError(
    `replies on ${port.description} at ${describeLine(probes[0]!.line)} came with garbled bytes around them (${probes.map((p) => p.detail).join('; ')}): ` +
      `several meters answering the same request collide` +
      (addresses.length > 0 ? ` (one was ${addresses.join(', ')})` : '') +
      (address === undefined ? '; connect one meter only, or give its address with --address' : '; connect the meter to discover alone on the line'),
  );
}
