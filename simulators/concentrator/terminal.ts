/**
 * The concentrator's Q/GDW 1376.1 terminal application (issue 12, part C): answers the master
 * station's requests from a `ConcentratorCore` (types.ts) and sends the terminal's own frames
 * (login, heartbeat, active event reports) through the uplink (uplink.ts). It knows nothing of
 * RS-485 or the meters' protocols; the core knows nothing of 1376.1 frames. Every layout comes
 * from the gw1376 dictionary (harness/protocols/gw1376/dictionary.ts).
 *
 * Replies (PROTOCOLS.md 3.2-3.7): DIR 1, PRM 0, the request's MSA, RSEQ = the request's PSEQ
 * (incremented frame by frame in a multi-frame reply, FIR on the first, FIN on the last), the
 * request's Tp echoed when it had one [BK], ACD = 1 with EC while important events wait that the
 * master has neither confirmed (active report) nor read (AFN 0E F1) [BK: ACD rule]. Data replies
 * use function 8; AFN 00 confirm/deny replies function 0, except a deny for class 1/2/3 data with
 * nothing to give, function 9 (deny: no data requested) [BK]. A reply that does not fit
 * `MAX_USER_DATA_NETWORK` goes as several frames: data units are never split across frames, and
 * the archive and event lists are cut into units of as many records as fit.
 *
 * What is answered:
 * - AFN 01 F1-F4: AFN 00 F1, then F1 power-cycles the core (the link drops, the terminal logs in
 *   again), F2 clears the stored data, F3 clears archive, data and the uplink parameters, F4
 *   archive and data. F2-F4 need the core's optional `clearData` (types.ts); without it they are
 *   denied rather than pretended.
 * - AFN 04 F1 (uplink parameters, CON-01), F10 (DL/T 645 archive), F249 (four-meter archive):
 *   AFN 00 F1 when every item is accepted, F2 when none is, F3 per item otherwise; an archive item
 *   is accepted when every record in it is (the core refuses records one by one; refused records
 *   are logged).
 * - AFN 05 F1 trip / F2 allow close (pn = the measuring point, core.control), F31 time sync
 *   (core.setTime, A.1 in terminal local time); same confirmation rule.
 * - AFN 09 F1 version; AFN 0A F1, F10, F249 (count 0 = every record).
 * - AFN 0C F2 clock, F129 (electricity points), F249 (water, gas, heat points): read now through
 *   core.readCurrent; AFN 0D F161 / F249 from core.daily; AFN 0D F81 / F89 / F101 curves (COL-12)
 *   from core.curve (Td_c's points at its density, across midnight, EEH for a point on no record).
 *   A point without data is left out of the reply; when no unit has data: AFN 00 F2
 *   (docs/protocols/meterlab-four-meter-1376.md).
 * - AFN 0E F1 / F2: the events with pointers pm..pn-1 (mod 256), with EC1 EC2.
 * - AFN 10 F1: core.forward, the reply's port and content; silence or a refusal: AFN 00 F2.
 * - Any other AFN or Fn: AFN 00 F2.
 *
 * Bad input (ROB): a frame that does not decode → silence and a log line (uplink.ts); a wrong
 * PW on an AFN that carries one → AFN 00 F2 [BK]; a Tp older than its own delay (ROB-10, CON-01)
 * → silence; never a throw, the uplink keeps running. Requests are handled one at a time, in
 * arrival order. Broadcast requests are executed and not answered [BK].
 *
 * Active reports: each new important event of the core (ERC 39 failed re-read, COL-04) goes as
 * AFN 0E F1 (C = C4H: PRM 1, user data), with CON when AFN 04 F1's CON flag D2 (class 3) is set
 * (default 07H, CON-02), confirmed like a heartbeat (CON-04).
 */
import { EventEmitter } from 'node:events';
import type { Clock } from '../../harness/core/clock.ts';
import { concatBytes, toHex, parseHex, bytesEqual } from '../../harness/core/bytes.ts';
import { CHINA_UTC_OFFSET_MINUTES, fromCalendar, isValidCalendar, toCalendar } from '../../harness/core/calendar.ts';
import type { Link } from '../../harness/links/link.ts';
import {
  Afn,
  ArchiveProtocol,
  CurveFn,
  curveDensityMinutes,
  EC_LENGTH,
  encodeDa,
  encodeDt,
  encodeFrame,
  encodeUnitSpecs,
  ERC_LAYOUTS,
  FIXED_USER_DATA_LENGTH,
  FOUR_METER_FN,
  hasPw,
  isBroadcast,
  isTimeTagExpired,
  items,
  makeControl,
  makeSeq,
  MAX_USER_DATA_NETWORK,
  PrmFunction,
  PW_LENGTH,
  RespFunction,
  TP_LENGTH,
  type Address,
  type DataUnitItem,
  type FramePosition,
  type Gw1376Message,
  type TimeTag,
  type UnitSpec,
  type UnitValue,
} from '../../harness/protocols/gw1376/index.ts';
import type { ArchivePoint, ConcentratorCore, ConcentratorEvent, DailyCurve, MeterKind, PointValue } from './types.ts';
import { Gw1376Uplink, type TerminalLogger, type UplinkState, type UplinkStats } from './uplink.ts';

export type { TerminalLogger, UplinkState } from './uplink.ts';

// ---------------------------------------------------------------------------------------------
// Parameters

/** The terminal's uplink parameters: AFN 04 F1 (CON-01) and the F8 redial interval (CON-03). */
export interface TerminalParameters {
  /** RTS delay in units of 20 ms (stored and answered; a TCP uplink has no RTS). */
  readonly rtsDelay20ms: number;
  /** The terminal's permitted transmit delay, minutes: Tp on its active reports when > 0 [BK]. */
  readonly tpDelayMinutes: number;
  /** Wait for the master's confirmation, s (D11-D0; CON-02 default 5). */
  readonly responseTimeoutSeconds: number;
  /** Retransmissions of an unconfirmed frame (D13-D12, 0..3; CON-02 default 3). */
  readonly retries: number;
  /** D0 class 1, D1 class 2, D2 class 3 active reports need confirmation (CON-02 default 07H). */
  readonly conFlags: number;
  /** Heartbeat period, minutes (CON-02 default 15). */
  readonly heartbeatMinutes: number;
  /** F8 redial interval in permanent-online mode, s (CON-03; default 60 [BK]). */
  readonly redialIntervalSeconds: number;
}

export const DEFAULT_TERMINAL_PARAMETERS: TerminalParameters = {
  rtsDelay20ms: 0,
  tpDelayMinutes: 0,
  responseTimeoutSeconds: 5,
  retries: 3,
  conFlags: 0x07,
  heartbeatMinutes: 15,
  redialIntervalSeconds: 60,
};

/** AFN 04 F1 timeoutAndRetries: D11-D0 seconds, D13-D12 retries (dictionary.ts UPLINK_PARAMETERS). */
const TIMEOUT_MASK = 0x0fff;
const RETRIES_SHIFT = 12;
const MAX_RETRIES = 3;
/** AFN 04 F1 conFlags D2: class 3 (event) reports need confirmation. */
const CON_CLASS3 = 0x04;

/** Deliberate defects for broken variants. */
export interface TerminalDefects {
  /** Logs in, then never sends a heartbeat (issue 12's "a heartbeat that never comes"). */
  readonly noHeartbeat?: boolean;
  /** Never checks Tp: answers frames that outlived their permitted delay (ROB-10). */
  readonly ignoreTimeTag?: boolean;
}

/** AFN 09 F1 version information (ASCII fields as plain text, padded or cut to their length). */
export interface TerminalVersion {
  readonly vendor: string;
  readonly deviceNumber: string;
  readonly softwareVersion: string;
  /** "YYYY-MM-DD". */
  readonly softwareDate: string;
  readonly capacityCode: string;
  readonly protocolVersion: string;
  readonly hardwareVersion: string;
  readonly hardwareDate: string;
}

const DEFAULT_VERSION: TerminalVersion = {
  vendor: 'MLAB',
  deviceNumber: '',
  softwareVersion: '0100',
  softwareDate: '2026-01-01',
  capacityCode: 'CON2040',
  protocolVersion: '1376',
  hardwareVersion: '0100',
  hardwareDate: '2026-01-01',
};

/** How long the core is off on AFN 01 F1 hardware initialisation [BK: a terminal reboots in seconds]. */
export const HARDWARE_RESET_OFF_MS = 10_000;
/** AFN 10 F1 frame timeout when the master gives 0 [BK]. */
export const DEFAULT_FORWARD_FRAME_TIMEOUT_MS = 2_000;
/** The 376.1 event pointers and counters count mod 256 (3.6 EC). */
const EVENT_POINTER_MOD = 256;

export interface ConcentratorTerminalOptions {
  readonly core: ConcentratorCore;
  readonly clock: Clock;
  /** A1 area code ("0200" for wire 00 02) and A2 terminal address 1..65535. */
  readonly address: { readonly areaCode: string; readonly terminal: number };
  /** The 16-byte PW the master must send on AFN 01/04/05/06/0F/10 (PROTOCOLS.md 3.6). */
  readonly password: Uint8Array;
  /** Opens the uplink (a TCP client link to the master station, or a memory pair end). */
  readonly connect: () => Promise<Link>;
  readonly parameters?: Partial<TerminalParameters>;
  readonly defects?: TerminalDefects;
  readonly logger?: TerminalLogger;
  /** Offset of the terminal's local time (A.1, A.15, A.20, days), minutes. Default 480 (UTC+8). */
  readonly utcOffsetMinutes?: number;
  readonly version?: Partial<TerminalVersion>;
}

export interface TerminalStats {
  requests: number;
  replies: number;
  denied: number;
  /** Requests not answered: expired Tp, broadcast, undecodable data units. */
  silent: number;
  expired: number;
  wrongPassword: number;
  reportsQueued: number;
}

export interface ConcentratorTerminalEvents {
  state: [state: UplinkState];
  frame: [dir: 'in' | 'out', bytes: Uint8Array];
  rejected: [e: { readonly reason: string; readonly bytes: Uint8Array }];
}

/** One data unit of a reply: its encoded bytes (DA DT data), never split across frames. */
type Piece = Uint8Array;

interface Reply {
  readonly afn: number;
  readonly functionCode: number;
  readonly pieces: readonly Piece[];
}

/** Per-item outcome of AFN 01/04/05. */
interface ItemResult {
  readonly pn: number;
  readonly fn: number;
  readonly ok: boolean;
}

export class ConcentratorTerminal extends EventEmitter<ConcentratorTerminalEvents> {
  readonly core: ConcentratorCore;
  readonly uplink: Gw1376Uplink;
  private readonly o: ConcentratorTerminalOptions;
  private readonly offset: number;
  private params: TerminalParameters;
  private readonly version: TerminalVersion;
  /** Extra F10 fields the core does not keep (baud code, tariffs, digits, collector, classes), by serial. */
  private readonly f10Extras = new Map<number, { baudCode: number; tariffs: number; digits: number; collectorAddress: string; classes: number; passwordTail: string }>();
  /** EC1 value up to which important events reached the master (confirmed report or AFN 0E F1 read). */
  private deliveredImportant: number;
  private work: Promise<void> = Promise.resolve();
  private readonly onCoreEvent = (e: ConcentratorEvent): void => this.coreEvent(e);
  readonly stats: TerminalStats = { requests: 0, replies: 0, denied: 0, silent: 0, expired: 0, wrongPassword: 0, reportsQueued: 0 };

  constructor(options: ConcentratorTerminalOptions) {
    super();
    if (!(options.password instanceof Uint8Array) || options.password.length !== PW_LENGTH) {
      throw new RangeError(`password must be ${PW_LENGTH} bytes (PROTOCOLS.md 3.6)`);
    }
    if (!Number.isInteger(options.address.terminal) || options.address.terminal < 1 || options.address.terminal > 0xfffe) {
      throw new RangeError(`terminal address A2 must be 1..65534, got ${String(options.address.terminal)}`);
    }
    if (!/^[0-9A-Fa-f]{4}$/.test(options.address.areaCode)) throw new RangeError(`area code A1 must be 4 BCD/hex digits, got ${JSON.stringify(options.address.areaCode)}`);
    this.o = options;
    this.core = options.core;
    this.offset = options.utcOffsetMinutes ?? CHINA_UTC_OFFSET_MINUTES;
    this.params = checkParameters({ ...DEFAULT_TERMINAL_PARAMETERS, ...options.parameters });
    this.version = { ...DEFAULT_VERSION, deviceNumber: String(options.address.terminal).padStart(8, '0'), ...options.version };
    this.deliveredImportant = this.core.eventCounters().important;
    this.uplink = new Gw1376Uplink({
      clock: options.clock,
      connect: options.connect,
      address: options.address,
      timing: () => ({
        timeoutMs: this.params.responseTimeoutSeconds * 1000,
        retries: this.params.retries,
        heartbeatMs: this.params.heartbeatMinutes * 60_000,
        redialMs: this.params.redialIntervalSeconds * 1000,
      }),
      onRequest: (m) => this.enqueue(m),
      noHeartbeat: options.defects?.noHeartbeat === true,
      ...(options.logger ? { logger: options.logger } : {}),
    });
    this.uplink.on('state', (s) => this.emit('state', s));
    this.uplink.on('frame', (d, b) => this.emit('frame', d, b));
    this.uplink.on('rejected', (e) => this.emit('rejected', e));
  }

  get state(): UplinkState {
    return this.uplink.state;
  }

  get parameters(): TerminalParameters {
    return this.params;
  }

  get uplinkStats(): UplinkStats {
    return this.uplink.stats;
  }

  /** Whether important events wait that the master has not had (ACD). */
  get accessDemand(): boolean {
    return this.core.eventCounters().important !== this.deliveredImportant;
  }

  /** Starts the uplink (dial, login) and listens to the core's events. The core's own start() is the caller's. */
  start(): void {
    this.core.off('event', this.onCoreEvent);
    this.core.on('event', this.onCoreEvent);
    this.uplink.start();
  }

  async stop(): Promise<void> {
    this.core.off('event', this.onCoreEvent);
    await this.uplink.stop();
  }

  // -------------------------------------------------------------------------------------------
  // Requests

  private enqueue(m: Gw1376Message): void {
    const run = (): Promise<void> =>
      this.handle(m).catch((e: unknown) => {
        // Never reached by design (handle catches its own failures); kept so that a bug cannot stop the queue.
        this.log(`request handling failed: ${(e as Error).message}`);
      });
    this.work = this.work.then(run, run);
  }

  private async handle(m: Gw1376Message): Promise<void> {
    this.stats.requests++;
    const f = m.frame;
    if (f.aux.tp !== null && !this.o.defects?.ignoreTimeTag && isTimeTagExpired(f.aux.tp, this.timeOfMonth())) {
      this.stats.expired++;
      this.stats.silent++;
      this.log(`Tp sent ${tpText(f.aux.tp)} with ${f.aux.tp.delayMinutes} min allowed has expired at ${this.localText(this.core.now())}: silence (ROB-10)`);
      return;
    }
    let reply: Reply | null;
    let after: (() => Promise<void>) | undefined;
    try {
      if (hasPw(f.control, f.afn) && !bytesEqual(f.aux.pw ?? new Uint8Array(0), this.o.password)) {
        this.stats.wrongPassword++;
        this.log(`AFN ${hex(f.afn)}: wrong password: deny`);
        reply = deny();
      } else {
        const r = await this.answer(m);
        reply = r.reply;
        after = r.after;
      }
    } catch (e) {
      // A bug of ours or a core failure must not stop the terminal: deny and log.
      this.log(`AFN ${hex(f.afn)} failed: ${(e as Error).message}: deny`);
      reply = deny();
    }
    if (isBroadcast(f.address)) {
      this.stats.silent++;
      this.log(`broadcast AFN ${hex(f.afn)} executed, not answered`);
    } else if (reply !== null) {
      if (reply.afn === Afn.confirmDeny && items0Fn(reply) === 2) this.stats.denied++;
      let frames: Uint8Array[];
      try {
        frames = this.replyFrames(m, reply);
      } catch (e) {
        this.log(`AFN ${hex(f.afn)} reply not encodable: ${(e as Error).message}: deny`);
        frames = this.replyFrames(m, deny());
      }
      for (const frame of frames) await this.uplink.send(frame);
      this.stats.replies++;
    }
    try {
      if (after) await after();
    } catch (e) {
      this.log(`AFN ${hex(f.afn)} after the reply: ${(e as Error).message}`);
    }
  }

  private async answer(m: Gw1376Message): Promise<{ reply: Reply | null; after?: () => Promise<void> }> {
    const list = items(m);
    switch (m.frame.afn) {
      case Afn.reset:
        return this.reset(list);
      case Afn.setParameters:
        return { reply: confirmReply(Afn.setParameters, list.map((it) => this.setParameter(it))) };
      case Afn.control:
        return { reply: confirmReply(Afn.control, await this.controls(list)) };
      case Afn.terminalConfiguration:
        return { reply: this.dataReply(Afn.terminalConfiguration, list.flatMap((it) => this.configuration(it))) };
      case Afn.queryParameters:
        return { reply: this.dataReply(Afn.queryParameters, list.flatMap((it) => this.query(it))) };
      case Afn.class1Data:
        return { reply: this.dataReply(Afn.class1Data, await this.class1(list)) };
      case Afn.class2Data:
        return { reply: this.dataReply(Afn.class2Data, list.flatMap((it) => this.class2(it))) };
      case Afn.class3Data:
        return { reply: this.dataReply(Afn.class3Data, list.flatMap((it) => this.class3(it))) };
      case Afn.dataForwarding:
        return { reply: this.dataReply(Afn.dataForwarding, await this.forward(list)) };
      default:
        this.log(`AFN ${hex(m.frame.afn)} is not served: deny`);
        return { reply: deny() };
    }
  }

  /** Data pieces, or AFN 00 F2 (function 9, no data) when there are none. */
  private dataReply(afn: number, pieces: Piece[]): Reply {
    if (pieces.length === 0) return deny(RespFunction.denyNoData);
    return { afn, functionCode: RespFunction.userDataResponse, pieces };
  }

  // AFN 01 -------------------------------------------------------------------------------------

  private reset(list: DataUnitItem[]): { reply: Reply; after?: () => Promise<void> } {
    const fns = list.map((it) => it.fn);
    const one = fns.length === 1 && list[0]!.pn === 0 ? fns[0]! : 0;
    const core = this.core;
    switch (one) {
      case 1:
        return {
          reply: confirm(),
          after: () => this.uplink.powerCycle(() => core.reboot(HARDWARE_RESET_OFF_MS)),
        };
      case 2:
      case 3:
      case 4: {
        if (core.clearData === undefined) {
          this.log(`AFN 01 F${one}: the core cannot clear its data (no clearData): deny`);
          return { reply: deny() };
        }
        return {
          reply: confirm(),
          after: async () => {
            core.clearData!();
            if (one === 3 || one === 4) {
              core.clearArchive();
              this.f10Extras.clear();
            }
            if (one === 3) this.setParams({ ...DEFAULT_TERMINAL_PARAMETERS, ...this.o.parameters });
          },
        };
      }
      default:
        this.log(`AFN 01 ${fns.map((x) => `F${x}`).join(' ')}: not one reset Fn for p0: deny`);
        return { reply: deny() };
    }
  }

  // AFN 04 -------------------------------------------------------------------------------------

  private setParameter(it: DataUnitItem): ItemResult {
    const r = { pn: pnOf(it), fn: it.fn };
    if (it.value === null || it.pn !== 0) {
      this.log(`AFN 04 F${it.fn} p${String(it.pn)}: not served`);
      return { ...r, ok: false };
    }
    const v = it.value;
    switch (it.fn) {
      case 1: {
        const tr = num(v, 'timeoutAndRetries');
        const next: TerminalParameters = {
          ...this.params,
          rtsDelay20ms: num(v, 'rtsDelay20ms'),
          tpDelayMinutes: num(v, 'tpDelayMinutes'),
          responseTimeoutSeconds: tr & TIMEOUT_MASK,
          retries: (tr >> RETRIES_SHIFT) & MAX_RETRIES,
          conFlags: num(v, 'conFlags'),
          heartbeatMinutes: num(v, 'heartbeatMinutes'),
        };
        if (next.responseTimeoutSeconds === 0 || next.heartbeatMinutes === 0 || (tr >> 14) !== 0) {
          this.log(`AFN 04 F1: timeout ${next.responseTimeoutSeconds} s, heartbeat ${next.heartbeatMinutes} min, D15-D14 ${tr >> 14}: refused`);
          return { ...r, ok: false };
        }
        this.setParams(next);
        return { ...r, ok: true };
      }
      case 10:
        return { ...r, ok: this.setArchive(v, 'f10') };
      case FOUR_METER_FN:
        return { ...r, ok: this.setArchive(v, 'f249') };
      default:
        return { ...r, ok: false };
    }
  }

  private setParams(next: TerminalParameters): void {
    const heartbeatChanged = next.heartbeatMinutes !== this.params.heartbeatMinutes;
    this.params = next;
    if (heartbeatChanged) this.uplink.rescheduleHeartbeat();
  }

  private setArchive(v: UnitValue, which: 'f10' | 'f249'): boolean {
    const records = Array.isArray(v.meters) ? (v.meters as readonly UnitValue[]) : [];
    const points: ArchivePoint[] = [];
    let ok = true;
    for (const rec of records) {
      const p = which === 'f10' ? this.fromF10(rec) : fromF249(rec);
      if (typeof p === 'string') {
        this.log(`AFN 04 ${which.toUpperCase()} serial ${String(rec.serial)}: ${p}`);
        ok = false;
      } else points.push(p);
    }
    const changes = this.core.setPoints(points);
    for (const c of changes) {
      if (!c.ok) {
        ok = false;
        this.log(`AFN 04 ${which.toUpperCase()} serial ${c.serial} refused by the core: ${c.reason ?? ''}`);
      }
    }
    return ok;
  }

  private fromF10(rec: UnitValue): ArchivePoint | string {
    const serial = num(rec, 'serial');
    const pn = num(rec, 'pn');
    const rateAndPort = num(rec, 'rateAndPort');
    const protocol = num(rec, 'protocol');
    if (protocol !== ArchiveProtocol.dlt645_2007) return `protocol ${protocol} is not served (only 30 = DL/T 645-2007)`;
    const password = str(rec, 'password').replace(/\s+/g, '');
    this.f10Extras.set(serial, {
      baudCode: rateAndPort >> 5,
      tariffs: num(rec, 'tariffs'),
      digits: num(rec, 'digits'),
      collectorAddress: str(rec, 'collectorAddress'),
      classes: num(rec, 'classes'),
      passwordTail: password.slice(8),
    });
    return { serial, pn, port: rateAndPort & 0x1f, protocol: 'dlt645-2007', address: str(rec, 'address'), kind: 'electricity', password: password.slice(0, 8) };
  }

  // AFN 05 -------------------------------------------------------------------------------------

  private async controls(list: DataUnitItem[]): Promise<ItemResult[]> {
    const out: ItemResult[] = [];
    for (const it of list) {
      const pn = pnOf(it);
      const r = { pn, fn: it.fn };
      if (it.fn === 1 || it.fn === 2) {
        if (pn === 0) {
          out.push({ ...r, ok: false });
          continue;
        }
        const result = await this.core.control(pn, it.fn === 1 ? 'trip' : 'allow-close');
        if (!result.ok) this.log(`AFN 05 F${it.fn} p${pn}: ${result.reason} (${result.detail})`);
        out.push({ ...r, ok: result.ok });
      } else if (it.fn === 31 && pn === 0 && it.value !== null) {
        const ms = this.parseA1(it.value.clock);
        if (ms === null) {
          this.log(`AFN 05 F31: clock ${JSON.stringify(it.value.clock)} is not a valid time`);
          out.push({ ...r, ok: false });
        } else {
          this.core.setTime(ms);
          this.log(`AFN 05 F31: terminal clock set to ${this.localText(ms)}`);
          out.push({ ...r, ok: true });
        }
      } else {
        this.log(`AFN 05 F${it.fn} p${pn}: not served`);
        out.push({ ...r, ok: false });
      }
    }
    return out;
  }

  // AFN 09 -------------------------------------------------------------------------------------

  private configuration(it: DataUnitItem): Piece[] {
    if (it.fn !== 1 || it.pn !== 0) return [];
    const v = this.version;
    const a = (text: string, n: number): string => `ascii:${text.slice(0, n).padEnd(n, ' ')}`;
    return [
      unit(Afn.terminalConfiguration, 0, 1, {
        vendor: a(v.vendor, 4),
        deviceNumber: a(v.deviceNumber, 8),
        softwareVersion: a(v.softwareVersion, 4),
        softwareDate: v.softwareDate,
        capacityCode: a(v.capacityCode, 11),
        protocolVersion: a(v.protocolVersion, 4),
        hardwareVersion: a(v.hardwareVersion, 4),
        hardwareDate: v.hardwareDate,
      }),
    ];
  }

  // AFN 0A -------------------------------------------------------------------------------------

  private query(it: DataUnitItem): Piece[] {
    if (it.pn !== 0) return [];
    if (it.fn === 1) {
      const p = this.params;
      return [
        unit(Afn.queryParameters, 0, 1, {
          rtsDelay20ms: p.rtsDelay20ms,
          tpDelayMinutes: p.tpDelayMinutes,
          timeoutAndRetries: (p.retries << RETRIES_SHIFT) | p.responseTimeoutSeconds,
          conFlags: p.conFlags,
          heartbeatMinutes: p.heartbeatMinutes,
        }),
      ];
    }
    if (it.fn !== 10 && it.fn !== FOUR_METER_FN) return [];
    const wanted = Array.isArray(it.value?.serials) ? (it.value.serials as readonly UnitValue[]).map((s) => num(s, 'serial')) : [];
    const f10 = it.fn === 10;
    const all = this.core.points().filter((p) => (p.protocol === 'dlt645-2007') === f10);
    const bySerial = new Map(all.map((p) => [p.serial, p]));
    const chosen = wanted.length === 0 ? all : wanted.flatMap((s) => bySerial.get(s) ?? []);
    const records = chosen.map((p) => (f10 ? this.toF10(p) : toF249(p)));
    // Record sizes from the dictionary layouts: F10 27 bytes, F249 15 bytes.
    const recordLength = f10 ? 27 : 15;
    return splitList(records, recordLength, 2, (chunk) => unit(Afn.queryParameters, 0, it.fn, { count: chunk.length, meters: chunk }));
  }

  private toF10(p: ArchivePoint): UnitValue {
    const x = this.f10Extras.get(p.serial);
    const password = `${(p.password ?? '00000000').padEnd(8, '0').slice(0, 8)}${x?.passwordTail ?? '0000'}`;
    return {
      serial: p.serial,
      pn: p.pn,
      // D7-D5 baud code: 3 = 2400 bit/s, the RS-485 default (CON-06) [BK], unless set by F10.
      rateAndPort: ((x?.baudCode ?? 3) << 5) | (p.port & 0x1f),
      protocol: ArchiveProtocol.dlt645_2007,
      address: p.address,
      password,
      tariffs: x?.tariffs ?? 4,
      // D3-D2 integer digits - 4 (6 -> 2), D1-D0 decimal digits - 1 (2 -> 1) [BK].
      digits: x?.digits ?? 0x09,
      collectorAddress: x?.collectorAddress ?? '000000000000',
      classes: x?.classes ?? 0,
    };
  }

  // AFN 0C -------------------------------------------------------------------------------------

  private async class1(list: DataUnitItem[]): Promise<Piece[]> {
    const out: Piece[] = [];
    for (const it of list) {
      for (const pn of this.pnsOf(it)) {
        if (it.fn === 2 && pn === 0) {
          out.push(unit(Afn.class1Data, 0, 2, { clock: this.a1(this.core.now()) }));
          continue;
        }
        if ((it.fn !== 129 && it.fn !== FOUR_METER_FN) || pn === 0) continue;
        const point = this.core.point(pn);
        if (!point || (it.fn === 129) !== (point.kind === 'electricity')) continue;
        const r = await this.core.readCurrent(pn);
        if (!r.ok) {
          this.log(`AFN 0C F${it.fn} p${pn}: ${r.reason} (${r.detail})`);
          continue;
        }
        const value = r.value.value;
        const readingTime = this.a15(r.value.readAt);
        if (it.fn === 129 && value.kind === 'electricity') {
          this.push(out, Afn.class1Data, pn, 129, { readingTime, ...tariffs(value) });
        } else if (it.fn === FOUR_METER_FN && value.kind !== 'electricity') {
          const st = value.status ?? 0;
          this.push(out, Afn.class1Data, pn, FOUR_METER_FN, { readingTime, meterType: value.meterType, unit: value.unit, value: value.value, status: toHex(Uint8Array.of(st & 0xff, (st >> 8) & 0xff)) });
        }
      }
    }
    return out;
  }

  // AFN 0D -------------------------------------------------------------------------------------

  private class2(it: DataUnitItem): Piece[] {
    if (it.fn in CURVE_SERIES) return this.curves(it);
    if (it.fn !== 161 && it.fn !== FOUR_METER_FN) return [];
    const day = it.value?.day;
    if (typeof day !== 'string') return [];
    const out: Piece[] = [];
    for (const pn of this.pnsOf(it)) {
      if (pn === 0) continue;
      const d = this.core.daily(pn, day);
      if (!d) continue;
      const readingTime = this.a15(d.readAt);
      const v = d.value;
      if (it.fn === 161 && v.kind === 'electricity') this.push(out, Afn.class2Data, pn, 161, { day, readingTime, ...tariffs(v) });
      else if (it.fn === FOUR_METER_FN && v.kind !== 'electricity') this.push(out, Afn.class2Data, pn, FOUR_METER_FN, { day, readingTime, meterType: v.meterType, unit: v.unit, value: v.value });
    }
    return out;
  }

  /**
   * F81 / F89 / F101 (COL-12): Td_c's n points from its start at its density, from the day curves
   * of the core; the reply repeats the request's Td_c. A point falls on a record when its local
   * time is on the grid of that day's curve (a coarser density takes every k-th record, a span
   * past midnight the next day's curve); a point on no record, or on a record the meter did not
   * give (NaN), is EEH (null). A point for which no day in the span has a curve is left out, as
   * F161 leaves out a day not stored. Density 0 (not frozen), a reserved density or a start that
   * is no real time: nothing for any point (logged).
   */
  private curves(it: DataUnitItem): Piece[] {
    const v = it.value;
    const curveOf = this.core.curve?.bind(this.core);
    if (v === null || curveOf === undefined) return [];
    const series = CURVE_SERIES[it.fn]!;
    const startText = str(v, 'start');
    const density = num(v, 'density');
    const n = num(v, 'pointCount');
    const step = curveDensityMinutes(density);
    const m = /^(\d{4})-(\d\d)-(\d\d) (\d\d):(\d\d)$/.exec(startText);
    const start = m ? { year: +m[1]!, month: +m[2]!, day: +m[3]!, hour: +m[4]!, minute: +m[5]!, second: 0 } : null;
    if (start === null || !isValidCalendar(start) || step === undefined) {
      this.log(`AFN 0D F${it.fn}: Td_c start ${JSON.stringify(startText)}, density ${density}: no such time or interval, nothing answered`);
      return [];
    }
    // Local minutes counted as if the terminal's local time were UTC: days and minutes of the day by plain arithmetic.
    const startMinute = fromCalendar(start, 0) / MINUTE_MS;
    const out: Piece[] = [];
    for (const pn of this.pnsOf(it)) {
      if (pn === 0) continue;
      const days = new Map<number, DailyCurve | undefined>();
      let found = false;
      const points: UnitValue[] = [];
      for (let i = 0; i < n; i++) {
        const t = startMinute + i * step;
        const dayIndex = Math.floor(t / MINUTES_PER_DAY);
        if (!days.has(dayIndex)) days.set(dayIndex, curveOf(pn, dayText(dayIndex)));
        const c = days.get(dayIndex);
        if (c === undefined) {
          points.push({ value: null });
          continue;
        }
        found = true;
        const minuteOfDay = t - dayIndex * MINUTES_PER_DAY;
        const x = minuteOfDay % c.intervalMinutes === 0 ? c[series][minuteOfDay / c.intervalMinutes] : undefined;
        points.push({ value: x === undefined || Number.isNaN(x) ? null : x });
      }
      if (!found) continue;
      this.push(out, Afn.class2Data, pn, it.fn, { start: startText, density, pointCount: n, points });
    }
    return out;
  }

  // AFN 0E -------------------------------------------------------------------------------------

  private class3(it: DataUnitItem): Piece[] {
    if ((it.fn !== 1 && it.fn !== 2) || it.pn !== 0 || it.value === null) return [];
    const important = it.fn === 1;
    const pm = num(it.value, 'pm');
    const pn = num(it.value, 'pn');
    const counters = this.core.eventCounters();
    const selected = this.eventsBetween(important, pm, pn);
    if (important && selected.length > 0 && pn === counters.important) this.deliveredImportant = counters.important;
    const records: UnitValue[] = [];
    for (const e of selected) {
      const r = this.ercRecord(e);
      if (r !== null) records.push(r);
    }
    return splitList(records, 2 + 255, 4, (chunk) => unit(Afn.class3Data, 0, it.fn, { ec1: counters.important, ec2: counters.normal, pm, pn, events: chunk }), true);
  }

  /** Events with pointers pm .. pn - 1 (mod 256); the pointer of the newest event is EC - 1. */
  private eventsBetween(important: boolean, pm: number, pn: number): ConcentratorEvent[] {
    const list = this.core.events(important);
    const counter = important ? this.core.eventCounters().important : this.core.eventCounters().normal;
    const span = (pn - pm + EVENT_POINTER_MOD) % EVENT_POINTER_MOD;
    const out: ConcentratorEvent[] = [];
    const newest = list.slice(-EVENT_POINTER_MOD);
    newest.forEach((e, j) => {
      const pointer = (counter - (newest.length - j) + EVENT_POINTER_MOD * 2) % EVENT_POINTER_MOD;
      if ((pointer - pm + EVENT_POINTER_MOD) % EVENT_POINTER_MOD < span) out.push(e);
    });
    return out;
  }

  /** An event as an ERC record value of the dictionary (times given as ms become A.15 / A.20 text). */
  private ercRecord(e: ConcentratorEvent): UnitValue | null {
    const known = ERC_LAYOUTS[e.erc];
    if (!known) {
      const data = e.fields.data;
      if (typeof data !== 'string') {
        this.log(`ERC ${e.erc} has no layout and no data bytes: left out`);
        return null;
      }
      const bytes = parseHex(data);
      return bytes.ok ? { erc: e.erc, length: bytes.value.length, data } : null;
    }
    const fields: Record<string, number | string | null> = {};
    for (const field of known.layout) {
      const raw = e.fields[field.name];
      const format = 'format' in field ? field.format.id : '';
      if (typeof raw === 'number' && format === 'A.15') fields[field.name] = this.a15(raw);
      else if (typeof raw === 'number' && format === 'A.20') fields[field.name] = this.localText(raw).slice(0, 10);
      else fields[field.name] = raw ?? null;
    }
    return { erc: e.erc, fields };
  }

  // AFN 10 -------------------------------------------------------------------------------------

  private async forward(list: DataUnitItem[]): Promise<Piece[]> {
    const out: Piece[] = [];
    for (const it of list) {
      if (it.fn !== 1 || it.pn !== 0 || it.value === null) continue;
      const port = num(it.value, 'port');
      const content = parseHex(str(it.value, 'content'));
      if (!content.ok) continue;
      const ft = num(it.value, 'frameTimeout');
      // Frame timeout D7 = unit (1 s, else 10 ms), D6-D0 value; byte timeout in 10 ms (PROTOCOLS.md 3.8 [BK]).
      const frameTimeoutMs = (ft & 0x80 ? 1000 : 10) * (ft & 0x7f) || DEFAULT_FORWARD_FRAME_TIMEOUT_MS;
      const byteTimeoutMs = num(it.value, 'byteTimeout') * 10;
      const r = await this.core.forward(port, content.value, { frameTimeoutMs, byteTimeoutMs });
      if (!r.ok) {
        this.log(`AFN 10 F1 port ${port}: ${r.reason} (${r.detail})`);
        continue;
      }
      if (r.value === null) {
        this.log(`AFN 10 F1 port ${port}: no reply within ${frameTimeoutMs} ms`);
        continue;
      }
      out.push(unit(Afn.dataForwarding, 0, 1, { port, content: toHex(r.value) }));
    }
    return out;
  }

  // -------------------------------------------------------------------------------------------
  // Active reports

  private coreEvent(e: ConcentratorEvent): void {
    if (!e.important) return;
    const counters = this.core.eventCounters();
    const record = this.ercRecord(e);
    if (record === null) return;
    const pointer = (counters.important - 1 + EVENT_POINTER_MOD) % EVENT_POINTER_MOD;
    const confirmWanted = (this.params.conFlags & CON_CLASS3) !== 0;
    try {
      this.reportFrame(0, 0, confirmWanted, record, pointer, counters);
    } catch (err) {
      // A core event whose fields do not fit its ERC layout: not reported (still readable as bytes by nobody); logged.
      this.log(`ERC ${e.erc} event not reportable: ${(err as Error).message}`);
      return;
    }
    this.stats.reportsQueued++;
    this.uplink.report({
      describe: `event report ERC ${e.erc}`,
      confirm: confirmWanted,
      build: (pseq, pfc) => this.reportFrame(pseq, pfc, confirmWanted, record, pointer, counters),
      onConfirmed: () => {
        // Delivered up to this event, unless the master had already read further.
        const upTo = (pointer + 1) % EVENT_POINTER_MOD;
        if (this.eventsAfter(this.deliveredImportant, upTo)) this.deliveredImportant = upTo;
      },
    });
  }

  /** Whether pointer `b` is at or after `a` among the important events kept (mod 256). */
  private eventsAfter(a: number, b: number): boolean {
    const counter = this.core.eventCounters().important;
    const dist = (x: number): number => (counter - x + EVENT_POINTER_MOD) % EVENT_POINTER_MOD;
    return dist(b) <= dist(a);
  }

  private reportFrame(pseq: number, pfc: number, con: boolean, record: UnitValue, pointer: number, counters: { important: number; normal: number }): Uint8Array {
    const data = unit(Afn.class3Data, 0, 1, { ec1: counters.important, ec2: counters.normal, pm: pointer, pn: (pointer + 1) % EVENT_POINTER_MOD, events: [record] });
    const tp = this.params.tpDelayMinutes > 0 ? this.timeTag(pfc, this.params.tpDelayMinutes) : null;
    return encodeFrame({
      control: makeControl({ dir: true, prm: true, functionCode: PrmFunction.userData }),
      address: this.addressFor(0),
      afn: Afn.class3Data,
      seq: makeSeq({ seq: pseq, con, tpv: tp !== null }),
      data,
      tp,
    });
  }

  // -------------------------------------------------------------------------------------------
  // Frames

  /** The reply's frames: pieces packed in order, FIR on the first, FIN on the last, RSEQ counting up. */
  private replyFrames(request: Gw1376Message, reply: Reply): Uint8Array[] {
    const tp = request.frame.aux.tp;
    const budget = MAX_USER_DATA_NETWORK - FIXED_USER_DATA_LENGTH - EC_LENGTH - (tp ? TP_LENGTH : 0);
    const groups: Piece[][] = [[]];
    let used = 0;
    for (const p of reply.pieces) {
      if (p.length > budget) throw new Error(`a data unit of ${p.length} bytes does not fit one frame (${budget})`);
      if (used + p.length > budget && groups[groups.length - 1]!.length > 0) {
        groups.push([]);
        used = 0;
      }
      groups[groups.length - 1]!.push(p);
      used += p.length;
    }
    const acd = this.accessDemand;
    const ec = acd ? this.core.eventCounters() : null;
    const rseq0 = request.frame.seq.seq;
    return groups.map((g, i) => {
      const position: FramePosition = groups.length === 1 ? 'single' : i === 0 ? 'first' : i === groups.length - 1 ? 'last' : 'middle';
      return encodeFrame({
        control: makeControl({ dir: true, prm: false, fcbOrAcd: acd, functionCode: reply.functionCode }),
        address: this.addressFor(request.frame.address.msa),
        afn: reply.afn,
        seq: makeSeq({ seq: (rseq0 + i) & 0x0f, position, tpv: tp !== null }),
        data: concatBytes(...g),
        ec,
        tp,
      });
    });
  }

  /**
   * Adds one point's data unit; a value the layout cannot carry (a reading above A.14's
   * 999999.9999, a tariff count over 255) leaves that point out with a log line instead of
   * failing the whole reply.
   */
  private push(out: Piece[], afn: number, pn: number, fn: number, value: UnitValue): void {
    try {
      out.push(unit(afn, pn, fn, value));
    } catch (e) {
      this.log(`AFN ${hex(afn)} F${fn} p${pn}: ${(e as Error).message}: left out`);
    }
  }

  private addressFor(msa: number): Address {
    return { areaCode: this.o.address.areaCode, terminal: this.o.address.terminal, msa, group: false };
  }

  private pnsOf(it: DataUnitItem): number[] {
    return it.pn === 'all' ? this.core.points().map((p) => p.pn) : [it.pn];
  }

  // -------------------------------------------------------------------------------------------
  // Time in the terminal's local time

  private timeOfMonth(): { day: number; hour: number; minute: number; second: number; daysInPreviousMonth: number } {
    const c = toCalendar(this.core.now(), this.offset);
    const lastOfPrevious = new Date(Date.UTC(c.year, c.month - 1, 0)).getUTCDate();
    return { day: c.day, hour: c.hour, minute: c.minute, second: c.second, daysInPreviousMonth: lastOfPrevious };
  }

  private timeTag(pfc: number, delayMinutes: number): TimeTag {
    const c = toCalendar(this.core.now(), this.offset);
    return { pfc, day: c.day, hour: c.hour, minute: c.minute, second: c.second, delayMinutes };
  }

  /** "YYYY-MM-DD hh:mm:ss" local. */
  private localText(ms: number): string {
    const c = toCalendar(ms, this.offset);
    const p = (n: number, w = 2): string => String(n).padStart(w, '0');
    return `${p(c.year, 4)}-${p(c.month)}-${p(c.day)} ${p(c.hour)}:${p(c.minute)}:${p(c.second)}`;
  }

  private a15(ms: number): string {
    return this.localText(ms).slice(0, 16);
  }

  /** A.1: week 1..7 = Monday..Sunday [BK]. */
  private a1(ms: number): UnitValue[string] {
    const c = toCalendar(ms, this.offset);
    return { time: this.localText(ms), week: c.weekday === 0 ? 7 : c.weekday };
  }

  private parseA1(v: unknown): number | null {
    const time = typeof v === 'object' && v !== null ? (v as { time?: unknown }).time : undefined;
    const m = typeof time === 'string' ? /^(\d{4})-(\d\d)-(\d\d) (\d\d):(\d\d):(\d\d)$/.exec(time) : null;
    if (!m) return null;
    const t = { year: +m[1]!, month: +m[2]!, day: +m[3]!, hour: +m[4]!, minute: +m[5]!, second: +m[6]! };
    return isValidCalendar(t) ? fromCalendar(t, this.offset) : null;
  }

  private log(line: string): void {
    this.o.logger?.debug(`terminal ${this.o.address.areaCode}/${this.o.address.terminal}: ${line}`);
  }
}

export function createConcentratorTerminal(options: ConcentratorTerminalOptions): ConcentratorTerminal {
  return new ConcentratorTerminal(options);
}

/** A concentrator: its core and its 1376.1 terminal, started and stopped together. */
export interface Concentrator {
  readonly core: ConcentratorCore;
  readonly terminal: ConcentratorTerminal;
  /** Starts the core's daily task and the uplink (dial, login). */
  start(): void;
  stop(): Promise<void>;
  /**
   * Power off for `offMs`, then on (ROB-08): the uplink drops, the core restarts (archive, stored
   * data and events kept, ERC 14), the terminal dials and logs in again.
   */
  powerCycle(offMs: number): Promise<void>;
}

/**
 * The terminal over a given core (`createConcentrator` in index.ts builds the core first, once the
 * core of part B is there).
 */
export function assembleConcentrator(core: ConcentratorCore, options: Omit<ConcentratorTerminalOptions, 'core'>): Concentrator {
  const terminal = createConcentratorTerminal({ ...options, core });
  return {
    core,
    terminal,
    start() {
      core.start();
      terminal.start();
    },
    async stop() {
      await terminal.stop();
      core.stop();
    },
    powerCycle(offMs: number) {
      return terminal.uplink.powerCycle(() => core.reboot(offMs));
    },
  };
}

// ---------------------------------------------------------------------------------------------
// Helpers

function checkParameters(p: TerminalParameters): TerminalParameters {
  const check = (name: keyof TerminalParameters, min: number, max: number): void => {
    const v = p[name];
    if (!Number.isInteger(v) || v < min || v > max) throw new RangeError(`terminal parameter ${name} must be an integer ${min}..${max}, got ${String(v)}`);
  };
  check('rtsDelay20ms', 0, 255);
  check('tpDelayMinutes', 0, 255);
  check('responseTimeoutSeconds', 1, TIMEOUT_MASK);
  check('retries', 0, MAX_RETRIES);
  check('conFlags', 0, 255);
  check('heartbeatMinutes', 1, 255);
  check('redialIntervalSeconds', 1, 86_400);
  return p;
}

function confirm(): Reply {
  return { afn: Afn.confirmDeny, functionCode: RespFunction.confirm, pieces: [encodeUnitSpecs(Afn.confirmDeny, true, [{ pn: 0, fn: 1 }])] };
}

function deny(functionCode: number = RespFunction.confirm): Reply {
  return { afn: Afn.confirmDeny, functionCode, pieces: [encodeUnitSpecs(Afn.confirmDeny, true, [{ pn: 0, fn: 2 }])] };
}

function items0Fn(r: Reply): number {
  // The AFN 00 piece is DA1 DA2 DT1 DT2: DT1 bit 0 = F1, bit 1 = F2, bit 2 = F3.
  const dt1 = r.pieces[0]?.[2] ?? 0;
  return dt1 === 1 ? 1 : dt1 === 2 ? 2 : 3;
}

/** AFN 00 F1 when every item is accepted, F2 when none is, F3 with ERR per item otherwise. */
function confirmReply(afn: number, results: readonly ItemResult[]): Reply {
  if (results.length > 0 && results.every((r) => r.ok)) return confirm();
  if (results.every((r) => !r.ok)) return deny();
  const list = results.map((r) => {
    const [da1, da2] = encodeDa([r.pn]);
    const [dt1, dt2] = encodeDt([r.fn]);
    return { da: toHex(Uint8Array.of(da1, da2)), dt: toHex(Uint8Array.of(dt1, dt2)), err: r.ok ? 0 : 1 };
  });
  return { afn: Afn.confirmDeny, functionCode: RespFunction.confirm, pieces: [encodeUnitSpecs(Afn.confirmDeny, true, [{ pn: 0, fn: 3, value: { afn, items: list } }])] };
}

/** One uplink data unit through the dictionary. */
function unit(afn: number, pn: number, fn: number, value: UnitValue): Piece {
  const spec: UnitSpec = { pn, fn, value };
  return encodeUnitSpecs(afn, true, [spec]);
}

/**
 * A list of records cut into units that each fit a frame: `make(chunk)` encodes one unit;
 * `recordLength` bounds one record, `headLength` the unit's fixed part. An empty list gives one
 * unit only when `emptyUnit` (events: the counters are worth answering).
 */
function splitList(records: readonly UnitValue[], recordLength: number, headLength: number, make: (chunk: UnitValue[]) => Piece, emptyUnit = false): Piece[] {
  if (records.length === 0) return emptyUnit ? [make([])] : [];
  const budget = MAX_USER_DATA_NETWORK - FIXED_USER_DATA_LENGTH - EC_LENGTH - TP_LENGTH - 4 - headLength;
  const per = Math.max(1, Math.floor(budget / recordLength));
  const out: Piece[] = [];
  for (let i = 0; i < records.length; i += per) out.push(make(records.slice(i, i + per)));
  return out;
}

function tariffs(v: Extract<PointValue, { kind: 'electricity' }>): UnitValue {
  return { tariffCount: Math.max(0, v.forwardActiveKwh.length - 1), forwardActive: v.forwardActiveKwh.map((x) => ({ value: x })) };
}

function fromF249(rec: UnitValue): ArchivePoint | string {
  const protocol = num(rec, 'protocol');
  const meterType = num(rec, 'meterType');
  const address = str(rec, 'address');
  const serial = num(rec, 'serial');
  const base = { serial, pn: num(rec, 'pn'), port: num(rec, 'port'), meterType };
  if (protocol === ArchiveProtocol.cjt188) {
    const kind = cjt188Kind(meterType);
    return kind ? { ...base, protocol: 'cjt188', address, kind } : `CJ/T 188 meter type ${hex(meterType)} is not water, gas or heat`;
  }
  if (protocol === ArchiveProtocol.mbus) {
    const primary = Number(address);
    const kind = mbusKind(meterType);
    if (!(primary >= 1 && primary <= 250)) return `M-Bus primary address ${address} is not 1..250`;
    return kind ? { ...base, protocol: 'mbus', address: String(primary), kind } : `M-Bus medium ${hex(meterType)} is not water, gas or heat`;
  }
  return `protocol ${protocol} is not a four-meter protocol (40 CJ/T 188, 41 M-Bus)`;
}

function toF249(p: ArchivePoint): UnitValue {
  return {
    serial: p.serial,
    pn: p.pn,
    port: p.port,
    protocol: p.protocol === 'cjt188' ? ArchiveProtocol.cjt188 : ArchiveProtocol.mbus,
    meterType: p.meterType ?? 0,
    address: p.address.padStart(14, '0'),
  };
}

/** CJ/T 188 meter type T: 1xH water, 2xH heat, 3xH gas (cjt188 meterTypeInfo's families). */
function cjt188Kind(t: number): MeterKind | null {
  const family = t >> 4;
  return family === 1 ? 'water' : family === 2 ? 'heat' : family === 3 ? 'gas' : null;
}

/** M-Bus medium (EN 13757-3, harness/protocols/mbus MEDIA). */
function mbusKind(m: number): MeterKind | null {
  if ([0x04, 0x0a, 0x0b, 0x0c, 0x0d].includes(m)) return 'heat';
  if ([0x06, 0x07, 0x15, 0x16, 0x17].includes(m)) return 'water';
  if (m === 0x03) return 'gas';
  return null;
}

/** AFN 0D curve Fn -> the DailyCurve series it answers (COL-12; gw1376 CurveFn). */
const CURVE_SERIES: Readonly<Record<number, 'activePowerKw' | 'voltageAV' | 'forwardActiveKwh'>> = {
  [CurveFn.activePower]: 'activePowerKw',
  [CurveFn.phaseAVoltage]: 'voltageAV',
  [CurveFn.forwardActiveEnergy]: 'forwardActiveKwh',
};
const MINUTE_MS = 60_000;
const MINUTES_PER_DAY = 1440;

/** "YYYY-MM-DD" of a day counted from 1970-01-01 (local calendar arithmetic, no clock read). */
function dayText(dayIndex: number): string {
  const c = toCalendar(dayIndex * MINUTES_PER_DAY * MINUTE_MS, 0);
  return `${String(c.year).padStart(4, '0')}-${String(c.month).padStart(2, '0')}-${String(c.day).padStart(2, '0')}`;
}

function pnOf(it: DataUnitItem): number {
  return it.pn === 'all' ? 0 : it.pn;
}

function num(v: UnitValue, name: string): number {
  const x = v[name];
  return typeof x === 'number' ? x : 0;
}

function str(v: UnitValue, name: string): string {
  const x = v[name];
  return typeof x === 'string' ? x : '';
}

function hex(b: number): string {
  return `${b.toString(16).toUpperCase().padStart(2, '0')}H`;
}

function tpText(tp: TimeTag): string {
  const p = (n: number): string => String(n).padStart(2, '0');
  return `day ${p(tp.day)} ${p(tp.hour)}:${p(tp.minute)}:${p(tp.second)}`;
}

