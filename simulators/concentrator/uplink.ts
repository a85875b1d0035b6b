/**
 * The concentrator's uplink channel (Q/GDW 1376.1 terminal side, PROTOCOLS.md section 3): dial the
 * master station through an injected `connect()` (a TCP client in production, a memory pair in
 * tests), log in first on every connection, send heartbeats, redial with backoff when the link
 * drops, and carry the terminal's confirmed active frames. Requests from the master are handed to
 * the terminal (terminal.ts) as decoded frames; the uplink knows nothing of their AFNs.
 *
 * Rules (requirement ids: ../../shared/requirements/REQUIREMENTS.md):
 * - Login (AFN 02 F1) and heartbeat (AFN 02 F3): C = C9H (DIR 1, PRM 1, function 9 link test),
 *   SEQ single frame with CON, no data (CLK-02 [BK]: the 2009 heartbeat carries no clock; kept
 *   so), MSA 0 (3.3: terminal-initiated frames).
 * - Every frame that needs the master's confirmation (login, heartbeat, important event, CON-04)
 *   is retransmitted with the same PSEQ after `timeoutMs` without a confirmation, `retries` times
 *   (AFN 04 F1 D13-D12 "retransmissions": 1 + retries transmissions in all; default 3, CON-02).
 *   A confirmation is a downlink PRM = 0 AFN 00 frame for this terminal whose RSEQ is the PSEQ
 *   waited for; F1 (or an all-correct F3) confirms, F2 (or F3 with an error) denies. Any other
 *   PRM = 0 frame (a duplicate confirmation, ROB-10) has no effect and is logged.
 * - Only one confirmed frame is outstanding at a time (they queue).
 * - A login or heartbeat that is not confirmed (or is denied) drops the link; the uplink redials
 *   after the F8 redial interval (CON-03, default 60 s), doubling after each failed dial or login
 *   up to 30 min [BK], back to the interval after a confirmed login. The first dial is immediate;
 *   every redial after a drop waits the interval (ROB-09).
 * - Heartbeats: `heartbeatMinutes` after the login or the previous heartbeat was confirmed.
 * - Active reports that are not confirmed stay queued and go again after the next login (ROB-09:
 *   "unconfirmed active reports are resent"); they do not drop the link by themselves.
 * - Received bytes go through the 1376.1 stream scanner (flushed after `SILENCE_MS` of silence);
 *   bytes that are not a frame, frames for another terminal and uplink frames are logged and
 *   otherwise ignored. Nothing here throws on wire bytes.
 *
 * Time only from the injected Clock.
 */
import { EventEmitter } from 'node:events';
import type { Clock, TimerHandle } from '../../harness/core/clock.ts';
import { toHex } from '../../harness/core/bytes.ts';
import { FlushOnSilence } from '../../harness/core/silence.ts';
import type { Link } from '../../harness/links/link.ts';
import {
  Afn,
  buildFrame,
  Gw1376FrameScanner,
  isBroadcast,
  items,
  PrmFunction,
  type Address,
  type Gw1376Message,
  type Gw1376ScanEvent,
} from '../../harness/protocols/gw1376/index.ts';

/**
 * Silence after which a partial frame on the uplink is given up and the scanner rescans what
 * follows it [BK: MeterLab's choice; on TCP a frame arrives within one or a few segments].
 */
export const SILENCE_MS = 5_000;
/** Largest redial interval after repeated failures: 30 min [BK]. */
export const MAX_REDIAL_INTERVAL_MS = 30 * 60_000;

/** Where the terminal writes its log lines (one per frame handled, refused or sent). */
export interface TerminalLogger {
  debug(message: string): void;
}

/** The timings the uplink reads each time it needs them (AFN 04 F1 / F8 can change them). */
export interface UplinkTiming {
  /** Wait for a confirmation, ms (CON-02 default 5 s). */
  readonly timeoutMs: number;
  /** Retransmissions after the first transmission (CON-02 default 3). */
  readonly retries: number;
  /** Heartbeat period, ms (CON-02 default 15 min). */
  readonly heartbeatMs: number;
  /** F8 redial interval, ms (CON-03; default 60 s). */
  readonly redialMs: number;
}

export type UplinkState = 'stopped' | 'connecting' | 'login' | 'online' | 'waiting' | 'rebooting';

/** What became of a frame that needed the master's confirmation. */
export type ConfirmOutcome = 'confirmed' | 'denied' | 'unconfirmed' | 'closed';

/** A queued active report: its frame for a given PSEQ, and what to do once the master confirmed it. */
export interface ActiveReport {
  readonly describe: string;
  /** Whether the frame asks for confirmation (SEQ.CON); without it the frame is sent once. */
  readonly confirm: boolean;
  /** `pfc` is the terminal's 8-bit frame counter of this frame (Tp), `pseq` its low 4 bits (3.4). */
  build(pseq: number, pfc: number): Uint8Array;
  onConfirmed(): void;
}

export interface UplinkOptions {
  readonly clock: Clock;
  readonly connect: () => Promise<Link>;
  /** A1 and A2 of this terminal. */
  readonly address: { readonly areaCode: string; readonly terminal: number };
  readonly timing: () => UplinkTiming;
  /** A downlink request (PRM = 1) for this terminal, or broadcast; `raw` is its bytes. */
  readonly onRequest: (message: Gw1376Message, raw: Uint8Array) => void;
  /** A frame for this terminal whose data units do not decode (the frame itself did). */
  readonly onUndecodable?: (raw: Uint8Array, reason: string) => void;
  /** Defect: log in, then never send a heartbeat. */
  readonly noHeartbeat?: boolean;
  readonly logger?: TerminalLogger;
}

export interface UplinkEvents {
  state: [state: UplinkState];
  /** Every frame written ('out') or taken off the link ('in'). */
  frame: [dir: 'in' | 'out', bytes: Uint8Array];
  /** Bytes that were not a usable frame, and why. */
  rejected: [e: { readonly reason: string; readonly bytes: Uint8Array }];
}

interface Waiter {
  readonly pseq: number;
  readonly resolve: (outcome: ConfirmOutcome | null) => void;
}

export interface UplinkStats {
  dials: number;
  failedDials: number;
  logins: number;
  heartbeats: number;
  /** Transmissions of confirmed frames beyond the first. */
  retransmissions: number;
  reportsConfirmed: number;
}

export class Gw1376Uplink extends EventEmitter<UplinkEvents> {
  private readonly o: UplinkOptions;
  private link: Link | null = null;
  private receiver: FlushOnSilence<Gw1376ScanEvent> | null = null;
  private currentState: UplinkState = 'stopped';
  /** Terminal PFC: PSEQ of its initiated frames is the low 4 bits (3.4). */
  private pfc = 0;
  private waiter: Waiter | null = null;
  private exchangeChain: Promise<unknown> = Promise.resolve();
  private heartbeatTimer: TimerHandle | undefined;
  private redialTimer: TimerHandle | undefined;
  private failures = 0;
  private readonly reports: ActiveReport[] = [];
  private flushing = false;
  /** Bumped on every connection: work started for an older connection stops. */
  private generation = 0;
  readonly stats: UplinkStats = { dials: 0, failedDials: 0, logins: 0, heartbeats: 0, retransmissions: 0, reportsConfirmed: 0 };

  constructor(options: UplinkOptions) {
    super();
    this.o = options;
  }

  get state(): UplinkState {
    return this.currentState;
  }

  get online(): boolean {
    return this.currentState === 'online';
  }

  /** Reports queued and not yet confirmed. */
  get pendingReports(): number {
    return this.reports.length;
  }

  /** Dials at once. */
  start(): void {
    if (this.currentState !== 'stopped') return;
    this.failures = 0;
    void this.dial();
  }

  /** Closes the link, clears every timer; queued reports are kept for a later start(). */
  async stop(): Promise<void> {
    this.setState('stopped');
    this.generation++;
    this.clearTimers();
    this.resolveWaiter('closed');
    await this.closeLink();
  }

  /**
   * Power cycle (AFN 01 F1): the link is closed, `work` runs (the core's reboot), then the
   * terminal dials at once, as a terminal does after booting.
   */
  async powerCycle(work: () => Promise<void>): Promise<void> {
    if (this.currentState === 'stopped') return;
    this.setState('rebooting');
    this.generation++;
    this.clearTimers();
    this.resolveWaiter('closed');
    await this.closeLink();
    try {
      await work();
    } catch (e) {
      this.log(`power cycle: ${(e as Error).message}`);
    }
    if (this.currentState !== 'rebooting') return; // stopped meanwhile
    this.failures = 0;
    void this.dial();
  }

  /** The heartbeat period changed (AFN 04 F1): the next heartbeat is one new period from now. */
  rescheduleHeartbeat(): void {
    if (this.heartbeatTimer === undefined) return;
    this.scheduleHeartbeat(this.generation);
  }

  /** Writes a reply frame (no confirmation expected). False when there is no link. */
  async send(bytes: Uint8Array): Promise<boolean> {
    const link = this.link;
    if (!link?.isOpen) {
      this.log(`not sent (no link): ${toHex(bytes)}`);
      return false;
    }
    this.emit('frame', 'out', bytes);
    try {
      await link.write(bytes);
      return true;
    } catch (e) {
      this.log(`write failed: ${(e as Error).message}`);
      return false;
    }
  }

  /** Queues an active report; it goes out now if the terminal is online, else after the next login. */
  report(r: ActiveReport): void {
    this.reports.push(r);
    if (this.online) this.flushReportsSafely(this.generation);
  }

  // -------------------------------------------------------------------------------------------
  // Connection

  private async dial(): Promise<void> {
    const generation = ++this.generation;
    this.setState('connecting');
    this.stats.dials++;
    let link: Link;
    try {
      link = await this.o.connect();
    } catch (e) {
      if (generation !== this.generation) return;
      this.log(`connect failed: ${(e as Error).message}`);
      this.stats.failedDials++;
      this.failed(generation);
      return;
    }
    if (generation !== this.generation || (this.currentState !== 'connecting')) {
      void link.close().catch(() => undefined);
      return;
    }
    this.attach(link, generation);
    this.setState('login');
    const outcome = await this.exchange('login', (pseq) => this.linkTestFrame(1, pseq), generation);
    if (generation !== this.generation) return;
    if (outcome !== 'confirmed') {
      this.log(`login ${outcome}: dropping the link`);
      this.stats.failedDials++;
      await this.drop(generation);
      return;
    }
    this.stats.logins++;
    this.failures = 0;
    this.setState('online');
    this.scheduleHeartbeat(generation);
    this.flushReportsSafely(generation);
  }

  private attach(link: Link, generation: number): void {
    this.link = link;
    const receiver = new FlushOnSilence<Gw1376ScanEvent>({
      scanner: new Gw1376FrameScanner(),
      clock: this.o.clock,
      silenceMs: SILENCE_MS,
      deliver: (events) => {
        for (const e of events) this.onScanEvent(e);
      },
    });
    this.receiver = receiver;
    link.on('data', (chunk, timing) => {
      if (generation === this.generation && this.link === link) receiver.push(chunk, timing);
    });
    link.on('error', (e) => this.log(`link error: ${e.message}`));
    link.on('close', () => {
      if (generation !== this.generation || this.link !== link) return;
      this.log('link closed by the peer');
      receiver.reset();
      void this.drop(generation);
    });
  }

  /** Closes the link of `generation` and schedules a redial. */
  private async drop(generation: number): Promise<void> {
    if (generation !== this.generation) return;
    this.generation++;
    this.clearTimers();
    this.resolveWaiter('closed');
    await this.closeLink();
    this.failed(this.generation);
  }

  /** Waits the redial interval (doubled per consecutive failure, capped) and dials again. */
  private failed(generation: number): void {
    if (generation !== this.generation || this.currentState === 'stopped' || this.currentState === 'rebooting') return;
    const base = this.o.timing().redialMs;
    const delay = Math.min(MAX_REDIAL_INTERVAL_MS, base * 2 ** Math.min(this.failures, 30));
    this.failures++;
    this.setState('waiting');
    this.log(`redial in ${delay / 1000} s`);
    this.redialTimer = this.o.clock.setTimeout(() => {
      this.redialTimer = undefined;
      if (generation === this.generation && this.currentState === 'waiting') void this.dial();
    }, delay);
  }

  private async closeLink(): Promise<void> {
    const link = this.link;
    this.link = null;
    this.receiver?.reset();
    this.receiver = null;
    if (link?.isOpen) await link.close().catch(() => undefined);
  }

  // -------------------------------------------------------------------------------------------
  // Confirmed frames

  private scheduleHeartbeat(generation: number): void {
    this.o.clock.clearTimeout(this.heartbeatTimer);
    this.heartbeatTimer = undefined;
    if (this.o.noHeartbeat) return;
    this.heartbeatTimer = this.o.clock.setTimeout(() => {
      this.heartbeatTimer = undefined;
      void this.heartbeat(generation);
    }, this.o.timing().heartbeatMs);
  }

  private async heartbeat(generation: number): Promise<void> {
    if (generation !== this.generation || !this.online) return;
    const outcome = await this.exchange('heartbeat', (pseq) => this.linkTestFrame(3, pseq), generation);
    if (generation !== this.generation) return;
    if (outcome === 'confirmed') {
      this.stats.heartbeats++;
      this.scheduleHeartbeat(generation);
      return;
    }
    this.log(`heartbeat ${outcome}: dropping the link`);
    await this.drop(generation);
  }

  private flushReportsSafely(generation: number): void {
    this.flushReports(generation).catch((e: unknown) => this.log(`report not sent: ${(e as Error).message}`));
  }

  private async flushReports(generation: number): Promise<void> {
    if (this.flushing) return;
    this.flushing = true;
    try {
      while (this.reports.length > 0 && generation === this.generation && this.online) {
        const r = this.reports[0]!;
        if (!r.confirm) {
          const pfc = this.takePfc();
          await this.send(r.build(pfc & 0x0f, pfc));
          this.reports.shift();
          r.onConfirmed();
          continue;
        }
        const outcome = await this.exchange(r.describe, (pseq, pfc) => r.build(pseq, pfc), generation);
        if (outcome === 'confirmed' || outcome === 'denied') {
          // A deny is the master's answer too: the report was received; the event stays readable by AFN 0E.
          this.reports.shift();
          if (outcome === 'confirmed') {
            this.stats.reportsConfirmed++;
            r.onConfirmed();
          }
          continue;
        }
        this.log(`${r.describe} ${outcome}: kept for the next login`);
        break;
      }
    } finally {
      this.flushing = false;
    }
  }

  /** The next PFC (8 bits); its low 4 bits are the frame's PSEQ. */
  private takePfc(): number {
    const pfc = this.pfc;
    this.pfc = (this.pfc + 1) & 0xff;
    return pfc;
  }

  /** One confirmed frame: queued behind any other, retransmitted until confirmed or out of retries. */
  private exchange(describe: string, build: (pseq: number, pfc: number) => Uint8Array, generation: number): Promise<ConfirmOutcome> {
    const run = async (): Promise<ConfirmOutcome> => {
      if (generation !== this.generation) return 'closed';
      const pfc = this.takePfc();
      const pseq = pfc & 0x0f;
      const bytes = build(pseq, pfc);
      const { timeoutMs, retries } = this.o.timing();
      for (let attempt = 0; attempt <= retries; attempt++) {
        if (generation !== this.generation || !this.link?.isOpen) return 'closed';
        if (attempt > 0) this.stats.retransmissions++;
        this.log(`-> ${describe} PSEQ ${pseq} (transmission ${attempt + 1}/${retries + 1})`);
        const answered = this.waitConfirmation(pseq, timeoutMs);
        await this.send(bytes);
        const outcome = await answered;
        if (outcome !== null) return outcome;
      }
      return 'unconfirmed';
    };
    const p = this.exchangeChain.then(run, run);
    this.exchangeChain = p.catch(() => undefined);
    return p;
  }

  private waitConfirmation(pseq: number, timeoutMs: number): Promise<ConfirmOutcome | null> {
    return new Promise((resolve) => {
      const timer = this.o.clock.setTimeout(() => {
        if (this.waiter === waiter) this.waiter = null;
        resolve(null);
      }, timeoutMs);
      const waiter: Waiter = {
        pseq,
        resolve: (outcome) => {
          this.o.clock.clearTimeout(timer);
          if (this.waiter === waiter) this.waiter = null;
          resolve(outcome);
        },
      };
      this.waiter = waiter;
    });
  }

  private resolveWaiter(outcome: ConfirmOutcome): void {
    this.waiter?.resolve(outcome);
  }

  // -------------------------------------------------------------------------------------------
  // Receiving

  private onScanEvent(e: Gw1376ScanEvent): void {
    if (e.type === 'discarded') {
      this.log(`discarded ${e.bytes.length} byte(s) (${e.error.code} at ${e.error.offset}: ${e.error.message})`);
      this.emit('rejected', { reason: `${e.error.code}: ${e.error.message}`, bytes: e.bytes });
      return;
    }
    const raw = e.decoded.raw;
    this.emit('frame', 'in', raw);
    const f = e.decoded.frame;
    if (f.control.dir) {
      this.log(`ignored an uplink frame (DIR 1): ${toHex(raw)}`);
      return;
    }
    if (!this.isForMe(f.address)) {
      this.log(`ignored a frame for ${f.address.areaCode}/${f.address.terminal}${f.address.group ? ' (group)' : ''}`);
      return;
    }
    const m = e.message;
    if (!m.ok) {
      this.log(`data units do not decode (${m.error.code} at ${m.error.offset}: ${m.error.message}): silence`);
      this.emit('rejected', { reason: `${m.error.code}: ${m.error.message}`, bytes: raw });
      this.o.onUndecodable?.(raw, m.error.message);
      return;
    }
    if (!f.control.prm) {
      this.onResponse(m.value);
      return;
    }
    this.o.onRequest(m.value, raw);
  }

  private isForMe(a: Address): boolean {
    if (isBroadcast(a)) return true;
    return !a.group && a.terminal === this.o.address.terminal && a.areaCode.toUpperCase() === this.o.address.areaCode.toUpperCase();
  }

  /** A PRM = 0 frame from the master: the confirmation awaited, or nothing (ROB-10). */
  private onResponse(m: Gw1376Message): void {
    const rseq = m.frame.seq.seq;
    const w = this.waiter;
    if (m.frame.afn !== Afn.confirmDeny || w === null || w.pseq !== rseq) {
      this.log(`ignored a response (AFN ${m.frame.afn}, RSEQ ${rseq}): no frame waits for it`);
      return;
    }
    const units = items(m);
    const fn = units[0]?.fn;
    let outcome: ConfirmOutcome;
    if (fn === 1) outcome = 'confirmed';
    else if (fn === 3) {
      const list = units[0]?.value?.items;
      const allOk = Array.isArray(list) && list.every((x) => (x as { err?: unknown }).err === 0);
      outcome = allOk ? 'confirmed' : 'denied';
    } else outcome = 'denied';
    this.log(`<- ${outcome} RSEQ ${rseq}`);
    w.resolve(outcome);
  }

  // -------------------------------------------------------------------------------------------

  /** AFN 02 F1 login / F3 heartbeat (F2 logout is not sent: the link just drops). */
  private linkTestFrame(fn: 1 | 3, pseq: number): Uint8Array {
    return buildFrame({
      control: { dir: true, prm: true, functionCode: PrmFunction.linkTest },
      address: { areaCode: this.o.address.areaCode, terminal: this.o.address.terminal, msa: 0, group: false },
      afn: Afn.linkTest,
      seq: { seq: pseq, con: true },
      units: [{ pn: 0, fn }],
    });
  }

  private clearTimers(): void {
    this.o.clock.clearTimeout(this.heartbeatTimer);
    this.heartbeatTimer = undefined;
    this.o.clock.clearTimeout(this.redialTimer);
    this.redialTimer = undefined;
  }

  private setState(s: UplinkState): void {
    if (this.currentState === s) return;
    this.currentState = s;
    this.emit('state', s);
  }

  private log(line: string): void {
    this.o.logger?.debug(`terminal ${this.o.address.areaCode}/${this.o.address.terminal}: ${line}`);
  }
}
