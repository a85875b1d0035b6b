/**
 * DL/T 645-2007 server of the simulated electricity meter: bytes from a Link go through the
 * streaming scanner; each request goes down the behaviour stack (behaviours.ts, top first: the
 * first behaviour that answers wins) and, if none answers, to the conformant handler below; the
 * reply is written after the response delay Td on the injected clock.
 *
 * Conformance rules implemented here (PROTOCOLS.md section 1):
 * - Bad checksum, wrong address, broken or truncated frames: no reply (a real meter stays silent).
 *   A frame still incomplete after the inter-byte limit Tb (500 ms) is forgotten.
 * - Own address, the wildcard AAAAAAAAAAAA and abbreviated wildcards (AA high bytes) are answered
 *   with the meter's OWN address (1.4) unless the profile asks for the 600888 'echo-wildcard' quirk.
 * - Broadcast 999999999999 is never answered; 08H time sync and 16H freeze sent to it are executed.
 * - Replies go out 20 ms ≤ Td ≤ 500 ms after the request (1.1; profile `responseDelayMs`).
 * - A reply longer than `maxFrameDataLength`, or an identifier the declaration lists in
 *   `followUpIdentifiers` (sent member by member), is split: 91H|20H (B1) with DI + first part,
 *   then 12H requests SEQ 1, 2, … get 92H (B2 while more follows) with DI + part + SEQ (1.3).
 * - 11H DI 06000001 (load records at a given time) takes the request data after the DI (NN and
 *   the time, harness/protocols/dlt645/load-record.ts): `readLoadRecords`.
 * - Abnormal replies carry the error word ERR (1.7): 02H no requested data, 04H password error /
 *   unauthorised, 08H baud rate cannot be changed, 01H other error.
 * - A well-formed frame whose data field is malformed gets an abnormal reply with 01H (other
 *   error) where the function has an abnormal reply (11H, 12H, 14H, 16H-1DH), silence otherwise
 *   (08H, 13H, 15H have no abnormal reply).
 *
 * [BK] decisions (hypotheses to check against the standard text):
 * - 1CH: a wrong password, one weaker than `meter.passwordLevels.remoteControl` (reference 02), or
 *   a meter that refuses plain 1CH (capability remoteControl false): DCH + 04H. An N1 outside
 *   `meter.remoteControl.commands`, an expired or malformed valid-until (an all-zero one unless
 *   `acceptsZeroValidUntil`), and a trip under keep-power (KP-01): DCH + the word the declaration
 *   gives (`meter.remoteControl.errors`, default 01H other error).
 * - 14H to an unknown identifier, or one the declaration does not list (write-only ones such as
 *   passwords excepted): D4H + 02H; to a read-only DI: D4H + 04H; a payload that does not decode
 *   or a value the meter refuses: D4H + 01H.
 * - 14H needs a password of level `meter.passwordLevels.writeData` (reference: 04) or stronger;
 *   19H/1AH/1BH need `meter.passwordLevels.clear` (reference: 02) or stronger; a weaker level
 *   gets ERR 04H like a wrong password.
 * - 15H/18H/19H/1AH/1BH are served only when the declaration's capability says so
 *   (`writeAddress`, `changePassword`, `clearMaxDemand`, `meterClear`, `eventClear`); otherwise
 *   ERR 04H (unauthorised), and silence for 15H, which has no abnormal reply.
 * - 15H write address is accepted only through the full wildcard AAAAAAAAAAAA; the reply 95H is
 *   sent from the NEW address.
 * - 08H time sync is also accepted (silently, no reply) when sent to the meter's own address,
 *   as some field meters do (vector 43).
 * - 17H: only to a rate the declaration lists in `meter.baudRates` (or the declared line rate);
 *   another valid feature word gets D7H + 08H "baud rate cannot be changed". The new rate
 *   applies after the 97H reply has been written (`baudRate`, event 'baudRateChanged', and
 *   `setLine` on a bus node link).
 */
import { EventEmitter } from 'node:events';
import type { Clock, TimerHandle } from '../../harness/core/clock.ts';
import type { Result } from '../../harness/core/result.ts';
import type { DecodeError } from '../../harness/core/errors.ts';
import type { SeededRandom } from '../../harness/core/random.ts';
import { toHex } from '../../harness/core/bytes.ts';
import { isBcdByte } from '../../harness/core/bcd.ts';
import { sum8 } from '../../harness/core/checksum.ts';
import { FlushOnSilence, type DeliveryCause } from '../../harness/core/silence.ts';
import { fromCalendar } from '../../harness/core/calendar.ts';
import { isFilteringLink, type ChunkTiming, type FilteringLink, type Link, type LineSettings } from '../../harness/links/link.ts';
import type { MeterDeclaration } from '../../harness/protocols/dlt645/declaration.ts';

/** The capabilities a DL/T 645 declaration gives (`meter.capabilities`). */
type Capabilities = MeterDeclaration['capabilities'];
import {
  Dlt645FrameScanner,
  MAX_INTER_BYTE_GAP_MS,
  FunctionCode,
  WILDCARD_ADDRESS,
  addressMatches,
  decodeFrame,
  decodeMessage,
  encodeMessage,
  frameExtent,
  HEADER_LENGTH,
  DATA_OFFSET,
  errorWordBits,
  isBroadcast,
  addressToWire,
  editionOf,
  CONTROL_DIRECTION_BIT,
  CONTROL_FOLLOW_UP_BIT,
  DEFAULT_SCANNER_BUFFER_LENGTH,
  END,
  FRAME_OVERHEAD,
  MAX_DATA_LENGTH_2007,
  PREAMBLE_BYTE,
  START,
  type Dlt645Frame,
  type Dlt645Message,
  parseControl,
  type Dlt645ScanEvent,
  LOAD_RECORD_GIVEN_TIME_DI,
  decodeLoadRecordRequest,
  encodeLoadRecordBlocks,
} from '../../harness/protocols/dlt645/index.ts';
import { DICTIONARY } from '../../harness/protocols/dlt645/dictionary.ts';
import type { ElectricityMeterModel } from './model.ts';
import type { SimulatorProfile } from './profile.ts';
import { meterTypeOf, type MeterType } from './meter-type.ts';
import type { MeterBehaviour } from './behaviours.ts';
import { findBehaviour, runBehaviourStack, stackSeesRequests, type StackOutcome } from '../device/behaviour-stack.ts';

/** Error word ERR bits (PROTOCOLS.md 1.7). */
export const ErrorWord = {
  OtherError: 0x01,
  NoRequestedData: 0x02,
  PasswordOrUnauthorised: 0x04,
  BaudRateNotChangeable: 0x08,
} as const;

/**
 * A 16-byte 1CH whose valid-until N3..N8 does not decode (not BCD, no such date), read with the
 * valid-until left out (null), so the handler can check password and command before refusing it.
 * Null for any other malformed 1CH (wrong length).
 */
function remoteControlWithoutTime(frame: Dlt645Frame): Extract<Dlt645Message, { kind: 'remoteControl' }> | null {
  if (frame.data.length !== 16) return null;
  const data = frame.data.slice();
  data.fill(0, 10, 16);
  const m = decodeMessage({ ...frame, data });
  return m.ok && m.value.kind === 'remoteControl' ? m.value : null;
}

/**
 * Inter-byte limit Tb (PROTOCOLS.md 1.1): after this much silence a partial frame is abandoned and
 * the scanner flushed, so a valid request queued behind it is still answered.
 */
export const INTER_BYTE_TIMEOUT_MS = MAX_INTER_BYTE_GAP_MS;
/** Bytes of DI in the data field. */
const DI_LENGTH = 4;
/** Bytes of received stream kept to rebuild a frame whose checksum failed (answer-bad-checksum). */
const HISTORY_LENGTH = 2048;
/**
 * First size of the history buffer, grown by doubling up to 2 × HISTORY_LENGTH: a request with
 * its FE preamble is 16 to ~60 bytes, so most meters never hold more (issue 7: under 4 KiB a meter).
 */
const HISTORY_INITIAL_LENGTH = 64;
const NO_BYTES = new Uint8Array(0);
/** C of an 11H request, as decodeFrame parses it (frozen: shared by every plain read, plainOwnRead). */
const READ_DATA_CONTROL = Object.freeze(parseControl(FunctionCode.ReadData));
const HEX_DIGITS = '0123456789ABCDEF';
/** DI3..DI0 as text by their 32-bit value, for plainOwnRead; at most DI_TEXT_LIMIT (more than the dictionary's 2007 identifiers). */
const DI_TEXT = new Map<number, string>();
const DI_TEXT_LIMIT = 4096;
const quiet = (): void => undefined;

/** How a request was addressed, seen from this meter. */
export type Addressing = 'own' | 'wildcard' | 'broadcast' | 'other';

export interface IncomingRequest {
  /** The frame bytes as received (FE preamble included). */
  readonly raw: Uint8Array;
  /** The frame (for a bad-checksum frame: as if the checksum had been right). */
  readonly frame: Dlt645Frame;
  /** The application message, or null when the data field does not fit the control code. */
  readonly message: Dlt645Message | null;
  readonly messageError: DecodeError | null;
  readonly checksumValid: boolean;
  readonly addressing: Addressing;
  /** Harness time when the last byte arrived. */
  readonly receivedAt: number;
}

/** Switches a behaviour may pass to the conformant handler to bend one rule. */
export interface RespondOptions {
  /** Handle a frame whose checksum failed as if it were valid. */
  readonly acceptBadChecksum?: boolean;
  /** Reply to a broadcast-addressed request. */
  readonly answerBroadcast?: boolean;
  /** Handle a frame addressed to another meter. */
  readonly acceptForeignAddress?: boolean;
  /** Accept any password. */
  readonly skipPasswordCheck?: boolean;
  /**
   * Capabilities switched on or off for this request only, over the declaration's (a meter that
   * serves more or less than it declares). The shared meter type is never changed.
   */
  readonly capabilities?: Partial<Capabilities>;
}

export interface BehaviourContext {
  readonly server: Dlt645MeterServer;
  readonly model: ElectricityMeterModel;
  readonly profile: SimulatorProfile;
  readonly clock: Clock;
  readonly random: SeededRandom;
  readonly request: IncomingRequest;
  /**
   * The conformant handling of the request: executes it on the model (once per request; later
   * calls return the first result) and returns the reply frame, or null for silence.
   */
  respond(options?: RespondOptions): Uint8Array | null;
  /** A reply frame from this meter (own address unless given), with the profile's FE preamble. */
  encodeReply(message: Dlt645Message, address?: string): Uint8Array;
}

export interface ServerEvents {
  /** A request was received (after framing, before any behaviour). */
  request: [request: IncomingRequest];
  /** Reply bytes were handed to the link. */
  reply: [bytes: Uint8Array, request: IncomingRequest];
  baudRateChanged: [baudRate: number];
}

export interface Dlt645MeterServerOptions {
  readonly link: Link;
  readonly model: ElectricityMeterModel;
  /** This meter's profile; default `model.profile`. */
  readonly profile?: SimulatorProfile;
  /** The shared meter type (identifier sets, password levels); default `model.type`. */
  readonly type?: MeterType;
  readonly clock: Clock;
  readonly random: SeededRandom;
  /** Diagnostics: ignored frames and why, behaviour decisions. Quiet by default. */
  readonly logger?: (message: string) => void;
  /** Behaviours, bottom first (the last one is consulted first). */
  readonly behaviours?: readonly MeterBehaviour[];
}

interface PendingFollowUp {
  readonly di: string;
  /**
   * The 11H request data after the DI (the block count and given time of DI 06000001; empty for
   * a plain read): what the parts answer. A 12H carries only DI + SEQ, so a read that needs
   * request data cannot be recomputed from the DI: its follow-ups come from these parts only.
   */
  readonly extra: Uint8Array;
  /** Part k goes in the frame answering SEQ k (part 0 in the 91H/B1H reply). */
  readonly parts: readonly Uint8Array[];
}

/** The request data of a plain read (nothing after the DI). */
const NO_EXTRA = new Uint8Array(0);

/** A block's payload cut at its members, a record's at its fields (4-tariff layouts). */
function splitAtMembers(di: string, payload: Uint8Array): Uint8Array[] {
  const def = DICTIONARY.lookup(di);
  const lengths: number[] = [];
  if (def?.members) for (const m of def.members) lengths.push(DICTIONARY.lookup(m)?.length ?? 0);
  else if (def?.fields) for (const f of def.fields) lengths.push(f.length * (f.count ?? 1));
  if (lengths.length === 0 || lengths.some((n) => n <= 0) || lengths.reduce((a, b) => a + b, 0) !== payload.length) return [payload];
  const out: Uint8Array[] = [];
  let offset = 0;
  for (const n of lengths) {
    out.push(payload.slice(offset, offset + n));
    offset += n;
  }
  return out;
}

/** The six address bytes A0..A5 at `at` as one number (A5 most significant): a receive-filter key. */
function addressKey(bytes: Uint8Array, at: number): number {
  let key = 0;
  for (let i = 5; i >= 0; i--) key = key * 256 + bytes[at + i]!;
  return key;
}

/**
 * The receive-filter key (link.ts ReceiveFilter) of a chunk a meter not so addressed ignores
 * without a word: exactly one well-formed frame (FE* 68 A0..A5 68 C L DATA CS 16, checksum right)
 * whose address is plain BCD and not broadcast 99..99, and which is a reply or a 2007-edition
 * function (a 1997-only function is logged). Its key is addressKey of its address; any other
 * chunk is undefined (every meter must see it). One function shared by every meter, so a bus
 * classifies a frame once for all of them.
 */
export function foreignFrameKey(chunk: Uint8Array): number | undefined {
  const n = chunk.length;
  if (n > DEFAULT_SCANNER_BUFFER_LENGTH) return undefined;
  let head = 0;
  while (head < n && chunk[head] === PREAMBLE_BYTE) head++;
  if (n - head < FRAME_OVERHEAD || chunk[head] !== START || chunk[head + 7] !== START) return undefined;
  const length = chunk[head + 9]!;
  if (length > MAX_DATA_LENGTH_2007 || head + FRAME_OVERHEAD + length !== n || chunk[n - 1] !== END) return undefined;
  const control = chunk[head + 8]!;
  if ((control & CONTROL_DIRECTION_BIT) === 0 && editionOf(control) !== '2007') return undefined;
  if (sum8(chunk, head, n - 2) !== chunk[n - 2]) return undefined;
  let broadcast = true;
  for (let i = 1; i <= 6; i++) {
    const b = chunk[head + i]!;
    if (!isBcdByte(b)) return undefined;
    if (b !== 0x99) broadcast = false;
  }
  return broadcast ? undefined : addressKey(chunk, head + 1);
}

/** newListener of a meter server on a filtering link (see updateFilter): fires before the listener is added. */
function onNewListener(this: Dlt645MeterServer, event: string | symbol): void {
  if (event === 'request') this.dropFilter();
}

/** removeListener of a meter server on a filtering link: fires after the listener is gone. */
function onRemoveListener(this: Dlt645MeterServer, event: string | symbol): void {
  if (event === 'request') this.refreshFilter();
}

/**
 * What behaviours see of one request (BehaviourContext). A class rather than an object literal
 * of closures: one object per request, no closure (each of which tsx's keepNames would also wrap
 * in a __name call) - the meter's reply path is run for every item a fleet reads (issue 7).
 */
class RequestContext implements BehaviourContext, StackOutcome<Uint8Array> {
  private memo: { reply: Uint8Array | null } | null = null;
  /** Filled by runBehaviourStack (simulators/device). */
  delayMs: number | undefined = undefined;
  afterReply: (() => void) | null = null;
  constructor(
    readonly server: Dlt645MeterServer,
    readonly request: IncomingRequest,
  ) {}

  get model(): ElectricityMeterModel {
    return this.server.model;
  }

  get profile(): SimulatorProfile {
    return this.server.profile;
  }

  get clock(): Clock {
    return this.server.clock;
  }

  get random(): SeededRandom {
    return this.server.random;
  }

  respond(options?: RespondOptions): Uint8Array | null {
    this.memo ??= { reply: this.server.safeHandle(this.request, options ?? {}) };
    return this.memo.reply;
  }

  encodeReply(message: Dlt645Message, address?: string): Uint8Array {
    return this.server.encodeReply(message, address);
  }
}

export class Dlt645MeterServer extends EventEmitter<ServerEvents> {
  readonly link: Link;
  readonly model: ElectricityMeterModel;
  /** The profile given to the constructor, if any (otherwise the model's). */
  private readonly profileGiven: SimulatorProfile | undefined;
  /** What every meter of this model shares: identifier sets, password levels (meter-type.ts). */
  readonly type: MeterType;
  readonly clock: Clock;
  readonly random: SeededRandom;
  private readonly log: (message: string) => void;
  private readonly behaviours: MeterBehaviour[] = [];
  private readonly receiver: FlushOnSilence<Dlt645ScanEvent>;
  private running = false;
  /** Replies waiting out their Td; allocated with the first one. */
  private timers: Set<TimerHandle> | null = null;
  /**
   * The last received bytes: history[0 .. historyLength) is stream offset historyBase onwards.
   * Empty until the first byte, then grown as needed up to 2 × HISTORY_LENGTH.
   */
  private history: Uint8Array = NO_BYTES;
  private historyLength = 0;
  private historyBase = 0;
  private consumed = 0;
  /** `model.commsPowerLosses` when the last byte arrived. */
  private powerLossesSeen: number;
  private followUp: PendingFollowUp | null = null;
  private currentBaud: number;
  // Bound methods rather than arrow-function fields: under tsx (esbuild keepNames) an arrow field is
  // wrapped in __name(), which gives each closure its own property dictionary (~300 B a meter each).
  private readonly onData: (chunk: Uint8Array, timing?: ChunkTiming) => void = this.receive.bind(this);
  private readonly onClose: () => void = this.stop.bind(this);
  /** The link takes a receive filter (a bus node); see updateFilter. */
  private readonly filtering: boolean;
  /** The key of the filter set on the link, undefined while none is. */
  private filterKey: number | undefined = undefined;

  constructor(options: Dlt645MeterServerOptions) {
    super();
    this.link = options.link;
    this.model = options.model;
    this.profileGiven = options.profile;
    this.type = options.type ?? (options.profile === undefined ? options.model.type : meterTypeOf(options.profile));
    this.powerLossesSeen = options.model.commsPowerLosses;
    this.clock = options.clock;
    this.random = options.random;
    this.log = options.logger ?? quiet;
    this.currentBaud = this.type.profile.meter.line.baudRate;
    this.receiver = new FlushOnSilence({
      scanner: new Dlt645FrameScanner(),
      clock: this.clock,
      silenceMs: INTER_BYTE_TIMEOUT_MS,
      deliver: this.scanned.bind(this),
    });
    this.filtering = isFilteringLink(this.link);
    if (this.filtering) {
      // A 'request' listener sees foreign frames: the filter must be off before it is added.
      // One shared function for every meter (this = the server), so no closure per meter.
      const plain = this as EventEmitter;
      plain.on('newListener', onNewListener);
      plain.on('removeListener', onRemoveListener);
      const previous = this.model.onAddressChange;
      const mine = this.updateFilter.bind(this);
      this.model.onAddressChange = previous ? () => (previous(), mine()) : mine;
    }
    for (const b of options.behaviours ?? []) this.pushBehaviour(b);
  }

  /** @internal Turns the receive filter off now (a 'request' listener is about to be added). */
  dropFilter(): void {
    if (this.filterKey === undefined) return;
    this.filterKey = undefined;
    (this.link as FilteringLink).setReceiveFilter(undefined);
  }

  /**
   * This meter's profile (`meter.address` is the one it was created with). The server itself reads
   * the type's profile: everything in it but the address is the same for every meter of the type.
   */
  get profile(): SimulatorProfile {
    return this.profileGiven ?? this.model.profile;
  }

  /** Current line speed (changes after a successful 17H). */
  get baudRate(): number {
    return this.currentBaud;
  }

  /** Behaviours, bottom first. */
  get behaviourStack(): readonly MeterBehaviour[] {
    return this.behaviours;
  }

  /** Pushes a behaviour on top of the stack: it is consulted before every other. */
  pushBehaviour(behaviour: MeterBehaviour): void {
    this.behaviours.push(behaviour);
    this.updateFilter();
    behaviour.onAttach?.(this);
  }

  /** Removes a behaviour (by object or name); returns whether one was removed. */
  removeBehaviour(behaviour: MeterBehaviour | string): boolean {
    const i = findBehaviour(this.behaviours, behaviour);
    if (i < 0) return false;
    const [removed] = this.behaviours.splice(i, 1);
    this.updateFilter();
    removed!.onDetach?.(this);
    return true;
  }

  start(): void {
    if (this.running) return;
    this.running = true;
    this.link.on('data', this.onData);
    this.link.on('close', this.onClose);
    this.updateFilter();
  }

  stop(): void {
    if (!this.running) return;
    this.running = false;
    this.link.off('data', this.onData);
    this.link.off('close', this.onClose);
    if (this.timers) {
      for (const t of this.timers) this.clock.clearTimeout(t);
      this.timers = null;
    }
    this.resetReceiver();
  }

  /** @internal Sets the receive filter to what the meter's state allows now. */
  refreshFilter(): void {
    this.updateFilter();
  }

  get isRunning(): boolean {
    return this.running;
  }

  /** Replies scheduled and not yet written (each waits out its Td): how far behind a flood the meter is. */
  get pendingReplies(): number {
    return this.timers?.size ?? 0;
  }

  // -------------------------------------------------------------------------------------------
  // Receiving

  /**
   * Forgets a partial frame without answering it: a new connection (a previous client's bytes
   * must not carry over) or a dead UART. Stream offsets keep counting.
   */
  resetReceiver(): void {
    this.receiver.reset();
    this.consumed = this.streamOffset;
    this.updateFilter();
  }

  private get streamOffset(): number {
    return this.historyBase + this.historyLength;
  }

  private receive(chunk: Uint8Array, timing?: ChunkTiming): void {
    if (!this.running) return;
    if (!this.model.commsPowered) {
      // No mains: the meter's UART is dead.
      this.resetReceiver();
      return;
    }
    if (this.model.commsPowerLosses !== this.powerLossesSeen) {
      // The UART lost power since the last byte: what it had of a frame is gone.
      this.powerLossesSeen = this.model.commsPowerLosses;
      this.resetReceiver();
    }
    if (this.receiver.pending === 0 && this.isForeignFrame(chunk) && this.ignoresForeignFrames()) {
      // A whole frame for another meter (the bus delivers frames whole): O(frame), never scanned
      // or decoded, and no silence timer. The scanner would have reported exactly this frame,
      // and the handler stays silent for it (see ignoresForeignFrames).
      if (this.consumed >= this.streamOffset) {
        // Every byte held is accounted for, so none can be needed again: the frame only moves
        // the stream offsets on (nothing copied; an idle meter holds no history buffer).
        this.historyBase = this.streamOffset + chunk.length;
        this.historyLength = 0;
        this.history = NO_BYTES;
      } else {
        this.remember(chunk);
      }
      (this.receiver.scanner as Dlt645FrameScanner).skip(chunk.length); // built in the constructor
      this.consumed = this.streamOffset;
      this.updateFilter();
      return;
    }
    if (this.receiver.pending === 0 && frameExtent(chunk) === chunk.length && this.receiveWholeFrame(chunk)) return;
    this.remember(chunk);
    this.receiver.push(chunk, timing);
    this.updateFilter();
  }

  /**
   * A chunk that is exactly one valid frame while nothing is pending (the bus delivers frames
   * whole): the one event the scanner would report for it, made without scanning or copying the
   * chunk again (issue 7), and handled by scanned() as that event. Its bytes are all accounted
   * for by the frame, so they need no history (as for a foreign frame).
   */
  private receiveWholeFrame(chunk: Uint8Array): boolean {
    let frame: Dlt645Frame;
    let message: Result<Dlt645Message, DecodeError>;
    const start = this.streamOffset;
    const plain = this.plainOwnRead(chunk);
    if (plain !== undefined) {
      frame = plain.frame;
      message = { ok: true, value: plain.message };
    } else {
      // The scanner's own check (its default L bound), so the two paths never disagree (frame.test.ts).
      const r = decodeFrame(chunk);
      if (!r.ok) return false;
      frame = r.value.frame;
      message = decodeMessage(frame, start + frame.preamble + HEADER_LENGTH);
    }
    if (this.consumed >= start) {
      this.historyBase = start + chunk.length;
      this.historyLength = 0;
      this.history = NO_BYTES;
    } else {
      this.remember(chunk);
    }
    (this.receiver.scanner as Dlt645FrameScanner).skip(chunk.length); // built in the constructor
    const decoded = { frame, start, end: start + chunk.length, raw: chunk.slice() };
    this.scanned([{ type: 'frame', decoded, message }], 'data');
    return true;
  }

  /**
   * A valid whole frame that is the plain 11H read of this meter (C = 11H, L = 4, its own
   * all-digit address): the frame and message decodeFrame and decodeMessage give for it (property
   * test), read straight from the bytes. Undefined for any other frame.
   */
  private plainOwnRead(chunk: Uint8Array): { frame: Dlt645Frame; message: Dlt645Message } | undefined {
    let p = 0;
    while (chunk[p] === PREAMBLE_BYTE) p++;
    if (chunk[p + 8] !== FunctionCode.ReadData || chunk[p + 9] !== DI_LENGTH) return undefined;
    const key = this.ownKey();
    if (key === undefined || !this.own!.digits || addressKey(chunk, p + 1) !== key) return undefined;
    const data = new Uint8Array(DI_LENGTH);
    for (let i = 0; i < DI_LENGTH; i++) data[i] = (chunk[p + HEADER_LENGTH + i]! - DATA_OFFSET) & 0xff;
    const code = ((data[3]! << 24) | (data[2]! << 16) | (data[1]! << 8) | data[0]!) >>> 0;
    let di = DI_TEXT.get(code);
    if (di === undefined) {
      di = '';
      for (let i = DI_LENGTH - 1; i >= 0; i--) di += HEX_DIGITS[data[i]! >> 4]! + HEX_DIGITS[data[i]! & 0x0f]!;
      // Flattened once and kept (bounded: identifiers from the wire can be anything).
      if (DI_TEXT.size < DI_TEXT_LIMIT) DI_TEXT.set(code, di);
    }
    const frame: Dlt645Frame = {
      address: this.own!.address,
      control: READ_DATA_CONTROL,
      data,
      preamble: p,
      checksum: chunk[p + HEADER_LENGTH + DI_LENGTH]!,
      edition: '2007',
    };
    return { frame, message: { kind: 'readData', di, extra: new Uint8Array(0) } };
  }

  /** frameKey() of the meter's own address, recomputed when it changes (15H); undefined if it has no wire form. */
  private own: { address: string; key: number | undefined; digits: boolean } | undefined;

  private ownKey(): number | undefined {
    const address = this.model.address;
    if (this.own?.address !== address) {
      let key: number | undefined;
      try {
        key = addressKey(addressToWire(address), 0);
      } catch {
        key = undefined;
      }
      this.own = { address, key, digits: /^[0-9]{12}$/.test(address) };
    }
    return this.own.key;
  }

  /**
   * True when `chunk` is exactly one well-formed frame for another address that the handler
   * ignores without a word (foreignFrameKey). Anything else (wildcards with AAH, broadcast,
   * junk, partial or bad frames) takes the scanner.
   */
  private isForeignFrame(chunk: Uint8Array): boolean {
    const key = foreignFrameKey(chunk);
    if (key === undefined) return false;
    const own = this.ownKey();
    return own !== undefined && key !== own;
  }

  /**
   * Keeps the link's receive filter (link.ts ReceiveFilter) true to the meter's state: while the
   * meter is running, holds no unfinished bytes and ignores foreign frames, a bus may withhold
   * every frame foreignFrameKey gives another address's key, which receive() would skip anyway
   * (it only moved this meter's private stream offsets on). So a frame on a full bus reaches the
   * addressed meter, not all 32 (issue 7). Called after everything that changes that state.
   */
  private updateFilter(): void {
    if (!this.filtering) return;
    const key =
      this.running && this.receiver.pending === 0 && this.consumed >= this.streamOffset && this.ignoresForeignFrames() ? this.ownKey() : undefined;
    if (key === this.filterKey) return;
    this.filterKey = key;
    (this.link as FilteringLink).setReceiveFilter(key === undefined ? undefined : { classify: foreignFrameKey, key });
  }

  /** Scanner events, from received bytes or from the flush after Tb of silence. */
  private scanned(events: readonly Dlt645ScanEvent[], cause: DeliveryCause): void {
    if (cause === 'silence') this.log(`flushed an unfinished frame after ${INTER_BYTE_TIMEOUT_MS} ms of silence`);
    const receivedAt = this.clock.now();
    let cursor = this.consumed;
    for (const ev of events) {
      if (ev.type === 'frame') {
        cursor = ev.decoded.end;
        const { frame } = ev.decoded;
        const addressing = this.addressingOf(frame.address);
        // Another meter's request or reply: the conformant handler would stay silent without
        // reading the message, so when nobody else may look at it, the message is never decoded.
        if (addressing === 'other' && this.ignoresForeignFrames() && (frame.control.isResponse || frame.edition === '2007')) continue;
        const message = ev.message;
        this.dispatch({
          raw: ev.decoded.raw,
          frame,
          message: message.ok ? message.value : null,
          messageError: message.ok ? null : message.error,
          checksumValid: true,
          addressing,
          receivedAt,
        });
      } else { // bytes the scanner discarded
        const start = cursor;
        cursor += ev.bytes.length;
        this.log(`discarded ${ev.bytes.length} byte(s): ${ev.error.code} ${ev.error.message}`);
        if (ev.error.code === 'dlt645.checksum') {
          const bad = this.rebuildBadChecksumFrame(start, ev.error.offset, receivedAt);
          if (bad) this.dispatch(bad);
        }
      }
    }
    this.consumed = cursor;
    if (cursor >= this.streamOffset) this.forgetHistory();
    this.updateFilter();
  }

  /** Every received byte is accounted for: an idle meter holds no history buffer (a fleet has thousands). */
  private forgetHistory(): void {
    this.history = NO_BYTES;
    this.historyBase = this.streamOffset;
    this.historyLength = 0;
  }

  /** Appends to the history, keeping at least the last HISTORY_LENGTH bytes (amortised O(1) per byte). */
  private remember(chunk: Uint8Array): void {
    let bytes = chunk;
    if (this.consumed >= this.streamOffset) {
      // Every byte held has been accounted for by scanner events: none can be needed again
      // (a bad-checksum frame is rebuilt from `consumed` on), so start over at the buffer's head.
      this.historyBase = this.streamOffset;
      this.historyLength = 0;
    }
    if (bytes.length > HISTORY_LENGTH) {
      this.historyBase += this.historyLength + bytes.length - HISTORY_LENGTH;
      this.historyLength = 0;
      bytes = bytes.subarray(bytes.length - HISTORY_LENGTH);
    }
    const needed = this.historyLength + bytes.length;
    if (needed > this.history.length && this.history.length < 2 * HISTORY_LENGTH) {
      const grown = new Uint8Array(Math.min(2 * HISTORY_LENGTH, Math.max(needed, 2 * this.history.length, HISTORY_INITIAL_LENGTH)));
      grown.set(this.history.subarray(0, this.historyLength));
      this.history = grown;
    }
    if (this.historyLength + bytes.length > this.history.length) {
      const keep = HISTORY_LENGTH - bytes.length;
      const cut = this.historyLength - keep;
      this.history.copyWithin(0, cut, this.historyLength);
      this.historyBase += cut;
      this.historyLength = keep;
    }
    this.history.set(bytes, this.historyLength);
    this.historyLength += bytes.length;
  }

  /** A frame that failed only its checksum, rebuilt from the received stream (start..CS 16). */
  private rebuildBadChecksumFrame(start: number, csAt: number, receivedAt: number): IncomingRequest | null {
    const from = start - this.historyBase;
    const to = csAt + 2 - this.historyBase;
    if (from < 0 || to > this.historyLength || to <= from) return null;
    const raw = this.history.slice(from, to);
    const fixed = raw.slice();
    // Put the right checksum in a copy, then decode it normally.
    let head = 0;
    while (head < fixed.length && fixed[head] === 0xfe) head++;
    let cs = 0;
    for (let i = head; i < fixed.length - 2; i++) cs = (cs + fixed[i]!) & 0xff;
    fixed[fixed.length - 2] = cs;
    const r = decodeFrame(fixed);
    if (!r.ok) return null;
    const m = decodeMessage(r.value.frame);
    return {
      raw,
      frame: r.value.frame,
      message: m.ok ? m.value : null,
      messageError: m.ok ? null : m.error,
      checksumValid: false,
      addressing: this.addressingOf(r.value.frame.address),
      receivedAt,
    };
  }

  /**
   * True when a well-formed frame for another address cannot change anything: no 'request'
   * listener and no behaviour that sees requests (a behaviour may answer a foreign address, as
   * 'nameplate-order-address' does). The handler itself ignores such frames (handle()).
   */
  private ignoresForeignFrames(): boolean {
    if (this.listenerCount('request') > 0) return false;
    return !stackSeesRequests(this.behaviours);
  }

  private addressingOf(address: string): Addressing {
    if (isBroadcast(address)) return 'broadcast';
    if (address === this.model.address) return 'own';
    if (addressMatches(address, this.model.address)) return 'wildcard';
    return 'other';
  }

  // -------------------------------------------------------------------------------------------
  // Behaviour stack and reply scheduling

  private dispatch(request: IncomingRequest): void {
    this.emit('request', request);
    this.afterReply = null;
    const ctx = new RequestContext(this, request);
    const reply = runBehaviourStack(this.behaviours, ctx, request, this.log);
    // A behaviour's after-reply work wins over the conformant handler's (17H sets this.afterReply).
    const afterReply = ctx.afterReply ?? (this.afterReply as (() => void) | null);
    this.afterReply = null;
    if (!reply) {
      // The meter acted (e.g. switched baud rate) even though its reply never left it.
      afterReply?.();
      return;
    }
    this.schedule(reply, ctx.delayMs ?? this.responseDelay(), request, afterReply);
  }

  /** Td drawn from the profile (a constant or [min, max] with the seeded generator). */
  responseDelay(): number {
    const d = this.type.profile.simulation.responseDelayMs;
    if (typeof d === 'number') return d;
    return this.random.int(Math.ceil(d[0]), Math.floor(d[1]));
  }

  private schedule(reply: Uint8Array, delayMs: number, request: IncomingRequest, afterReply: (() => void) | null): void {
    const handle = this.clock.setTimeout(() => {
      if (this.timers?.delete(handle) && this.timers.size === 0) this.timers = null; // idle meters hold no set
      if (!this.running || !this.link.isOpen || !this.model.commsPowered) return;
      this.emit('reply', reply, request);
      this.link.write(reply).then(
        () => afterReply?.(),
        (e: unknown) => this.log(`reply not written: ${String(e)}`),
      );
    }, delayMs);
    (this.timers ??= new Set()).add(handle);
  }

  /** Work to do once the current reply is on the wire (17H baud change). */
  private afterReply: (() => void) | null = null;

  encodeReply(message: Dlt645Message, address: string = this.model.address): Uint8Array {
    if (message.kind === 'readDataResponse' && message.payload instanceof Uint8Array && message.payload.length <= MAX_DATA_LENGTH_2007 - 4) {
      const head = this.replyHead(address);
      const reply = head && encodeReadDataReply(head, message.di, message.payload, message.hasFollowUp);
      if (reply) return reply;
    }
    return encodeMessage(address, message, { preamble: this.type.profile.simulation.replyPreamble });
  }

  /** `FE.. 68 A0..A5 68` of replies from `address` (the last one asked: the meter's own), or null when it has no wire form. */
  private head: { address: string; bytes: Uint8Array | null } | undefined;

  private replyHead(address: string): Uint8Array | null {
    if (this.head?.address !== address) {
      let bytes: Uint8Array | null = null;
      if (/^[0-9]{12}$/.test(address)) {
        const preamble = this.type.profile.simulation.replyPreamble;
        bytes = new Uint8Array(preamble + 8);
        bytes.fill(PREAMBLE_BYTE, 0, preamble);
        bytes[preamble] = START;
        bytes.set(addressToWire(address), preamble + 1);
        bytes[preamble + 7] = START;
      }
      this.head = { address, bytes };
    }
    return this.head.bytes;
  }

  // -------------------------------------------------------------------------------------------
  // The conformant handler

  /** @internal The conformant handling, for RequestContext.respond (never throws). */
  safeHandle(request: IncomingRequest, options: RespondOptions): Uint8Array | null {
    try {
      return this.handle(request, options);
    } catch (e) {
      // A bug in the simulator must not take the server down: log it and stay silent.
      this.log(`handler failed for ${toHex(request.raw)}: ${e instanceof Error ? e.stack ?? e.message : String(e)}`);
      return null;
    }
  }

  private handle(request: IncomingRequest, options: RespondOptions): Uint8Array | null {
    const { frame, addressing } = request;
    if (!request.checksumValid && !options.acceptBadChecksum) {
      this.log(`ignored a frame with a bad checksum: ${toHex(request.raw)}`);
      return null;
    }
    if (frame.control.isResponse) return null; // another slave's reply on the bus
    if (frame.edition !== '2007') {
      this.log(`ignored a DL/T 645-1997 frame (function ${frame.control.functionCode.toString(16)}H)`);
      return null;
    }
    if (addressing === 'other' && !options.acceptForeignAddress) return null;
    const fc = frame.control.functionCode;
    const declared = this.type.profile.meter.capabilities;
    const caps = options.capabilities ? { ...declared, ...options.capabilities } : declared;
    const message = request.message;

    if (addressing === 'broadcast') {
      // Act on broadcast time sync and freeze; never answer (PROTOCOLS.md 1.4).
      if (message?.kind === 'broadcastTimeSync' && caps.broadcastTimeSync) this.model.setMeterTime(fromCalendar(message.time));
      if (message?.kind === 'freeze' && caps.freeze) this.model.freeze(message);
      if (!options.answerBroadcast) return null;
      if (message?.kind === 'broadcastTimeSync' || message?.kind === 'freeze') {
        return message.kind === 'freeze' ? this.reply({ kind: 'freezeResponse' }, request) : null;
      }
    }
    if (addressing === 'wildcard' && !wildcardAllowed(fc, caps)) return null;

    if (message === null) {
      if (fc === FunctionCode.RemoteControl) {
        const m = remoteControlWithoutTime(frame);
        // 16 bytes whose valid-until is no date: refused like an expired command (FEE-06).
        if (m) return this.remoteControl(m, true, request, caps, (password, maxLevel) => options.skipPasswordCheck === true || this.model.checkPassword(password, maxLevel));
      }
      return this.malformed(request);
    }

    // The read of a collection, before the closures the other functions need (issue 7: per item).
    if (message.kind === 'readData') {
      return message.di === LOAD_RECORD_GIVEN_TIME_DI ? this.readLoadRecords(message.di, message.extra, request) : this.readData(message.di, request);
    }
    const pw = (password: { level: number; value: string }, maxLevel: number): boolean =>
      options.skipPasswordCheck === true || this.model.checkPassword(password, maxLevel);
    const writeLevel = this.type.writeLevel;
    const clearLevel = this.type.clearLevel;

    switch (message.kind) {
      case 'broadcastTimeSync':
        if (caps.broadcastTimeSync) this.model.setMeterTime(fromCalendar(message.time));
        return null; // 08H has no reply
      case 'readFollowUp':
        return this.readFollowUp(message.di, message.seq, request);
      case 'readAddress':
        return this.reply({ kind: 'readAddressResponse', address: this.model.address }, request);
      case 'writeData': {
        if (!caps.writeData) return this.error(fc, ErrorWord.PasswordOrUnauthorised, request);
        if (!pw(message.password, writeLevel)) return this.error(fc, ErrorWord.PasswordOrUnauthorised, request);
        return this.writeData(message.di, message.payload, message.operator, request);
      }
      case 'writeAddress': {
        if (!caps.writeAddress || frame.address !== WILDCARD_ADDRESS) return null;
        this.model.setAddress(message.newAddress);
        return this.reply({ kind: 'writeAddressResponse' }, request, message.newAddress);
      }
      case 'freeze': {
        if (!caps.freeze) return this.error(fc, ErrorWord.OtherError, request);
        const r = this.model.freeze(message);
        return r.ok ? this.reply({ kind: 'freezeResponse' }, request) : this.error(fc, ErrorWord.OtherError, request);
      }
      case 'changeBaud': {
        const baudRate = message.baudRate;
        if (!this.baudRateSupported(baudRate)) return this.error(fc, ErrorWord.BaudRateNotChangeable, request);
        this.afterReply = () => this.applyBaudRate(baudRate);
        return this.reply({ kind: 'changeBaudResponse', z: message.z, baudRate }, request);
      }
      case 'changePassword': {
        if (!caps.changePassword) return this.error(fc, ErrorWord.PasswordOrUnauthorised, request);
        if (options.skipPasswordCheck) {
          const forced = this.model.changePassword(message.di, message.newPassword, message.newPassword, true);
          return forced.ok ? this.reply({ kind: 'changePasswordResponse', newPassword: message.newPassword }, request) : this.error(fc, ErrorWord.OtherError, request);
        }
        const r = this.model.changePassword(message.di, message.oldPassword, message.newPassword);
        if (r.ok) return this.reply({ kind: 'changePasswordResponse', newPassword: message.newPassword }, request);
        return this.error(fc, r.error === 'password' ? ErrorWord.PasswordOrUnauthorised : r.error === 'unsupported' ? ErrorWord.NoRequestedData : ErrorWord.OtherError, request);
      }
      case 'clearMaxDemand':
        if (!caps.clearMaxDemand || !pw(message.password, clearLevel)) return this.error(fc, ErrorWord.PasswordOrUnauthorised, request);
        this.model.clearMaxDemand(message.operator);
        return this.reply({ kind: 'clearMaxDemandResponse' }, request);
      case 'meterClear':
        if (!caps.meterClear || !pw(message.password, clearLevel)) return this.error(fc, ErrorWord.PasswordOrUnauthorised, request);
        this.model.meterClear(message.operator);
        return this.reply({ kind: 'meterClearResponse' }, request);
      case 'eventClear': {
        if (!caps.eventClear || !pw(message.password, clearLevel)) return this.error(fc, ErrorWord.PasswordOrUnauthorised, request);
        const r = this.model.eventClear(message.di, message.operator);
        return r.ok ? this.reply({ kind: 'eventClearResponse' }, request) : this.error(fc, ErrorWord.NoRequestedData, request);
      }
      case 'remoteControl':
        return this.remoteControl(message, false, request, caps, pw);
      case 'multiFunctionOutput':
        // The declared output types (meter.multiFunctionOutputs) are switched to and echoed in the
        // 9DH reply; any other is refused with "other error" [BK: PROTOCOLS.md 1.3 gives only the frame].
        if (!this.type.profile.meter.multiFunctionOutputs.includes(toHex(Uint8Array.of(message.output)))) return this.error(fc, ErrorWord.OtherError, request);
        return this.reply({ kind: 'multiFunctionOutputResponse', output: message.output }, request);
      default:
        // Replies, 1997 messages and function codes the standard does not define: silence.
        return null;
    }
  }

  /**
   * 1CH (PROTOCOLS.md 1.5). Checks in this order, each with its error word (1.7):
   * capability `remoteControl` off → 04H; a password weaker than `meter.passwordLevels.remoteControl`
   * or wrong → 04H; an N1 outside `meter.remoteControl.commands` → `errors.unsupportedCommand`;
   * valid-until expired, malformed (`badTime`) or all zero when not accepted → `errors.expired`;
   * trip under keep-power (KP-01) → `errors.keepPowerTrip`. The last three words are [BK]
   * (declaration options, default 01H). With `meter.remoteControl.passwordBeforeValidUntil` false
   * ([BK] order) the valid-until is checked right after the capability. Success: 9CH with L = 0.
   */
  private remoteControl(
    message: Extract<Dlt645Message, { kind: 'remoteControl' }>,
    badTime: boolean,
    request: IncomingRequest,
    caps: Capabilities,
    pw: (password: { level: number; value: string }, maxLevel: number) => boolean,
  ): Uint8Array | null {
    const fc = FunctionCode.RemoteControl;
    if (!caps.remoteControl) return this.error(fc, ErrorWord.PasswordOrUnauthorised, request);
    const declared = this.type.profile.meter.remoteControl;
    const words = declared.errors;
    const timeRefused = badTime ? !this.model.faults.ignoreValidUntil : this.model.validUntilRefused(message.validUntil);
    // [BK] order (meter.remoteControl.passwordBeforeValidUntil): the valid-until before the password and the N1.
    if (!declared.passwordBeforeValidUntil && timeRefused) return this.error(fc, parseInt(words.expired, 16), request);
    if (!pw(message.password, this.type.remoteControlLevel)) return this.error(fc, ErrorWord.PasswordOrUnauthorised, request);
    const code = message.command.toString(16).toUpperCase().padStart(2, '0');
    const preTrip = declared.preTrip !== undefined && (code === declared.preTrip.restoreClose || code === declared.preTrip.restoreAllow);
    if (!(declared.commands as readonly string[]).includes(code) && !preTrip) return this.error(fc, parseInt(words.unsupportedCommand, 16), request);
    if (badTime && timeRefused) return this.error(fc, parseInt(words.expired, 16), request);
    // N2 carries the restore time of a pre-trip (FEE-10); reserved otherwise (PROTOCOLS.md 1.5).
    const r = this.model.remoteControl(message.command, message.operator, message.validUntil, message.reserved);
    if (r.ok) return this.reply({ kind: 'remoteControlResponse' }, request);
    // (An undeclared N1 was refused above; the model's own 'unsupported' cannot come back here.)
    const word = r.error === 'expired' ? words.expired : r.error === 'keep-power' ? words.keepPowerTrip : '01';
    return this.error(fc, parseInt(word, 16), request);
  }

  /** A rate this meter switches to with 17H: one it declares (`meter.baudRates`), or its declared line rate. */
  private baudRateSupported(baudRate: number): boolean {
    const meter = this.type.profile.meter;
    return baudRate === meter.line.baudRate || meter.baudRates.includes(baudRate);
  }

  /** A well-formed frame with a malformed data field. */
  private malformed(request: IncomingRequest): Uint8Array | null {
    const fc = request.frame.control.functionCode;
    const e = request.messageError;
    this.log(`malformed ${fc.toString(16)}H request: ${e ? `${e.code} ${e.message}` : 'unknown'}`);
    if (fc === FunctionCode.ChangeBaud && e?.code === 'dlt645.baud-feature-word') {
      return this.error(fc, ErrorWord.BaudRateNotChangeable, request);
    }
    switch (fc) {
      case FunctionCode.ReadData:
      case FunctionCode.ReadFollowUp:
      case FunctionCode.WriteData:
      case FunctionCode.Freeze:
      case FunctionCode.ChangeBaud:
      case FunctionCode.ChangePassword:
      case FunctionCode.ClearMaxDemand:
      case FunctionCode.MeterClear:
      case FunctionCode.EventClear:
      case FunctionCode.RemoteControl:
      case FunctionCode.MultiFunctionOutput:
        return this.error(fc, ErrorWord.OtherError, request);
      default:
        return null;
    }
  }

  /** Address the reply carries: own, or the request's wildcard under the 'echo-wildcard' quirk. */
  private replyAddress(request: IncomingRequest): string {
    if (request.addressing === 'wildcard' && this.type.profile.simulation.wildcardReply === 'echo-wildcard') return request.frame.address;
    return this.model.address;
  }

  private reply(message: Dlt645Message, request: IncomingRequest, address?: string): Uint8Array {
    return this.encodeReply(message, address ?? this.replyAddress(request));
  }

  private error(functionCode: number, errorWord: number, request: IncomingRequest): Uint8Array {
    return this.reply({ kind: 'errorResponse', functionCode, errorWord, errors: errorWordBits(errorWord) }, request);
  }

  // ---- 11H / 12H

  /** Whether the declaration lists `di` and the model serves it. */
  private declared(di: string): boolean {
    return this.type.identifiers.has(di);
  }

  private get followUpSupported(): boolean {
    return this.type.followUpSupported;
  }

  private get maxPart(): number {
    return this.type.profile.simulation.maxFrameDataLength ?? this.type.profile.meter.maxFrameDataLength;
  }

  /** The encoded value of a declared, served identifier; null for "no requested data". */
  valuePayload(di: string): Uint8Array | null {
    if (!this.declared(di)) return null;
    const value = this.model.readValue(di);
    if (value === undefined) return null;
    return DICTIONARY.encodeValue(di, value);
  }

  /**
   * The parts of a reply, one per frame. An identifier declared in `followUpIdentifiers` is sent
   * member by member (a block's members, a record's fields: the 0506FF01 daily freeze block goes
   * as time, forward block, reverse block); any part longer than a frame allows is cut further.
   * The first frame carries DI + part (≤ maxFrameDataLength), the others DI + part + SEQ.
   */
  private partsOf(di: string, payload: Uint8Array): Uint8Array[] {
    const pieces = this.followUpSupported && this.type.followUpIdentifiers.has(di) ? splitAtMembers(di, payload) : [payload];
    const parts: Uint8Array[] = [];
    for (const piece of pieces) {
      let offset = 0;
      do {
        const limit = this.maxPart - DI_LENGTH - (parts.length === 0 ? 0 : 1);
        parts.push(piece.slice(offset, offset + limit));
        offset += limit;
      } while (offset < piece.length);
    }
    return parts;
  }

  /** The value of `di` as sent on the wire, or the abnormal reply (to function `fc`) saying why there is none. */
  private payloadOrError(di: string, fc: number, request: IncomingRequest): { payload: Uint8Array } | { error: Uint8Array } {
    let payload: Uint8Array | null;
    try {
      payload = this.valuePayload(di);
    } catch (e) {
      this.log(`cannot encode ${di}: ${String(e)}`);
      return { error: this.error(fc, ErrorWord.OtherError, request) };
    }
    return payload === null ? { error: this.error(fc, ErrorWord.NoRequestedData, request) } : { payload };
  }

  private readData(di: string, request: IncomingRequest): Uint8Array {
    const fc = FunctionCode.ReadData;
    const value = this.payloadOrError(di, fc, request);
    if ('error' in value) return value.error;
    const { payload } = value;
    const parts = this.partsOf(di, payload);
    if (parts.length === 1) return this.reply({ kind: 'readDataResponse', di, payload, hasFollowUp: false }, request);
    if (!this.followUpSupported) return this.error(fc, ErrorWord.NoRequestedData, request);
    this.followUp = { di, extra: NO_EXTRA, parts };
    return this.reply({ kind: 'readDataResponse', di, payload: parts[0]!, hasFollowUp: true }, request);
  }

  /**
   * 11H DI 06000001, load records at a given time (load-record.ts): the request data is NN (block
   * count) and the given time; the reply is the blocks whose time is at or after it, at most NN,
   * oldest first, split over follow-up frames like any long reply. Served when the meter records
   * load (`simulation.loadRecord.modeWord` ≠ 0) or declares the identifier. Malformed request data
   * → 01H other error; no record at or after the time → 02H no requested data; too long for one
   * frame without follow-up frames → 02H, as any other long item.
   */
  private readLoadRecords(di: string, extra: Uint8Array, request: IncomingRequest): Uint8Array {
    const fc = FunctionCode.ReadData;
    if (!this.model.recordsLoad && !this.declared(di)) return this.error(fc, ErrorWord.NoRequestedData, request);
    const r = decodeLoadRecordRequest(extra);
    if (!r.ok) {
      this.log(`load record request refused: ${r.error.message}`);
      return this.error(fc, ErrorWord.OtherError, request);
    }
    const blocks = this.model.loadRecords(fromCalendar({ ...r.from, second: 0 }), r.count);
    if (blocks.length === 0) return this.error(fc, ErrorWord.NoRequestedData, request);
    let payload: Uint8Array;
    try {
      payload = encodeLoadRecordBlocks(blocks);
    } catch (e) {
      this.log(`cannot encode load records: ${String(e)}`);
      return this.error(fc, ErrorWord.OtherError, request);
    }
    const parts = this.partsOf(di, payload);
    if (parts.length === 1) return this.reply({ kind: 'readDataResponse', di, payload, hasFollowUp: false }, request);
    if (!this.followUpSupported) return this.error(fc, ErrorWord.NoRequestedData, request);
    this.followUp = { di, extra: new Uint8Array(extra), parts };
    return this.reply({ kind: 'readDataResponse', di, payload: parts[0]!, hasFollowUp: true }, request);
  }

  private readFollowUp(di: string, seq: number, request: IncomingRequest): Uint8Array {
    const fc = FunctionCode.ReadFollowUp;
    if (!this.followUpSupported) return this.error(fc, ErrorWord.NoRequestedData, request);
    if (!this.followUp || this.followUp.di !== di) {
      // A read that needs request data (load records) cannot be followed without its 11H.
      if (di === LOAD_RECORD_GIVEN_TIME_DI) return this.error(fc, ErrorWord.NoRequestedData, request);
      // No read in progress for this DI: serve the follow-up frames of a fresh value.
      const value = this.payloadOrError(di, fc, request);
      if ('error' in value) return value.error;
      this.followUp = { di, extra: NO_EXTRA, parts: this.partsOf(di, value.payload) };
    }
    const parts = this.followUp.parts;
    if (seq < 1 || seq >= parts.length) return this.error(fc, ErrorWord.NoRequestedData, request);
    const hasFollowUp = seq < parts.length - 1;
    return this.reply({ kind: 'readFollowUpResponse', di, payload: parts[seq]!, seq, hasFollowUp }, request);
  }

  // ---- 14H

  private writeData(di: string, payload: Uint8Array, operator: string, request: IncomingRequest): Uint8Array {
    const fc = FunctionCode.WriteData;
    const def = DICTIONARY.lookup(di);
    if (!def || def.edition !== '2007') return this.error(fc, ErrorWord.NoRequestedData, request);
    // An identifier the meter does not declare is one it does not have (write-only ones, such as
    // the passwords 04000C0x, cannot be declared readable and are judged by the model).
    if (def.access !== 'write' && !this.declared(di)) return this.error(fc, ErrorWord.NoRequestedData, request);
    if (def.access === 'read') return this.error(fc, ErrorWord.PasswordOrUnauthorised, request);
    const decoded = DICTIONARY.decodeValue(di, payload);
    if (!decoded.ok) return this.error(fc, ErrorWord.OtherError, request);
    const r = this.model.writeDecoded(di, decoded.value, operator);
    if (r.ok) return this.reply({ kind: 'writeDataResponse' }, request);
    const word =
      r.error === 'password' || r.error === 'read-only'
        ? ErrorWord.PasswordOrUnauthorised
        : r.error === 'unsupported'
          ? ErrorWord.NoRequestedData
          : ErrorWord.OtherError;
    return this.error(fc, word, request);
  }

  // ---- 17H

  /**
   * Switches the meter's UART to `baudRate` now (the conformant handler calls it once its 17H
   * reply is on the wire; a behaviour may call it from its `afterReply`).
   */
  applyBaudRate(baudRate: number): void {
    this.currentBaud = baudRate;
    // DI 04000703 serves the model's rate (this was a per-meter 'baudRateChanged' listener in index.ts).
    this.model.baudRate = baudRate;
    const link = this.link as Link & { setLine?: (line: LineSettings) => void; line?: LineSettings };
    if (typeof link.setLine === 'function') {
      const line = link.line ?? this.type.profile.meter.line;
      link.setLine({ ...line, baudRate });
    }
    this.emit('baudRateChanged', baudRate);
  }
}

/** Whether a meter with these capabilities accepts function code `fc` through the wildcard address. */
function wildcardAllowed(fc: number, caps: Capabilities): boolean {
  if (fc === FunctionCode.ReadAddress) return caps.readAddressWithWildcard;
  if (fc === FunctionCode.ReadData || fc === FunctionCode.ReadFollowUp) return caps.readWithWildcard;
  return true;
}

/**
 * The 11H normal reply `head C L DI+33H payload+33H CS 16` from a reply head (replyHead): the
 * bytes encodeMessage gives for { kind: 'readDataResponse', di, payload, hasFollowUp } (test),
 * without its intermediate arrays. Null when `di` is not 8 hex digits (encodeMessage then throws
 * its EncodeError).
 */
function encodeReadDataReply(head: Uint8Array, di: string, payload: Uint8Array, hasFollowUp: boolean): Uint8Array | null {
  if (di.length !== 8) return null;
  const out = new Uint8Array(head.length + 2 + 4 + payload.length + 2); // C L, DI, payload, CS 16
  out.set(head);
  let p = head.length;
  const first = p - 8; // the first 68H
  out[p++] = (FunctionCode.ReadData | CONTROL_DIRECTION_BIT | (hasFollowUp ? CONTROL_FOLLOW_UP_BIT : 0)) & 0xff;
  out[p++] = 4 + payload.length;
  // DI0 first (PROTOCOLS.md 1.2): the last two hex digits of "DI3DI2DI1DI0".
  for (let i = 3; i >= 0; i--) {
    const hi = hexDigit(di.charCodeAt(2 * i));
    const lo = hexDigit(di.charCodeAt(2 * i + 1));
    if (hi < 0 || lo < 0) return null;
    out[p++] = (((hi << 4) | lo) + DATA_OFFSET) & 0xff;
  }
  for (let i = 0; i < payload.length; i++) out[p++] = (payload[i]! + DATA_OFFSET) & 0xff;
  let cs = 0;
  for (let i = first; i < p; i++) cs = (cs + out[i]!) & 0xff;
  out[p++] = cs;
  out[p] = END;
  return out;
}

function hexDigit(c: number): number {
  if (c >= 0x30 && c <= 0x39) return c - 0x30;
  if (c >= 0x41 && c <= 0x46) return c - 0x37;
  if (c >= 0x61 && c <= 0x66) return c - 0x57;
  return -1;
}
