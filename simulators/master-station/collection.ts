/**
 * The reference master station's collection from concentrators over Q/GDW 1376.1 (issue 12,
 * part E; REQUIREMENTS.md COL-01, COL-02, COL-05, GAP-02, ROB-09, ROB-10):
 *
 * - **Archive download on login**: when a concentrator logs in and its archive is not confirmed
 *   (or changed since), the station sends it (AFN 04 F10 for DL/T 645 points, F249 for CJ/T 188
 *   and M-Bus points) in chunks of whole records that fit a frame, one data unit per frame; a
 *   point counts as confirmed only when the terminal confirmed the unit that carried its record.
 * - **Daily collection**: from 04:00 local (GAP-02) yesterday's daily data of every point is
 *   requested (AFN 0D F161 / F249, `pointsPerRequest` points per request), and what is missing is
 *   requested again every 30 min until 12:00 (COL-02: the master has it by 12:00). A terminal
 *   that logs in later (ROB-09) is asked at once for every gap of the last `backfillDays` days.
 * - **Storage, idempotent** (ROB-10): one reading per (concentrator, pn, day) (primary key, ON
 *   CONFLICT DO NOTHING); a duplicated or replayed reply stores nothing twice and counts nothing twice.
 * - **Success rate** (COL-01) per concentrator and per meter kind for a day: due (应采), collected
 *   (成功), collected on the first attempt (一次采集成功), collected by the 12:00 deadline, and the
 *   offline terminals (never reached for that day).
 *
 * Everything the station decides is a row written before or with the work (what is due, each
 * attempt, each reading), so a restarted station carries on and its rates stay right.
 *
 * The station talks to terminals through a narrow `CollectionLink` (a session per logged-in
 * terminal: AFN 04 and AFN 0D requests), so it runs against a scripted terminal in tests and
 * against harness/masters' `Gw1376Station` through collection-gw1376.ts.
 *
 * Time comes from the injected Clock; with a VirtualClock every database call holds it.
 */
import { CHINA_UTC_OFFSET_MINUTES, fromCalendar, toCalendar } from '../../harness/core/calendar.ts';
import type { Clock, TimerHandle } from '../../harness/core/clock.ts';
import { MAX_USER_DATA_NETWORK, type DataUnitItem, type UnitSpec, type UnitValue } from '../../harness/protocols/gw1376/index.ts';
import type { ArchivePoint, MeterKind } from '../concentrator/types.ts';
import { archiveChunks, archiveFnOf, FN_METER_ARCHIVE, FN_FOUR_METER_ARCHIVE } from './collection-archive.ts';
import { everyIncrementPositive, GAS_DAY_SLOTS, readsAt, WATER_LEAK_NIGHTS, WATER_NIGHT_HOURS, type LeakKind } from './collection-leak.ts';
import { checkEndpoint, postReadings, type DeliveredReading, type UtilityEndpoint } from './collection-delivery.ts';
import type { Db, Queryable } from './db.ts';

// ---------------------------------------------------------------------------------------------
// The link to the terminals

/** A terminal by its 1376.1 address (A1 area code, A2 terminal address). */
export interface TerminalId {
  readonly areaCode: string;
  readonly terminal: number;
}

/** What the collection needs of one logged-in terminal. Each call rejects on a timeout or a closed link. */
export interface CollectionSession {
  /**
   * AFN 04 with these units. Resolves with one result per unit, in order: true when the terminal
   * confirmed it (AFN 00 F1, or F3 with ERR 00), false when it denied it (F2, or F3 with ERR ≠ 00).
   */
  setParameters(units: readonly UnitSpec[]): Promise<readonly boolean[]>;
  /** AFN 0C with these units; resolves with the reply's data items (none when it was denied). */
  class1(units: readonly UnitSpec[]): Promise<readonly DataUnitItem[]>;
  /** AFN 0D with these units; resolves with the reply's data items (none when it was denied, AFN 00 F2). */
  class2(units: readonly UnitSpec[]): Promise<readonly DataUnitItem[]>;
}

/** The station's view of its terminals: sessions of the logged-in ones, and their comings and goings. */
export interface CollectionLink {
  /** The session of a terminal that is logged in now, or undefined. */
  session(id: TerminalId): CollectionSession | undefined;
  /** 'login' on every login (AFN 02 F1), 'seen' on a heartbeat, 'offline' when its connection closed. */
  on(event: 'login' | 'seen' | 'offline', listener: (id: TerminalId) => void): unknown;
  off(event: 'login' | 'seen' | 'offline', listener: (id: TerminalId) => void): unknown;
}

// ---------------------------------------------------------------------------------------------
// Options

export interface CollectionConcentrator {
  readonly areaCode: string;
  readonly terminal: number;
  /** The terminal's PW (16 bytes) for AFN 04; the link adapter uses it (the station itself never does). */
  readonly password?: Uint8Array;
  readonly archive: readonly ArchivePoint[];
}

export interface CollectionSchedule {
  /** Minute of the local day the first round of yesterday's data starts. Default 240 (04:00, GAP-02). */
  readonly startMinute?: number;
  /** Minutes between rounds while something is missing. Default 30 (MeterLab's choice, as issue 12 says). */
  readonly retryMinutes?: number;
  /** No round starts at or after this minute of the day. Default 720 (12:00, COL-02 / GAP-02). */
  readonly endMinute?: number;
  /** Points per AFN 0D request. Default 32 (MeterLab's choice: a 32-point F161 reply is about 1.2 kB, one frame). */
  readonly pointsPerRequest?: number;
  /** Largest user data of a downlink frame for archive chunks. Default MAX_USER_DATA_NETWORK (16383). */
  readonly maxUserData?: number;
  /** Days before yesterday whose gaps a terminal is asked for when it logs in (ROB-09). Default 2: with yesterday, the concentrator's 3-day re-read window (COL-03). */
  readonly backfillDays?: number;
}

/** Deliberate defects for broken variants (a suite must fail them). Never outside a broken-variant profile. */
export interface CollectionFaults {
  /** A reading collected by a re-collection (attempt > 1) is counted again in "collected". */
  readonly countRetriedTwice?: boolean;
}

export interface DeliveryOptions {
  readonly endpoints: readonly UtilityEndpoint[];
  /** Default: the global fetch (msw intercepts it in tests). */
  readonly fetch?: typeof fetch;
  /** Readings per POST. Default 500 (MeterLab's choice). */
  readonly batchSize?: number;
  /** A batch that failed is sent again after this long. Default 60 s (as the SMS outbox). */
  readonly retryMs?: number;
}

export interface CollectionStationOptions {
  readonly db: Db;
  readonly clock: Clock;
  readonly link: CollectionLink;
  readonly concentrators: readonly CollectionConcentrator[];
  readonly schedule?: CollectionSchedule;
  /** Local time zone of collection days. Default UTC+8. */
  readonly utcOffsetMinutes?: number;
  readonly faults?: CollectionFaults;
  /** Leak warnings for water and gas (GAP-08, collection-leak.ts): hourly current readings; off unless given. */
  readonly leak?: { readonly waterNights?: number };
  /**
   * Usage reminders: a day whose usage (its daily reading minus the day before's, in the reading's
   * unit: m³ for water and gas, kWh for heat and electricity) is above the kind's threshold.
   */
  readonly usageReminders?: Partial<Record<MeterKind, number>>;
  /** Readings delivered to the utilities' HTTP endpoints (by kind). */
  readonly delivery?: DeliveryOptions;
  readonly logger?: (message: string) => void;
}

export const DEFAULT_DELIVERY_BATCH = 500;
export const DEFAULT_DELIVERY_RETRY_MS = 60_000;
export const DEFAULT_COLLECTION_START_MINUTE = 4 * 60;
export const DEFAULT_COLLECTION_RETRY_MINUTES = 30;
export const DEFAULT_COLLECTION_END_MINUTE = 12 * 60;
export const DEFAULT_POINTS_PER_REQUEST = 32;
export const DEFAULT_BACKFILL_DAYS = 2;
/** AFN 0D (class 2 data) and its Fn: F161 daily frozen forward active energy; F249 the four-meter daily reading. */
export const AFN_CLASS2 = 0x0d;
export const FN_DAILY_ENERGY = 161;
export const FN_FOUR_METER_DAILY = FN_FOUR_METER_ARCHIVE;

const DAY_MS = 86_400_000;
export const METER_KINDS: readonly MeterKind[] = ['electricity', 'water', 'gas', 'heat'];

// ---------------------------------------------------------------------------------------------
// Results

export interface SuccessCounts {
  /** Points due (应采). */
  readonly due: number;
  /** Points whose reading is stored (成功). */
  readonly collected: number;
  /** Collected on the master's first request for them (一次采集成功). */
  readonly firstAttempt: number;
  /** Collected by the deadline (12:00 of the next day, COL-02). */
  readonly byDeadline: number;
  /** collected / due, or null when nothing is due. */
  readonly rate: number | null;
  readonly firstAttemptRate: number | null;
}

export interface KindSuccess extends SuccessCounts {
  readonly kind: MeterKind;
}

export interface ConcentratorSuccess extends SuccessCounts {
  readonly concentrator: string;
  readonly areaCode: string;
  readonly terminal: number;
  /** Not reached by the deadline: no request for this day answered by 12:00 of the next day (TERMINA_OFFLINE_NUM). */
  readonly offline: boolean;
  /** Rounds of the day that found it offline, of `rounds`. */
  readonly rounds: number;
  readonly offlineRounds: number;
  readonly kinds: readonly KindSuccess[];
}

export interface DailySuccessRate {
  readonly day: string;
  readonly concentrators: readonly ConcentratorSuccess[];
  readonly kinds: readonly KindSuccess[];
  readonly total: SuccessCounts & { readonly terminals: number; readonly offlineTerminals: number };
}

/** A meter_reading row as both the delivery and `readings()` select it (values × 10,000 as BIGINT). */
interface ReadingRow {
  concentrator_id: string;
  pn: number;
  day: string;
  kind: MeterKind;
  reading_time: string | null;
  value_e4: number;
  tariffs_e4: (number | null)[] | null;
  unit: number | null;
  meter_type: number | null;
}

/** A meter_reading row as a reading (kWh or the unit's value, exact to 0.0001). */
function readingOfRow(r: ReadingRow): DeliveredReading {
  return {
    concentrator: r.concentrator_id,
    pn: r.pn,
    day: r.day,
    kind: r.kind,
    readingTime: r.reading_time,
    value: Number(r.value_e4) / 10_000,
    tariffs: r.tariffs_e4 === null ? null : r.tariffs_e4.map((t) => (t === null ? null : t / 10_000)),
    unit: r.unit,
    meterType: r.meter_type,
  };
}

export interface StoredReading {
  readonly concentrator: string;
  readonly pn: number;
  readonly day: string;
  readonly kind: MeterKind;
  readonly readingTime: string | null;
  /** Electricity: forward active total in kWh; others: the value in `unit`. Exact to 0.0001. */
  readonly value: number;
  readonly tariffs: readonly (number | null)[] | null;
  readonly unit: number | null;
  readonly meterType: number | null;
  readonly receivedAt: number;
}

export interface ArchiveDownloadResult {
  readonly chunks: number;
  readonly confirmed: number;
  readonly denied: number;
  /** Points confirmed by this download. */
  readonly points: number;
}

export interface CollectResult {
  readonly requested: number;
  readonly collected: number;
  /** A request failed (timeout, link closed): the rest waits for the next round. */
  readonly interrupted: boolean;
}

// ---------------------------------------------------------------------------------------------

/** "AAAA-TTTTT": the station's key of a concentrator. */
export function concentratorKey(id: TerminalId): string {
  return `${id.areaCode}-${String(id.terminal).padStart(5, '0')}`;
}

function dayKey(year: number, month: number, day: number): string {
  return `${year}-${String(month).padStart(2, '0')}-${String(day).padStart(2, '0')}`;
}

/** A.14 value (a JS number with at most 4 decimals) as an exact integer of 0.0001. */
function toE4(v: number): number {
  return Math.round(v * 10_000);
}

function ratio(n: number, d: number): number | null {
  return d === 0 ? null : n / d;
}

export class CollectionStation {
  private readonly db: Db;
  private readonly clock: Clock;
  private readonly link: CollectionLink;
  private readonly utcOffset: number;
  private readonly faults: CollectionFaults;
  private readonly startMinute: number;
  private readonly retryMinutes: number;
  private readonly endMinute: number;
  private readonly perRequest: number;
  private readonly maxUserData: number;
  private readonly backfillDays: number;
  private readonly byKey = new Map<string, CollectionConcentrator>();
  /** Work per concentrator runs one piece at a time (one session, one request in flight). */
  private readonly queues = new Map<string, Promise<unknown>>();
  private readonly inFlight = new Set<Promise<unknown>>();
  private timer: TimerHandle | undefined;
  private running = false;
  private readonly listeners: { event: 'login' | 'seen' | 'offline'; fn: (id: TerminalId) => void }[] = [];

  constructor(private readonly options: CollectionStationOptions) {
    this.db = options.db;
    this.clock = options.clock;
    this.link = options.link;
    this.utcOffset = options.utcOffsetMinutes ?? CHINA_UTC_OFFSET_MINUTES;
    this.faults = options.faults ?? {};
    const s = options.schedule ?? {};
    this.startMinute = s.startMinute ?? DEFAULT_COLLECTION_START_MINUTE;
    this.retryMinutes = s.retryMinutes ?? DEFAULT_COLLECTION_RETRY_MINUTES;
    this.endMinute = s.endMinute ?? DEFAULT_COLLECTION_END_MINUTE;
    this.perRequest = s.pointsPerRequest ?? DEFAULT_POINTS_PER_REQUEST;
    this.maxUserData = s.maxUserData ?? MAX_USER_DATA_NETWORK;
    this.backfillDays = s.backfillDays ?? DEFAULT_BACKFILL_DAYS;
    if (!(this.retryMinutes > 0) || !(this.perRequest >= 1) || this.startMinute >= this.endMinute) {
      throw new Error('collection schedule: retryMinutes > 0, pointsPerRequest ≥ 1 and startMinute < endMinute are required');
    }
    const utilities = new Set<string>();
    for (const e of options.delivery?.endpoints ?? []) {
      checkEndpoint(e);
      if (utilities.has(e.utility)) throw new TypeError(`utility endpoint ${e.utility} is configured twice`);
      utilities.add(e.utility);
    }
    for (const c of options.concentrators) {
      const key = concentratorKey(c);
      if (this.byKey.has(key)) throw new Error(`concentrator ${key} is configured twice`);
      const pns = new Set<number>();
      for (const p of c.archive) {
        if (pns.has(p.pn)) throw new Error(`concentrator ${key}: pn ${p.pn} is in its archive twice`);
        pns.add(p.pn);
      }
      this.byKey.set(key, c);
    }
  }

  // -------------------------------------------------------------------------------------------
  // Life cycle

  /** Writes the configured concentrators and archives, listens to the terminals and schedules the rounds. */
  async start(): Promise<void> {
    if (this.running) return;
    await this.syncConfiguration();
    this.running = true;
    this.listen('login', (id) => this.onLogin(id));
    this.listen('seen', (id) => void this.track(this.q(`UPDATE concentrator SET last_seen_at = $2, online = TRUE WHERE id = $1`, [concentratorKey(id), this.now()])));
    this.listen('offline', (id) => void this.track(this.q(`UPDATE concentrator SET online = FALSE WHERE id = $1`, [concentratorKey(id)])));
    // A station started (or restarted) after 04:00 catches up with yesterday at once: what is due
    // is written and the terminals online are asked; those that log in later get their gap then.
    const now = this.now();
    if (now >= this.midnight(this.dayOf(now)) + this.startMinute * 60_000) void this.track(this.runRound(this.previousDay(this.dayOf(now))));
    this.schedule();
    this.scheduleHourly();
    this.kickDelivery(); // what a previous run stored and did not deliver
  }

  /** Stops scheduling and waits for work in progress. */
  async stop(): Promise<void> {
    this.running = false;
    this.clock.clearTimeout(this.timer);
    this.clock.clearTimeout(this.deliveryTimer);
    this.clock.clearTimeout(this.hourlyTimer);
    for (const l of this.listeners.splice(0)) this.link.off(l.event, l.fn);
    await this.idle();
  }

  /** Resolves when no work started by a login or a round is in flight. */
  async idle(): Promise<void> {
    while (this.inFlight.size > 0) await Promise.allSettled([...this.inFlight]);
  }

  private listen(event: 'login' | 'seen' | 'offline', fn: (id: TerminalId) => void): void {
    const guarded = (id: TerminalId): void => {
      if (this.running && this.byKey.has(concentratorKey(id))) fn(id);
    };
    this.listeners.push({ event, fn: guarded });
    this.link.on(event, guarded);
  }

  private track<T>(p: Promise<T>): Promise<T> {
    const t = p.catch((e: unknown) => {
      this.log(`collection: ${(e as Error).message}`);
    });
    this.inFlight.add(t);
    void t.finally(() => this.inFlight.delete(t));
    return p;
  }

  /** Runs `work` after what is queued for this concentrator. */
  private serial<T>(key: string, work: () => Promise<T>): Promise<T> {
    const prev = this.queues.get(key) ?? Promise.resolve();
    const next = prev.then(work, work);
    const settled = next.catch(() => undefined);
    this.queues.set(key, settled);
    void settled.then(() => {
      if (this.queues.get(key) === settled) this.queues.delete(key);
    });
    return next;
  }

  private async syncConfiguration(): Promise<void> {
    for (const [key, c] of this.byKey) {
      await this.tx(async (tx) => {
        await tx.query(`INSERT INTO concentrator (id, area_code, terminal) VALUES ($1, $2, $3) ON CONFLICT (id) DO NOTHING`, [key, c.areaCode, c.terminal]);
        for (const p of c.archive) {
          const record = JSON.stringify(p);
          // A record that changed must be sent again: confirmed_at goes back to NULL.
          await tx.query(
            `INSERT INTO collection_point (concentrator_id, pn, serial, kind, record) VALUES ($1, $2, $3, $4, $5)
             ON CONFLICT (concentrator_id, pn) DO UPDATE SET serial = EXCLUDED.serial, kind = EXCLUDED.kind, record = EXCLUDED.record,
               confirmed_at = CASE WHEN collection_point.record = EXCLUDED.record THEN collection_point.confirmed_at ELSE NULL END`,
            [key, p.pn, p.serial, p.kind, record],
          );
        }
        // Points no longer configured are no longer due (past days keep their rows).
        await tx.query(`DELETE FROM collection_point WHERE concentrator_id = $1 AND NOT (pn = ANY($2::int[]))`, [key, c.archive.map((p) => p.pn)]);
      });
    }
  }

  // -------------------------------------------------------------------------------------------
  // Time

  private now(): number {
    return Math.floor(this.clock.now());
  }

  /** Local day of an instant. */
  dayOf(at: number): string {
    const c = toCalendar(at, this.utcOffset);
    return dayKey(c.year, c.month, c.day);
  }

  /** 00:00 local of `day`. */
  private midnight(day: string): number {
    const [y, m, d] = day.split('-').map(Number) as [number, number, number];
    return fromCalendar({ year: y, month: m, day: d, hour: 0, minute: 0, second: 0 }, this.utcOffset);
  }

  /** The day before `day`. */
  private previousDay(day: string, n = 1): string {
    return this.dayOf(this.midnight(day) - n * DAY_MS + 12 * 3_600_000);
  }

  /** 12:00 (endMinute) of the day after `day`: when its data must be at the master (COL-02). */
  deadlineOf(day: string): number {
    return this.midnight(day) + DAY_MS + this.endMinute * 60_000;
  }

  /** The next round instant at or after `from`: startMinute + k × retryMinutes, before endMinute. */
  nextRoundAt(from: number): number {
    const today = this.midnight(this.dayOf(from));
    for (const base of [today, today + DAY_MS]) {
      for (let m = this.startMinute; m < this.endMinute; m += this.retryMinutes) {
        const at = base + m * 60_000;
        if (at >= from) return at;
      }
    }
    return today + DAY_MS + this.startMinute * 60_000;
  }

  /** Arms the timer of the next round after `from`; each round collects the day before its own. */
  private schedule(from = this.now()): void {
    if (!this.running) return;
    const at = this.nextRoundAt(from);
    this.timer = this.clock.setTimeout(() => {
      this.timer = undefined;
      if (!this.running) return;
      void this.track(this.runRound(this.previousDay(this.dayOf(at))));
      this.schedule(at + 1);
    }, at - this.now());
  }

  // -------------------------------------------------------------------------------------------
  // Database access, holding a virtual clock while real work is in flight

  private hold(): () => void {
    const c = this.clock as Clock & { hold?: () => () => void };
    return c.hold ? c.hold() : () => undefined;
  }

  private async q<Row>(sql: string, params: readonly unknown[] = []): Promise<{ rows: Row[]; affectedRows: number }> {
    const release = this.hold();
    try {
      return await this.db.query<Row>(sql, params);
    } finally {
      release();
    }
  }

  private async tx<T>(work: (tx: Queryable) => Promise<T>): Promise<T> {
    const release = this.hold();
    try {
      return await this.db.transaction(work);
    } finally {
      release();
    }
  }

  private async event(q: Queryable, kind: string, detail: Record<string, unknown>): Promise<void> {
    await q.query(`INSERT INTO event (at, account_id, kind, detail) VALUES ($1, NULL, $2, $3::jsonb)`, [this.now(), kind, JSON.stringify(detail)]);
  }

  private log(message: string): void {
    this.options.logger?.(message);
  }

  // -------------------------------------------------------------------------------------------
  // Login: archive, then the gaps

  private onLogin(id: TerminalId): void {
    const key = concentratorKey(id);
    void this.track(
      (async () => {
        await this.q(`UPDATE concentrator SET online = TRUE, last_login_at = $2, last_seen_at = $2 WHERE id = $1`, [key, this.now()]);
        await this.downloadArchive(id);
        // ROB-09: the master 补采s any gap: every point due and missing of the last days (rows
        // exist only for days whose rounds began, so yesterday before 04:00 is not asked for).
        const newest = this.previousDay(this.dayOf(this.now()));
        for (let n = this.backfillDays; n >= 0; n--) {
          const day = this.previousDay(newest, n);
          const gaps = await this.q<{ n: number }>(`SELECT COUNT(*)::int AS n FROM collection_due WHERE concentrator_id = $1 AND day = $2 AND collected_at IS NULL`, [key, day]);
          if ((gaps.rows[0]?.n ?? 0) > 0) await this.collect(id, day);
        }
      })(),
    );
  }

  /**
   * Sends the points of the archive that are not confirmed (all of them the first time), chunk by
   * chunk; each chunk's points are marked confirmed when the terminal confirms its unit.
   */
  downloadArchive(id: TerminalId): Promise<ArchiveDownloadResult> {
    const key = concentratorKey(id);
    return this.serial(key, async () => {
      const c = this.byKey.get(key);
      if (!c) throw new Error(`concentrator ${key} is not configured`);
      const { rows } = await this.q<{ pn: number; record: string }>(`SELECT pn, record FROM collection_point WHERE concentrator_id = $1 AND confirmed_at IS NULL ORDER BY serial`, [key]);
      if (rows.length === 0) return { chunks: 0, confirmed: 0, denied: 0, points: 0 };
      const session = this.link.session(id);
      if (!session) return { chunks: 0, confirmed: 0, denied: 0, points: 0 };
      const sent = new Map(rows.map((r) => [r.pn, r.record]));
      const points = rows.map((r) => JSON.parse(r.record) as ArchivePoint);
      const chunks = archiveChunks(points, this.maxUserData);
      let confirmed = 0;
      let denied = 0;
      let pointsConfirmed = 0;
      for (const chunk of chunks) {
        const [ok] = await session.setParameters([{ pn: 0, fn: chunk.fn, value: chunk.value }]);
        const pns = chunk.points.map((p) => p.pn);
        if (ok === true) {
          confirmed++;
          await this.tx(async (tx) => {
            for (const pn of pns) {
              const r = await tx.query(`UPDATE collection_point SET confirmed_at = $3 WHERE concentrator_id = $1 AND pn = $2 AND record = $4`, [key, pn, this.now(), sent.get(pn)]);
              pointsConfirmed += r.affectedRows;
            }
            await this.event(tx, 'archive-confirmed', { concentrator: key, fn: chunk.fn, pns });
          });
        } else {
          denied++;
          await this.tx((tx) => this.event(tx, 'archive-denied', { concentrator: key, fn: chunk.fn, pns }));
          this.log(`collection: ${key} denied the archive chunk F${chunk.fn} of ${pns.length} point(s)`);
        }
      }
      return { chunks: chunks.length, confirmed, denied, points: pointsConfirmed };
    });
  }

  // -------------------------------------------------------------------------------------------
  // Rounds and collection

  /**
   * One collection round for `day`: what is due is written (for every concentrator, online or
   * not), then every online concentrator is asked for its missing points, concentrators in parallel.
   */
  async runRound(day: string): Promise<Map<string, CollectResult | 'offline'>> {
    const results = new Map<string, CollectResult | 'offline'>();
    await Promise.all(
      [...this.byKey.entries()].map(async ([key, c]) => {
        const online = this.link.session(c) !== undefined;
        const missing = await this.tx(async (tx) => {
          await tx.query(
            `INSERT INTO collection_due (concentrator_id, day, pn, kind) SELECT concentrator_id, $2, pn, kind FROM collection_point WHERE concentrator_id = $1
             ON CONFLICT DO NOTHING`,
            [key, day],
          );
          const m = await tx.query<{ n: number }>(`SELECT COUNT(*)::int AS n FROM collection_due WHERE concentrator_id = $1 AND day = $2 AND collected_at IS NULL`, [key, day]);
          const n = m.rows[0]?.n ?? 0;
          // A round with nothing missing is not a round for this terminal (nor an offline one).
          if (n === 0) return 0;
          await tx.query(
            `INSERT INTO collection_terminal_day (concentrator_id, day, rounds, offline_rounds) VALUES ($1, $2, 1, $3)
             ON CONFLICT (concentrator_id, day) DO UPDATE SET rounds = collection_terminal_day.rounds + 1, offline_rounds = collection_terminal_day.offline_rounds + $3`,
            [key, day, online ? 0 : 1],
          );
          return n;
        });
        if (missing === 0) {
          results.set(key, { requested: 0, collected: 0, interrupted: false });
          return;
        }
        if (!online) {
          results.set(key, 'offline');
          return;
        }
        results.set(key, await this.collect(c, day));
      }),
    );
    return results;
  }

  /** Asks one terminal for every point of `day` that is due and not yet collected. */
  collect(id: TerminalId, day: string): Promise<CollectResult> {
    const key = concentratorKey(id);
    return this.serial(key, async () => {
      const c = this.byKey.get(key);
      if (!c) throw new Error(`concentrator ${key} is not configured`);
      const { rows } = await this.q<{ pn: number }>(`SELECT pn FROM collection_due WHERE concentrator_id = $1 AND day = $2 AND collected_at IS NULL ORDER BY pn`, [key, day]);
      const byPn = new Map(c.archive.map((p) => [p.pn, p]));
      const missing = rows.map((r) => byPn.get(r.pn)).filter((p): p is ArchivePoint => p !== undefined);
      let requested = 0;
      let collected = 0;
      for (const fn of [FN_DAILY_ENERGY, FN_FOUR_METER_DAILY]) {
        const mine = missing.filter((p) => (archiveFnOf(p) === FN_METER_ARCHIVE ? FN_DAILY_ENERGY : FN_FOUR_METER_DAILY) === fn);
        for (let i = 0; i < mine.length; i += this.perRequest) {
          const chunk = mine.slice(i, i + this.perRequest);
          const session = this.link.session(id);
          if (!session) return { requested, collected, interrupted: true };
          const pns = chunk.map((p) => p.pn);
          // The attempt is written before the request: a crash in between counts it, never loses it.
          await this.q(`UPDATE collection_due SET attempts = attempts + 1 WHERE concentrator_id = $1 AND day = $2 AND pn = ANY($3::int[])`, [key, day, pns]);
          requested += chunk.length;
          let items: readonly DataUnitItem[];
          try {
            items = await session.class2(chunk.map((p) => ({ pn: p.pn, fn, value: { day } })));
          } catch (e) {
            await this.tx((tx) => this.event(tx, 'collection-request-failed', { concentrator: key, day, fn, pns, error: (e as Error).message }));
            return { requested, collected, interrupted: true };
          }
          await this.q(`UPDATE collection_terminal_day SET reached_at = COALESCE(reached_at, $3) WHERE concentrator_id = $1 AND day = $2`, [key, day, this.now()]);
          collected += await this.store(key, day, fn, chunk, items);
        }
      }
      return { requested, collected, interrupted: false };
    });
  }

  /** Stores the readings of a reply (only for points asked, of the day asked); returns how many were new. */
  private async store(key: string, day: string, fn: number, asked: readonly ArchivePoint[], items: readonly DataUnitItem[]): Promise<number> {
    const byPn = new Map(asked.map((p) => [p.pn, p]));
    const rejected: { pn: number | 'all'; reason: string }[] = [];
    const rows: { pn: number; kind: MeterKind; readingTime: string | null; valueE4: number; tariffs: (number | null)[] | null; unit: number | null; meterType: number | null }[] = [];
    for (const item of items) {
      const point = typeof item.pn === 'number' ? byPn.get(item.pn) : undefined;
      if (item.fn !== fn || !point) {
        rejected.push({ pn: item.pn, reason: `F${item.fn} for a point not asked` });
        continue;
      }
      const v = item.value;
      if (!v || v.day !== day) {
        rejected.push({ pn: item.pn, reason: v ? `day ${String(v.day)} where ${day} was asked` : 'undecodable' });
        continue;
      }
      const readingTime = typeof v.readingTime === 'string' ? v.readingTime : null;
      if (fn === FN_DAILY_ENERGY) {
        const values = Array.isArray(v.forwardActive) ? (v.forwardActive as readonly UnitValue[]).map((t) => (typeof t.value === 'number' ? toE4(t.value) : null)) : [];
        const total = values[0];
        if (typeof total !== 'number') {
          rejected.push({ pn: item.pn, reason: 'no total energy (FFH)' });
          continue;
        }
        rows.push({ pn: point.pn, kind: point.kind, readingTime, valueE4: total, tariffs: values.slice(1), unit: null, meterType: null });
      } else {
        if (typeof v.value !== 'number' || typeof v.unit !== 'number' || typeof v.meterType !== 'number') {
          rejected.push({ pn: item.pn, reason: 'no value (FFH)' });
          continue;
        }
        rows.push({ pn: point.pn, kind: point.kind, readingTime, valueE4: toE4(v.value), tariffs: null, unit: v.unit, meterType: v.meterType });
      }
    }
    const now = this.now();
    return this.tx(async (tx) => {
      let added = 0;
      for (const r of rows) {
        const ins = await tx.query(
          `INSERT INTO meter_reading (concentrator_id, pn, day, kind, reading_time, value_e4, tariffs_e4, unit, meter_type, received_at)
           VALUES ($1, $2, $3, $4, $5, $6, $7::jsonb, $8, $9, $10) ON CONFLICT DO NOTHING`,
          [key, r.pn, day, r.kind, r.readingTime, r.valueE4, r.tariffs === null ? null : JSON.stringify(r.tariffs), r.unit, r.meterType, now],
        );
        // The first stored reading marks the point collected, with the attempt that got it.
        await tx.query(
          `UPDATE collection_due SET collected_at = $4, collected_attempt = attempts WHERE concentrator_id = $1 AND day = $2 AND pn = $3 AND collected_at IS NULL`,
          [key, day, r.pn, now],
        );
        added += ins.affectedRows;
        if (ins.affectedRows > 0) {
          for (const e of this.options.delivery?.endpoints ?? []) {
            if (e.kinds.includes(r.kind)) {
              await tx.query(`INSERT INTO reading_delivery (utility, concentrator_id, pn, day) VALUES ($1, $2, $3, $4) ON CONFLICT DO NOTHING`, [e.utility, key, r.pn, day]);
            }
          }
        }
      }
      for (const r of rows) await this.checkUsage(tx, key, r.pn, r.kind, day);
      if (rejected.length > 0) await this.event(tx, 'reading-rejected', { concentrator: key, day, fn, rejected });
      return added;
    }).then((added) => {
      if (added > 0) this.kickDelivery();
      return added;
    });
  }

  /**
   * With a threshold for the kind: the usage of `day` (with the day before) and of the day after
   * (with `day`), whichever readings are stored; a usage above the threshold gets one reminder.
   */
  private async checkUsage(tx: Queryable, key: string, pn: number, kind: MeterKind, day: string): Promise<void> {
    const threshold = this.options.usageReminders?.[kind];
    if (threshold === undefined) return;
    const before = this.previousDay(day);
    const after = this.previousDay(day, -1);
    const { rows } = await tx.query<{ day: string; value_e4: number }>(`SELECT day, value_e4 FROM meter_reading WHERE concentrator_id = $1 AND pn = $2 AND day = ANY($3::text[])`, [key, pn, [before, day, after]]);
    const v = new Map(rows.map((r) => [r.day, Number(r.value_e4)]));
    for (const [from, to] of [[before, day], [day, after]] as const) {
      const a = v.get(from);
      const b = v.get(to);
      if (a === undefined || b === undefined) continue;
      const usage = b - a;
      if (usage <= toE4(threshold)) continue;
      const ins = await tx.query(
        `INSERT INTO usage_reminder (concentrator_id, pn, kind, day, usage_e4, threshold_e4, raised_at) VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT DO NOTHING`,
        [key, pn, kind, to, usage, toE4(threshold), this.now()],
      );
      if (ins.affectedRows > 0) await this.event(tx, 'usage-reminder', { concentrator: key, pn, kind, day: to, usage: usage / 10_000, threshold });
    }
  }

  /** Usage reminders raised, by day and point. */
  async usageReminders(): Promise<{ concentrator: string; pn: number; kind: MeterKind; day: string; usage: number; threshold: number }[]> {
    const { rows } = await this.q<{ concentrator_id: string; pn: number; kind: MeterKind; day: string; usage_e4: number; threshold_e4: number }>(
      `SELECT concentrator_id, pn, kind, day, usage_e4, threshold_e4 FROM usage_reminder ORDER BY day, concentrator_id, pn`,
    );
    return rows.map((r) => ({ concentrator: r.concentrator_id, pn: r.pn, kind: r.kind, day: r.day, usage: Number(r.usage_e4) / 10_000, threshold: Number(r.threshold_e4) / 10_000 }));
  }

  // -------------------------------------------------------------------------------------------
  // Hourly readings and leak warnings (collection-leak.ts, GAP-08)

  private hourlyTimer: TimerHandle | undefined;

  /** Arms the timer of the next local hh:00 at or after `from`. */
  private scheduleHourly(from = this.now()): void {
    if (!this.running || !this.options.leak) return;
    const hour = 3_600_000;
    const offset = this.utcOffset * 60_000;
    const at = Math.ceil((from + offset) / hour) * hour - offset;
    this.hourlyTimer = this.clock.setTimeout(() => {
      this.hourlyTimer = undefined;
      if (!this.running) return;
      void this.track(this.readHour(at));
      this.scheduleHourly(at + 1);
    }, at - this.now());
  }

  /**
   * The hourly slot `slot` (hh:00 local): the current reading (AFN 0C F249) of every water point
   * at night hours and every gas point, stored by slot; after 05:00 the water rule is checked for
   * the night, after 00:00 the gas rule for the day before.
   */
  async readHour(slot: number): Promise<void> {
    const hour = toCalendar(slot, this.utcOffset).hour;
    const today = this.dayOf(slot);
    await Promise.all(
      [...this.byKey.entries()].map(async ([key, c]) => {
        const points = c.archive.filter((p) => (p.kind === 'water' || p.kind === 'gas') && p.protocol !== 'dlt645-2007' && readsAt(p.kind, hour));
        if (points.length > 0 && this.link.session(c)) {
          await this.serial(key, async () => {
            for (let i = 0; i < points.length; i += this.perRequest) {
              const chunk = points.slice(i, i + this.perRequest);
              const session = this.link.session(c);
              if (!session) return;
              let items: readonly DataUnitItem[];
              try {
                items = await session.class1(chunk.map((p) => ({ pn: p.pn, fn: FN_FOUR_METER_DAILY })));
              } catch (e) {
                await this.tx((tx) => this.event(tx, 'hourly-request-failed', { concentrator: key, slot, error: (e as Error).message }));
                return;
              }
              const asked = new Set(chunk.map((p) => p.pn));
              await this.tx(async (tx) => {
                for (const item of items) {
                  const v = item.value;
                  if (typeof item.pn !== 'number' || !asked.has(item.pn) || item.fn !== FN_FOUR_METER_DAILY || !v || typeof v.value !== 'number') continue;
                  await tx.query(`INSERT INTO hourly_reading (concentrator_id, pn, at, value_e4) VALUES ($1, $2, $3, $4) ON CONFLICT DO NOTHING`, [key, item.pn, slot, toE4(v.value)]);
                }
              });
            }
          });
        }
        if (hour === WATER_NIGHT_HOURS[WATER_NIGHT_HOURS.length - 1]) await this.checkLeaks(key, c, 'water', today);
        if (hour === 0) await this.checkLeaks(key, c, 'gas', this.previousDay(today));
      }),
    );
  }

  /** Whether the rule's window of `day` (a water night or a gas day) is positive for a point. */
  private async positive(key: string, pn: number, kind: LeakKind, day: string): Promise<boolean> {
    const base = this.midnight(day);
    const slots = kind === 'water' ? WATER_NIGHT_HOURS.map((h) => base + h * 3_600_000) : Array.from({ length: GAS_DAY_SLOTS }, (_, h) => base + h * 3_600_000);
    const { rows } = await this.q<{ at: number; value_e4: number }>(`SELECT at, value_e4 FROM hourly_reading WHERE concentrator_id = $1 AND pn = $2 AND at = ANY($3::bigint[])`, [key, pn, slots]);
    const byAt = new Map(rows.map((r) => [Number(r.at), Number(r.value_e4)]));
    return everyIncrementPositive(slots.map((s) => byAt.get(s)));
  }

  private async checkLeaks(key: string, c: CollectionConcentrator, kind: LeakKind, day: string): Promise<void> {
    const nights = kind === 'water' ? (this.options.leak?.waterNights ?? WATER_LEAK_NIGHTS) : 1;
    for (const p of c.archive.filter((x) => x.kind === kind)) {
      if (!(await this.positive(key, p.pn, kind, day))) continue;
      // An episode already warned that went on until the day before goes on: no new warning.
      const going = await this.q(`UPDATE leak_warning SET last_day = $4 WHERE concentrator_id = $1 AND pn = $2 AND last_day = $3`, [key, p.pn, this.previousDay(day), day]);
      if (going.affectedRows > 0) continue;
      let all = true;
      for (let n = 1; n < nights && all; n++) all = await this.positive(key, p.pn, kind, this.previousDay(day, n));
      if (!all) continue;
      await this.tx(async (tx) => {
        const ins = await tx.query(
          `INSERT INTO leak_warning (concentrator_id, pn, kind, day, last_day, raised_at, detail) VALUES ($1, $2, $3, $4, $4, $5, $6::jsonb) ON CONFLICT DO NOTHING`,
          [key, p.pn, kind, day, this.now(), JSON.stringify({ nights })],
        );
        if (ins.affectedRows > 0) await this.event(tx, 'leak-warning', { concentrator: key, pn: p.pn, kind, day });
      });
    }
  }

  // -------------------------------------------------------------------------------------------
  // Delivery to the utilities (collection-delivery.ts)

  private deliveryTimer: TimerHandle | undefined;
  private delivering: Promise<number> | null = null;
  private deliverAgain = false;

  /** Starts a delivery pass now, or right after the one running. */
  private kickDelivery(): void {
    if (!this.running || (this.options.delivery?.endpoints.length ?? 0) === 0) return;
    if (this.delivering) {
      this.deliverAgain = true;
      return;
    }
    this.clock.clearTimeout(this.deliveryTimer);
    this.deliveryTimer = undefined;
    this.delivering = this.track(this.deliver())
      .catch(() => 0) // logged by track
      .finally(() => {
      this.delivering = null;
      if (this.deliverAgain) {
        this.deliverAgain = false;
        this.kickDelivery();
      }
    });
  }

  /**
   * Sends every pending reading to its endpoints, `batchSize` a POST; a batch that fails stays
   * pending and is sent again after `retryMs`. Returns the readings delivered.
   */
  async deliver(): Promise<number> {
    const d = this.options.delivery;
    if (!d) return 0;
    const size = d.batchSize ?? DEFAULT_DELIVERY_BATCH;
    const fetchFn = d.fetch ?? ((input, init) => globalThis.fetch(input, init));
    let delivered = 0;
    let failed = false;
    for (const endpoint of d.endpoints) {
      for (;;) {
        const { rows } = await this.q<ReadingRow>(
          `SELECT r.concentrator_id, r.pn, r.day, r.kind, r.reading_time, r.value_e4, r.tariffs_e4, r.unit, r.meter_type
             FROM reading_delivery d JOIN meter_reading r USING (concentrator_id, pn, day)
            WHERE d.utility = $1 AND d.delivered_at IS NULL ORDER BY r.day, r.concentrator_id, r.pn LIMIT $2`,
          [endpoint.utility, size],
        );
        if (rows.length === 0) break;
        const readings: DeliveredReading[] = rows.map(readingOfRow);
        const first = readings[0]!;
        const last = readings[readings.length - 1]!;
        const reference = `${endpoint.utility}/${first.day}/${first.concentrator}/${first.pn}..${last.day}/${last.concentrator}/${last.pn}`;
        const keys = [rows.map((r) => r.concentrator_id), rows.map((r) => r.pn), rows.map((r) => r.day)];
        const release = this.hold();
        try {
          await postReadings(endpoint, { utility: endpoint.utility, reference, readings }, fetchFn);
        } catch (e) {
          release();
          failed = true;
          await this.tx(async (tx) => {
            await tx.query(
              `UPDATE reading_delivery d SET attempts = attempts + 1 FROM unnest($2::text[], $3::int[], $4::text[]) AS k(c, p, dy)
                WHERE d.utility = $1 AND d.concentrator_id = k.c AND d.pn = k.p AND d.day = k.dy`,
              [endpoint.utility, ...keys],
            );
            await this.event(tx, 'delivery-failed', { utility: endpoint.utility, reference, readings: rows.length, error: (e as Error).message });
          });
          break; // this endpoint waits for the retry; the others go on
        }
        release();
        await this.tx(async (tx) => {
          await tx.query(
            `UPDATE reading_delivery d SET attempts = attempts + 1, delivered_at = $5 FROM unnest($2::text[], $3::int[], $4::text[]) AS k(c, p, dy)
              WHERE d.utility = $1 AND d.concentrator_id = k.c AND d.pn = k.p AND d.day = k.dy`,
            [endpoint.utility, ...keys, this.now()],
          );
          await this.event(tx, 'delivery-sent', { utility: endpoint.utility, reference, readings: rows.length });
        });
        delivered += rows.length;
        if (rows.length < size) break;
      }
    }
    if (failed && this.running) {
      this.clock.clearTimeout(this.deliveryTimer);
      this.deliveryTimer = this.clock.setTimeout(() => this.kickDelivery(), d.retryMs ?? DEFAULT_DELIVERY_RETRY_MS);
    }
    return delivered;
  }

  // -------------------------------------------------------------------------------------------
  // Queries

  /** The daily success rate of `day` (COL-01), per concentrator, per meter kind and in total. */
  async successRate(day: string): Promise<DailySuccessRate> {
    const deadline = this.deadlineOf(day);
    // countRetriedTwice (broken variant): a re-collected reading is counted a second time.
    const collectedSql = this.faults.countRetriedTwice
      ? `COUNT(d.collected_at) + COUNT(d.collected_at) FILTER (WHERE d.collected_attempt > 1)`
      : `COUNT(d.collected_at)`;
    const { rows } = await this.q<{ concentrator_id: string; kind: MeterKind; due: number; collected: number; first: number; by_deadline: number }>(
      `SELECT d.concentrator_id, d.kind, COUNT(*)::int AS due, (${collectedSql})::int AS collected,
              COUNT(*) FILTER (WHERE d.collected_attempt = 1)::int AS first,
              COUNT(*) FILTER (WHERE d.collected_at <= $2)::int AS by_deadline
         FROM collection_due d WHERE d.day = $1 GROUP BY d.concentrator_id, d.kind`,
      [day, deadline],
    );
    const terminals = await this.q<{ concentrator_id: string; rounds: number; offline_rounds: number; reached_at: number | null }>(
      `SELECT concentrator_id, rounds, offline_rounds, reached_at FROM collection_terminal_day WHERE day = $1`,
      [day],
    );
    const tday = new Map(terminals.rows.map((r) => [r.concentrator_id, r]));
    const counts = (list: readonly { due: number; collected: number; first: number; by_deadline: number }[]): SuccessCounts => {
      const due = list.reduce((s, r) => s + r.due, 0);
      const collected = list.reduce((s, r) => s + r.collected, 0);
      const firstAttempt = list.reduce((s, r) => s + r.first, 0);
      const byDeadline = list.reduce((s, r) => s + r.by_deadline, 0);
      return { due, collected, firstAttempt, byDeadline, rate: ratio(collected, due), firstAttemptRate: ratio(firstAttempt, due) };
    };
    const byKinds = (list: typeof rows): KindSuccess[] =>
      METER_KINDS.filter((k) => list.some((r) => r.kind === k)).map((kind) => ({ kind, ...counts(list.filter((r) => r.kind === kind)) }));
    const concentrators: ConcentratorSuccess[] = [];
    for (const [key, c] of [...this.byKey.entries()].sort(([a], [b]) => a.localeCompare(b))) {
      const mine = rows.filter((r) => r.concentrator_id === key);
      const t = tday.get(key);
      if (mine.length === 0 && !t) continue; // nothing due for it that day
      concentrators.push({
        concentrator: key,
        areaCode: c.areaCode,
        terminal: c.terminal,
        offline: !(t?.reached_at != null && Number(t.reached_at) <= deadline),
        rounds: t?.rounds ?? 0,
        offlineRounds: t?.offline_rounds ?? 0,
        ...counts(mine),
        kinds: byKinds(mine),
      });
    }
    return {
      day,
      concentrators,
      kinds: byKinds(rows),
      total: { ...counts(rows), terminals: concentrators.length, offlineTerminals: concentrators.filter((c) => c.offline).length },
    };
  }

  /** Every day with a collection row (due points or stored readings), oldest first. */
  async collectionDays(): Promise<string[]> {
    const { rows } = await this.q<{ day: string }>(`SELECT day FROM collection_due UNION SELECT day FROM meter_reading ORDER BY day`);
    return rows.map((r) => r.day);
  }

  /** Stored readings, by concentrator (key or id) and optionally day, in (day, pn) order. */
  async readings(concentrator: TerminalId | string, day?: string): Promise<StoredReading[]> {
    const key = typeof concentrator === 'string' ? concentrator : concentratorKey(concentrator);
    const { rows } = await this.q<ReadingRow & { received_at: number }>(
      `SELECT concentrator_id, pn, day, kind, reading_time, value_e4, tariffs_e4, unit, meter_type, received_at FROM meter_reading
        WHERE concentrator_id = $1 AND ($2::text IS NULL OR day = $2) ORDER BY day, pn`,
      [key, day ?? null],
    );
    return rows.map((r) => ({ ...readingOfRow(r), receivedAt: Number(r.received_at) }));
  }

  /** Leak warnings raised, oldest first. */
  async leakWarnings(): Promise<{ concentrator: string; pn: number; kind: LeakKind; day: string; lastDay: string; raisedAt: number }[]> {
    const { rows } = await this.q<{ concentrator_id: string; pn: number; kind: LeakKind; day: string; last_day: string; raised_at: number }>(
      `SELECT concentrator_id, pn, kind, day, last_day, raised_at FROM leak_warning ORDER BY raised_at, concentrator_id, pn`,
    );
    return rows.map((r) => ({ concentrator: r.concentrator_id, pn: r.pn, kind: r.kind, day: r.day, lastDay: r.last_day, raisedAt: Number(r.raised_at) }));
  }

  /** Points of a concentrator whose archive record the terminal has confirmed. */
  async confirmedPoints(concentrator: TerminalId): Promise<number[]> {
    const { rows } = await this.q<{ pn: number }>(`SELECT pn FROM collection_point WHERE concentrator_id = $1 AND confirmed_at IS NOT NULL ORDER BY pn`, [concentratorKey(concentrator)]);
    return rows.map((r) => r.pn);
  }
}
