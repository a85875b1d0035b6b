/**
 * The reference master station for remote prepaid cost control (issue 9; REQUIREMENTS.md FEE-13
 * to FEE-19, KP-06): accounts, daily billing from daily frozen readings, SMS warnings at the
 * customer's threshold, disconnection on arrears (never for keep-power accounts), reconnection
 * after a top-up confirmed through status word 3, forced reconnection (audited), batch change of
 * payment mode with a result per account, and a worklist of failed switching by layer.
 *
 * Durability: every decision is a row written in the transaction that takes it (a charge, a
 * top-up, a switching job, an SMS in the outbox); the work itself (DL/T 645 exchanges, HTTP to
 * the SMS gateway) runs after commit from those rows. A station killed at any point and started
 * again on the same database finds its pending jobs and unsent SMS and carries on; `recover()`
 * also re-derives the one invariant that matters to a customer: no account with a positive
 * balance stays cut (see `recover`).
 *
 * Time comes from the injected Clock. With a VirtualClock every database call and outbound HTTP
 * request holds the clock (`clock.hold()`), so simulated time never jumps while real work is in
 * flight.
 */
import { toCalendar, fromCalendar, CHINA_UTC_OFFSET_MINUTES } from '../../harness/core/calendar.ts';
import type { Clock, TimerHandle } from '../../harness/core/clock.ts';
import { LinkError, TimeoutError } from '../../harness/core/errors.ts';
import type { Link } from '../../harness/links/link.ts';
import { Dlt645Master, type Dlt645MasterOptions } from '../../harness/masters/dlt645-master.ts';
import { Dlt645AbnormalReplyError } from '../../harness/masters/errors.ts';
import { RemoteControlCommand, decodeStatusWord3, type FrameDateTime, type Password } from '../../harness/protocols/dlt645/index.ts';
import type { Db, Queryable } from './db.ts';
import {
  KEEP_POWER_CLASSES,
  StationRequestError,
  type Account,
  type AccountInput,
  type BatchItemResult,
  type BatchPaymentModeInput,
  type Channel,
  type FailureLayer,
  type ForceReconnectInput,
  type StationEvent,
  type StationService,
  type SwitchAction,
  type SwitchJob,
  type TopUpInput,
  type TopUpResult,
} from './types.ts';

// ---------------------------------------------------------------------------------------------
// Data identifiers (DL/T 645-2007 appendix A; the dlt645 dictionary names them)

/** 上1次日冻结时间 (YYMMDDhhmm): the instant of the last daily freeze. */
export const DI_LAST_DAILY_FREEZE_TIME = '05060001';
/** 上1次日冻结正向有功电能数据块: total then T1..T4, XXXXXX.XX kWh each. */
export const DI_LAST_DAILY_FREEZE_ENERGY = '05060101';
/** Status word 3 (PROTOCOLS.md 1.8): bit 4 relay open, bit 12 keep-power. */
export const DI_STATUS_WORD_3 = '04000503';

// ---------------------------------------------------------------------------------------------
// Defaults, each with where it comes from

/** Billing runs at 01:00 local: after the meters' 00:00 daily freeze (MeterLab's choice). */
export const DEFAULT_BILLING_MINUTE = 60;
/** A meter whose reading failed is read again after 30 min, until the next billing run (MeterLab's choice). */
export const DEFAULT_READING_RETRY_MS = 30 * 60_000;
/**
 * Backoff between switching attempts: 30 s doubling to at most 4 min, 8 attempts in all (about
 * 18 min of trying). The first four fit well inside FEE-13's 15 minutes (MeterLab's choice).
 */
export const DEFAULT_SWITCH_BACKOFF_MS: readonly number[] = [30_000, 60_000, 120_000, 240_000];
export const DEFAULT_SWITCH_ATTEMPTS = 8;
/**
 * How long the relay may take to show its new state in status word 3 after a command: FEE-12
 * says the actual state is judged after 3–4 s of consistent sensing; 5 s, as the switching suite
 * (suites/switching/support.ts RELAY_SETTLE_MS).
 */
export const DEFAULT_RELAY_SETTLE_MS = 5_000;
/** How often status word 3 is read while waiting for the relay (MeterLab's choice). */
export const DEFAULT_RELAY_POLL_MS = 1_000;
/** The 1CH valid-until time is this far ahead of the station clock (MeterLab's choice; CLK-01 allows 10 s of meter clock error). */
export const DEFAULT_VALID_FOR_MS = 10 * 60_000;
/** SMS gateway retries: at most every 60 s (MeterLab's choice). */
export const SMS_RETRY_MS = 60_000;

// ---------------------------------------------------------------------------------------------
// Options

export interface SmsSender {
  /** `reference` names the outbox row ("sms-<id>"): a gateway can drop a resend after a crash. */
  send(message: { readonly to: string; readonly text: string; readonly accountId: string; readonly reference: string }): Promise<void>;
}

/** How the station reconnects: 1CH 1C direct close (default) or 1B close allowed (the customer presses the key). */
export type ReconnectCommand = 'direct-close' | 'close-allowed';

/**
 * Deliberate defects of the reference station, for broken variants (a suite must fail them).
 * Never set outside a broken-variant target profile.
 */
export interface StationFaults {
  /** Reconnection waits this long after the top-up (e.g. 16 min: beyond FEE-13's 15). */
  readonly reconnectDelayMs?: number;
  /** KP-06 ignored: keep-power accounts are disconnected on arrears like any other. */
  readonly ignoreKeepPower?: boolean;
  /** A repeated payment id is credited again (not exactly-once). */
  readonly creditDuplicates?: boolean;
  /** Top-ups are kept in memory and written only at the next billing run: a restart loses them. */
  readonly volatileTopUps?: boolean;
}

export interface SwitchingOptions {
  readonly attempts?: number;
  readonly backoffMs?: readonly number[];
  readonly relaySettleMs?: number;
  readonly relayPollMs?: number;
  readonly validForMs?: number;
  readonly reconnectCommand?: ReconnectCommand;
}

export interface MasterStationOptions {
  readonly db: Db;
  readonly clock: Clock;
  /** The link that reaches a channel's meters (an RS-485 adapter, a TCP serial server), or undefined when there is none. */
  readonly links: (channel: Channel) => Link | undefined;
  readonly sms: SmsSender;
  /** Password and operator code for 1CH (the meters' declaration). */
  readonly remoteControl: { readonly password: Password; readonly operator: string };
  /** Local time zone of billing days. Default UTC+8. */
  readonly utcOffsetMinutes?: number;
  /** Minute of the local day billing runs. Default 60 (01:00). */
  readonly billingMinute?: number;
  readonly readingRetryMs?: number;
  readonly switching?: SwitchingOptions;
  /** Options for each channel's Dlt645Master (timeouts, attempts, line). */
  readonly master?: Partial<Omit<Dlt645MasterOptions, 'link' | 'clock'>>;
  /**
   * Options of one channel's Dlt645Master over `master` (e.g. a channel through a concentrator,
   * whose replies come after the whole 1376.1 round trip, needs a longer reply timeout).
   */
  readonly channelMaster?: (channel: Channel) => Partial<Omit<Dlt645MasterOptions, 'link' | 'clock'>> | undefined;
  readonly faults?: StationFaults;
  readonly logger?: (message: string) => void;
}

// ---------------------------------------------------------------------------------------------
// Rows

interface AccountRow {
  id: string;
  name: string;
  phone: string;
  meter_address: string;
  channel_id: string;
  payment_mode: 'prepaid' | 'postpaid';
  tariff_fen_per_kwh: number;
  keep_power: Account['keepPower'];
  warning_fen: number;
  balance_fen: number;
  relay: Account['relay'];
  cut_reason: 'arrears' | null;
  warned: boolean;
  created_at: number;
}

interface JobRow {
  id: number;
  account_id: string;
  action: SwitchAction;
  reason: string;
  forced: boolean;
  state: SwitchJob['state'];
  attempts: number;
  next_at: number;
  created_at: number;
  finished_at: number | null;
  cause_layer: FailureLayer | null;
  cause_detail: string | null;
}

const ACCOUNT_COLUMNS =
  'id, name, phone, meter_address, channel_id, payment_mode, tariff_fen_per_kwh, keep_power, warning_fen, balance_fen, relay, cut_reason, warned, created_at';
const JOB_COLUMNS = 'id, account_id, action, reason, forced, state, attempts, next_at, created_at, finished_at, cause_layer, cause_detail';

function toAccount(r: AccountRow): Account {
  return {
    id: r.id,
    name: r.name,
    phone: r.phone,
    meterAddress: r.meter_address,
    channelId: r.channel_id,
    paymentMode: r.payment_mode,
    tariffFenPerKwh: Number(r.tariff_fen_per_kwh),
    keepPower: r.keep_power,
    warningFen: Number(r.warning_fen),
    balanceFen: Number(r.balance_fen),
    relay: r.relay,
    cutReason: r.cut_reason,
    warned: r.warned,
    createdAt: Number(r.created_at),
  };
}

function toJob(r: JobRow): SwitchJob {
  return {
    id: Number(r.id),
    accountId: r.account_id,
    action: r.action,
    reason: r.reason,
    forced: r.forced,
    state: r.state,
    attempts: Number(r.attempts),
    nextAt: Number(r.next_at),
    createdAt: Number(r.created_at),
    finishedAt: r.finished_at === null ? null : Number(r.finished_at),
    causeLayer: r.cause_layer,
    causeDetail: r.cause_detail,
  };
}

/** A switching attempt that did not reach its goal: where it went wrong, and whether to try again. */
class SwitchFailure extends Error {
  constructor(
    readonly layer: FailureLayer,
    message: string,
    readonly retry: boolean,
  ) {
    super(message);
  }
}

const ACCOUNT_ID = /^[A-Za-z0-9_-]{1,32}$/;
const METER_ADDRESS = /^\d{12}$/;

/** YYYY-MM-DD: the key of a freeze day. */
function dayKey(year: number, month: number, day: number): string {
  return `${year}-${String(month).padStart(2, '0')}-${String(day).padStart(2, '0')}`;
}

/** "12.34" from 1234 fen. */
export function formatYuan(fen: number): string {
  const sign = fen < 0 ? '-' : '';
  const a = Math.abs(fen);
  return `${sign}${Math.floor(a / 100)}.${String(a % 100).padStart(2, '0')}`;
}

/** The warning SMS (FEE-13): names the account, the balance and the customer's threshold. */
export function warningText(account: { id: string; balanceFen: number; warningFen: number }): string {
  return (
    `[MeterLab] Account ${account.id}: your electricity balance is ${formatYuan(account.balanceFen)} yuan, ` +
    `at or below your reminder amount of ${formatYuan(account.warningFen)} yuan. Please top up to avoid disconnection.`
  );
}

// ---------------------------------------------------------------------------------------------

export class MasterStation implements StationService {
  private readonly db: Db;
  readonly clock: Clock;
  private readonly options: MasterStationOptions;
  private readonly faults: StationFaults;
  private readonly attempts: number;
  private readonly backoff: readonly number[];
  private readonly settleMs: number;
  private readonly pollMs: number;
  private readonly validForMs: number;
  private readonly reconnectCommand: ReconnectCommand;
  private readonly utcOffset: number;
  private readonly masters = new Map<string, Dlt645Master>();
  private readonly channels = new Map<string, Channel>();
  /** Accounts with a switching job in progress (one at a time per account). */
  private readonly busy = new Set<string>();
  private readonly inFlight = new Set<Promise<void>>();
  private running = false;
  private wakeWorker: (() => void) | null = null;
  private workerTimer: TimerHandle | undefined;
  private worker: Promise<void> | null = null;
  private billingTimer: TimerHandle | undefined;
  private smsTimer: TimerHandle | undefined;
  private smsRunning: Promise<void> | null = null;
  private billingRun: Promise<void> | null = null;
  /** faults.volatileTopUps: credited in memory only, written at the next billing run. */
  private readonly volatileTopUps: TopUpInput[] = [];
  /** faults.creditDuplicates: makes every payment id new. */
  private duplicateSerial = 0;

  constructor(options: MasterStationOptions) {
    this.options = options;
    this.db = options.db;
    this.clock = options.clock;
    this.faults = options.faults ?? {};
    const s = options.switching ?? {};
    this.attempts = s.attempts ?? DEFAULT_SWITCH_ATTEMPTS;
    this.backoff = s.backoffMs ?? DEFAULT_SWITCH_BACKOFF_MS;
    this.settleMs = s.relaySettleMs ?? DEFAULT_RELAY_SETTLE_MS;
    this.pollMs = s.relayPollMs ?? DEFAULT_RELAY_POLL_MS;
    this.validForMs = s.validForMs ?? DEFAULT_VALID_FOR_MS;
    this.reconnectCommand = s.reconnectCommand ?? 'direct-close';
    this.utcOffset = options.utcOffsetMinutes ?? CHINA_UTC_OFFSET_MINUTES;
  }

  // -------------------------------------------------------------------------------------------
  // Life cycle

  /** Recovers (see `recover`), then runs the switching worker, the SMS outbox and the daily billing. */
  async start(): Promise<void> {
    if (this.running) return;
    await this.recover();
    this.running = true;
    this.worker = this.workLoop();
    this.scheduleBilling();
    this.kickSms();
  }

  /** Stops scheduling, lets work in progress finish, and releases the channels. */
  async stop(): Promise<void> {
    this.running = false;
    this.clock.clearTimeout(this.billingTimer);
    this.clock.clearTimeout(this.smsTimer);
    this.wake();
    await this.worker;
    await Promise.allSettled([...this.inFlight, this.smsRunning, this.billingRun]);
    this.releaseChannels();
  }

  /**
   * A crash: stops at once, without finishing anything in flight and without writing anything
   * more (work in progress is abandoned between two statements). The database keeps what was
   * committed; a new station on it must lose nothing a customer paid for.
   */
  crash(): void {
    this.running = false;
    this.crashed = true;
    this.clock.clearTimeout(this.billingTimer);
    this.clock.clearTimeout(this.smsTimer);
    this.clock.clearTimeout(this.workerTimer);
    this.volatileTopUps.length = 0;
    this.releaseChannels();
  }
  private crashed = false;

  private releaseChannels(): void {
    for (const m of this.masters.values()) m.dispose();
    this.masters.clear();
  }

  /**
   * Run at every start, before anything else: pending jobs and unsent SMS are already durable;
   * this re-derives what a customer must never see after a restart - an account cut for arrears
   * whose balance is positive again (or which is no longer prepaid) with no reconnection pending,
   * or an account the station last saw open and no longer wants open.
   */
  async recover(): Promise<number> {
    const now = this.now();
    const { rows } = await this.q<{ id: string }>(
      `SELECT a.id FROM account a
        WHERE ((a.cut_reason = 'arrears' AND (a.balance_fen > 0 OR a.payment_mode = 'postpaid'))
               OR (a.cut_reason IS NULL AND a.relay = 'open'))
          AND NOT EXISTS (SELECT 1 FROM switch_job j WHERE j.account_id = a.id AND j.state = 'pending' AND j.action = 'reconnect')`,
    );
    for (const r of rows) {
      await this.tx(async (tx) => {
        await tx.query(`UPDATE account SET cut_reason = NULL WHERE id = $1`, [r.id]);
        await this.enqueue(tx, r.id, 'reconnect', 'recovery', false, now);
      });
    }
    return rows.length;
  }

  /** YYYY-MM-DD of an instant in the station's time zone. */
  private localDay(at: number): string {
    const c = toCalendar(at, this.utcOffset);
    return dayKey(c.year, c.month, c.day);
  }

  /** The clock's instant in whole ms (line time makes virtual instants fractional; the schema stores BIGINT). */
  private now(): number {
    return Math.floor(this.clock.now());
  }

  // -------------------------------------------------------------------------------------------
  // Database access, holding a virtual clock while real work is in flight

  private hold(): () => void {
    const c = this.clock as Clock & { hold?: () => () => void };
    return c.hold ? c.hold() : () => undefined;
  }

  private async q<Row>(sql: string, params: readonly unknown[] = []): Promise<{ rows: Row[]; affectedRows: number }> {
    if (this.crashed) throw new StationCrashedError();
    const release = this.hold();
    try {
      return await this.db.query<Row>(sql, params);
    } finally {
      release();
    }
  }

  private async tx<T>(work: (tx: Queryable) => Promise<T>): Promise<T> {
    if (this.crashed) throw new StationCrashedError();
    const release = this.hold();
    try {
      return await this.db.transaction(async (tx) => {
        const r = await work(tx);
        if (this.crashed) throw new StationCrashedError(); // a crashed station commits nothing more
        return r;
      });
    } finally {
      release();
    }
  }

  private async event(tx: Queryable, accountId: string | null, kind: string, detail: Record<string, unknown> = {}): Promise<void> {
    await tx.query(`INSERT INTO event (at, account_id, kind, detail) VALUES ($1, $2, $3, $4)`, [this.now(), accountId, kind, JSON.stringify(detail)]);
  }

  // -------------------------------------------------------------------------------------------
  // Channels and accounts

  async addChannel(channel: Channel): Promise<Channel> {
    if (!/^[A-Za-z0-9_.:/-]{1,64}$/.test(channel.id)) throw new StationRequestError('invalid', `channel id "${channel.id}": 1-64 letters, digits or _ . : / -`);
    const { rows } = await this.q<Channel>(
      `INSERT INTO channel (id, kind, description) VALUES ($1, $2, $3)
       ON CONFLICT (id) DO UPDATE SET kind = EXCLUDED.kind, description = EXCLUDED.description
       RETURNING id, kind, description`,
      [channel.id, channel.kind, channel.description],
    );
    const c = rows[0]!;
    this.channels.set(c.id, c);
    return c;
  }

  async listChannels(): Promise<Channel[]> {
    const { rows } = await this.q<Channel>(`SELECT id, kind, description FROM channel ORDER BY id`);
    return rows;
  }

  async createAccount(input: AccountInput): Promise<Account> {
    if (!ACCOUNT_ID.test(input.id)) throw new StationRequestError('invalid', `account id "${input.id}": 1-32 letters, digits, '-' or '_'`);
    if (!METER_ADDRESS.test(input.meterAddress)) throw new StationRequestError('invalid', `meterAddress "${input.meterAddress}": 12 decimal digits`);
    if (input.keepPower !== null && !KEEP_POWER_CLASSES.includes(input.keepPower)) {
      throw new StationRequestError('invalid', `keepPower "${String(input.keepPower)}": one of ${KEEP_POWER_CLASSES.join(', ')} or null`);
    }
    for (const [k, v] of [['tariffFenPerKwh', input.tariffFenPerKwh], ['warningFen', input.warningFen], ['openingEnergyWh', input.openingEnergyWh ?? 0]] as const) {
      if (!Number.isSafeInteger(v) || v < 0) throw new StationRequestError('invalid', `${k} ${v}: a whole number of fen, 0 or more`);
    }
    return this.tx(async (tx) => {
      const ch = await tx.query(`SELECT 1 FROM channel WHERE id = $1`, [input.channelId]);
      if (ch.rows.length === 0) throw new StationRequestError('invalid', `channelId "${input.channelId}": no such channel`);
      const dup = await tx.query<{ id: string; meter_address: string }>(`SELECT id, meter_address FROM account WHERE id = $1 OR meter_address = $2`, [input.id, input.meterAddress]);
      if (dup.rows.length > 0) {
        const d = dup.rows[0]!;
        throw new StationRequestError('conflict', d.id === input.id ? `account ${input.id} exists` : `meter ${input.meterAddress} belongs to account ${d.id}`);
      }
      const { rows } = await tx.query<AccountRow>(
        `INSERT INTO account (id, name, phone, meter_address, channel_id, payment_mode, tariff_fen_per_kwh, keep_power, warning_fen, balance_fen, created_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11) RETURNING ${ACCOUNT_COLUMNS}`,
        [input.id, input.name, input.phone, input.meterAddress, input.channelId, input.paymentMode, input.tariffFenPerKwh, input.keepPower, input.warningFen, input.balanceFen ?? 0, this.now()],
      );
      if (input.openingEnergyWh !== undefined) {
        // The opening reading counts as the freeze of the opening day: the next freeze bills the usage since.
        await tx.query(`INSERT INTO daily_reading (account_id, day, energy_wh, read_at) VALUES ($1, $2, $3, $4)`, [input.id, this.localDay(this.now()), input.openingEnergyWh, this.now()]);
      }
      await this.event(tx, input.id, 'account-created', {
        paymentMode: input.paymentMode,
        keepPower: input.keepPower,
        ...(input.openingEnergyWh !== undefined ? { openingEnergyWh: input.openingEnergyWh } : {}),
        ...(input.costControlAtOpening ? { costControlAtOpening: true } : {}),
      });
      let created = rows[0]!;
      if (input.costControlAtOpening && (await this.decideArrears(tx, created))) {
        created = (await tx.query<AccountRow>(`SELECT ${ACCOUNT_COLUMNS} FROM account WHERE id = $1`, [input.id])).rows[0]!;
      }
      return toAccount(created);
    }).finally(() => this.wake());
  }

  /**
   * The cost-control decision on an account's balance (after a charge, or at opening when asked):
   * a prepaid account at or below 0 that is not cut yet is cut for arrears and a disconnection
   * queued; a keep-power one gets an `arrears-keep-power` event instead (KP-06). Returns whether
   * the account was cut.
   */
  private async decideArrears(tx: Queryable, acc: AccountRow): Promise<boolean> {
    const balance = Number(acc.balance_fen);
    if (!(balance <= 0 && acc.payment_mode === 'prepaid' && acc.cut_reason === null)) return false;
    if (acc.keep_power !== null && !this.faults.ignoreKeepPower) {
      // KP-06: a protected customer is never cut, whatever the balance.
      await this.event(tx, acc.id, 'arrears-keep-power', { balanceFen: balance, keepPower: acc.keep_power });
      return false;
    }
    await tx.query(`UPDATE account SET cut_reason = 'arrears' WHERE id = $1`, [acc.id]);
    await this.enqueue(tx, acc.id, 'disconnect', 'arrears', false, this.now());
    return true;
  }

  async getAccount(id: string): Promise<Account> {
    const { rows } = await this.q<AccountRow>(`SELECT ${ACCOUNT_COLUMNS} FROM account WHERE id = $1`, [id]);
    if (rows.length === 0) throw new StationRequestError('not-found', `no account ${id}`);
    return toAccount(rows[0]!);
  }

  async listAccounts(options: { offset?: number; limit?: number } = {}): Promise<Account[]> {
    const { rows } = await this.q<AccountRow>(`SELECT ${ACCOUNT_COLUMNS} FROM account ORDER BY id OFFSET $1 LIMIT $2`, [options.offset ?? 0, options.limit ?? 100]);
    return rows.map(toAccount);
  }

  // -------------------------------------------------------------------------------------------
  // Top-ups (exactly-once by payment id)

  async topUp(input: TopUpInput): Promise<TopUpResult> {
    if (!Number.isSafeInteger(input.amountFen) || input.amountFen <= 0) throw new StationRequestError('invalid', `amountFen ${input.amountFen}: a whole number of fen above 0`);
    if (input.paymentId.length === 0 || input.paymentId.length > 64) throw new StationRequestError('invalid', 'paymentId: 1-64 characters');
    if (this.faults.volatileTopUps) return this.volatileTopUp(input);
    const result = await this.tx(async (tx) => {
      const acc = await tx.query<AccountRow>(`SELECT ${ACCOUNT_COLUMNS} FROM account WHERE id = $1 FOR UPDATE`, [input.accountId]);
      if (acc.rows.length === 0) throw new StationRequestError('not-found', `no account ${input.accountId}`);
      const paymentId = this.faults.creditDuplicates ? `${input.paymentId}#${++this.duplicateSerial}` : input.paymentId;
      const ins = await tx.query(
        `INSERT INTO top_up (payment_id, account_id, amount_fen, received_at) VALUES ($1, $2, $3, $4) ON CONFLICT (payment_id) DO NOTHING RETURNING payment_id`,
        [paymentId, input.accountId, input.amountFen, this.now()],
      );
      if (ins.rows.length === 0) {
        const prior = await tx.query<{ account_id: string; amount_fen: number }>(`SELECT account_id, amount_fen FROM top_up WHERE payment_id = $1`, [input.paymentId]);
        const p = prior.rows[0]!;
        if (p.account_id !== input.accountId || Number(p.amount_fen) !== input.amountFen) {
          throw new StationRequestError(
            'conflict',
            `payment ${input.paymentId} was already credited to account ${p.account_id} for ${formatYuan(Number(p.amount_fen))} yuan; this request says ${input.accountId}, ${formatYuan(input.amountFen)} yuan`,
          );
        }
        await this.event(tx, input.accountId, 'top-up-duplicate', { paymentId: input.paymentId, amountFen: input.amountFen });
        return { credited: false, balanceFen: Number(acc.rows[0]!.balance_fen), reconnectJobId: null };
      }
      return this.credit(tx, acc.rows[0]!, input);
    });
    if (result.reconnectJobId !== null) this.wake();
    return result;
  }

  /** Adds a top-up to the balance and, for an account cut for arrears that is now in credit, queues its reconnection. */
  private async credit(tx: Queryable, account: AccountRow, input: TopUpInput): Promise<TopUpResult> {
    const upd = await tx.query<AccountRow>(
      `UPDATE account SET balance_fen = balance_fen + $2,
              warned = CASE WHEN balance_fen + $2 > warning_fen THEN FALSE ELSE warned END
        WHERE id = $1 RETURNING ${ACCOUNT_COLUMNS}`,
      [input.accountId, input.amountFen],
    );
    const a = upd.rows[0]!;
    await this.event(tx, input.accountId, 'top-up', { paymentId: input.paymentId, amountFen: input.amountFen, balanceFen: Number(a.balance_fen) });
    let reconnectJobId: number | null = null;
    if (account.cut_reason === 'arrears' && Number(a.balance_fen) > 0) {
      await tx.query(`UPDATE account SET cut_reason = NULL WHERE id = $1`, [input.accountId]);
      const delay = this.faults.reconnectDelayMs ?? 0;
      reconnectJobId = await this.enqueue(tx, input.accountId, 'reconnect', 'top-up', false, this.now() + delay);
    }
    return { credited: true, balanceFen: Number(a.balance_fen), reconnectJobId };
  }

  /** faults.volatileTopUps: the broken station's in-memory credit. */
  private async volatileTopUp(input: TopUpInput): Promise<TopUpResult> {
    const account = await this.getAccount(input.accountId);
    if (!this.volatileTopUps.some((t) => t.paymentId === input.paymentId)) this.volatileTopUps.push(input);
    // It still reconnects (from memory), so only a restart shows the defect.
    const pending = this.volatileTopUps.filter((t) => t.accountId === input.accountId).reduce((s, t) => s + t.amountFen, 0);
    const balance = account.balanceFen + pending;
    let reconnectJobId: number | null = null;
    if (account.cutReason === 'arrears' && balance > 0) {
      reconnectJobId = await this.tx(async (tx) => {
        await tx.query(`UPDATE account SET cut_reason = NULL WHERE id = $1`, [input.accountId]);
        return this.enqueue(tx, input.accountId, 'reconnect', 'top-up', false, this.now());
      });
      this.wake();
    }
    return { credited: true, balanceFen: balance, reconnectJobId };
  }

  private async flushVolatileTopUps(): Promise<void> {
    const list = this.volatileTopUps.splice(0);
    for (const t of list) {
      await this.tx(async (tx) => {
        const acc = await tx.query<AccountRow>(`SELECT ${ACCOUNT_COLUMNS} FROM account WHERE id = $1 FOR UPDATE`, [t.accountId]);
        const ins = await tx.query(`INSERT INTO top_up (payment_id, account_id, amount_fen, received_at) VALUES ($1, $2, $3, $4) ON CONFLICT DO NOTHING RETURNING payment_id`, [
          t.paymentId,
          t.accountId,
          t.amountFen,
          this.now(),
        ]);
        if (ins.rows.length > 0) await this.credit(tx, { ...acc.rows[0]!, cut_reason: null }, t);
      });
    }
  }

  // -------------------------------------------------------------------------------------------
  // Forced reconnection and batch payment mode (FEE-18)

  async forceReconnect(input: ForceReconnectInput): Promise<SwitchJob> {
    if (input.operator.trim() === '') throw new StationRequestError('invalid', 'operator: who forces the reconnection must be named (it is audited)');
    const job = await this.tx(async (tx) => {
      const acc = await tx.query<AccountRow>(`SELECT ${ACCOUNT_COLUMNS} FROM account WHERE id = $1 FOR UPDATE`, [input.accountId]);
      if (acc.rows.length === 0) throw new StationRequestError('not-found', `no account ${input.accountId}`);
      await tx.query(`UPDATE account SET cut_reason = NULL WHERE id = $1`, [input.accountId]);
      const id = await this.enqueue(tx, input.accountId, 'reconnect', 'forced', true, this.now());
      await this.event(tx, input.accountId, 'forced-reconnect', { operator: input.operator, reason: input.reason, balanceFen: Number(acc.rows[0]!.balance_fen), jobId: id });
      const { rows } = await tx.query<JobRow>(`SELECT ${JOB_COLUMNS} FROM switch_job WHERE id = $1`, [id]);
      return toJob(rows[0]!);
    });
    this.wake();
    return job;
  }

  async batchPaymentMode(input: BatchPaymentModeInput): Promise<BatchItemResult[]> {
    if (input.operator.trim() === '') throw new StationRequestError('invalid', 'operator: who changes the payment mode must be named (it is audited)');
    const results: BatchItemResult[] = [];
    for (const accountId of input.accountIds) {
      try {
        results.push(
          await this.tx(async (tx) => {
            const acc = await tx.query<AccountRow>(`SELECT ${ACCOUNT_COLUMNS} FROM account WHERE id = $1 FOR UPDATE`, [accountId]);
            if (acc.rows.length === 0) return { accountId, ok: false, paymentMode: null, error: `no account ${accountId}` };
            const a = acc.rows[0]!;
            let switchJobId: number | null = null;
            if (a.payment_mode !== input.paymentMode) {
              await tx.query(`UPDATE account SET payment_mode = $2 WHERE id = $1`, [accountId, input.paymentMode]);
              // A postpaid account is not kept cut by prepaid arrears: reconnect it.
              if (input.paymentMode === 'postpaid' && a.cut_reason === 'arrears') {
                await tx.query(`UPDATE account SET cut_reason = NULL WHERE id = $1`, [accountId]);
                switchJobId = await this.enqueue(tx, accountId, 'reconnect', 'payment-mode', false, this.now());
              }
              await this.event(tx, accountId, 'payment-mode-changed', { from: a.payment_mode, to: input.paymentMode, operator: input.operator });
            }
            return { accountId, ok: true, paymentMode: input.paymentMode, switchJobId };
          }),
        );
      } catch (e) {
        if (e instanceof StationCrashedError) throw e;
        results.push({ accountId, ok: false, paymentMode: null, error: `not changed: ${(e as Error).message}` });
      }
    }
    this.wake();
    return results;
  }

  // -------------------------------------------------------------------------------------------
  // Queries

  async events(options: { afterId?: number; accountId?: string; limit?: number } = {}): Promise<StationEvent[]> {
    const { rows } = await this.q<{ id: number; at: number; account_id: string | null; kind: string; detail: unknown }>(
      `SELECT id, at, account_id, kind, detail FROM event WHERE id > $1 AND ($2::text IS NULL OR account_id = $2) ORDER BY id LIMIT $3`,
      [options.afterId ?? 0, options.accountId ?? null, options.limit ?? 1000],
    );
    return rows.map((r) => ({
      id: Number(r.id),
      at: Number(r.at),
      accountId: r.account_id,
      kind: r.kind,
      detail: (typeof r.detail === 'string' ? JSON.parse(r.detail) : r.detail) as Record<string, unknown>,
    }));
  }

  async worklist(): Promise<SwitchJob[]> {
    const { rows } = await this.q<JobRow>(`SELECT ${JOB_COLUMNS} FROM switch_job WHERE state = 'failed' ORDER BY finished_at DESC, id DESC`);
    return rows.map(toJob);
  }

  async listJobs(options: { afterId?: number; limit?: number } = {}): Promise<SwitchJob[]> {
    const { rows } = await this.q<JobRow>(`SELECT ${JOB_COLUMNS} FROM switch_job WHERE id > $1 ORDER BY id LIMIT $2`, [options.afterId ?? 0, options.limit ?? 1000]);
    return rows.map(toJob);
  }

  async getJob(id: number): Promise<SwitchJob> {
    const { rows } = await this.q<JobRow>(`SELECT ${JOB_COLUMNS} FROM switch_job WHERE id = $1`, [id]);
    if (rows.length === 0) throw new StationRequestError('not-found', `no switching job ${id}`);
    return toJob(rows[0]!);
  }

  async jobs(accountId?: string): Promise<SwitchJob[]> {
    const { rows } = await this.q<JobRow>(`SELECT ${JOB_COLUMNS} FROM switch_job WHERE ($1::text IS NULL OR account_id = $1) ORDER BY id`, [accountId ?? null]);
    return rows.map(toJob);
  }

  // -------------------------------------------------------------------------------------------
  // Daily billing (FEE-13)

  private scheduleBilling(): void {
    if (!this.running) return;
    const now = this.now();
    const c = toCalendar(now, this.utcOffset);
    let at = fromCalendar({ year: c.year, month: c.month, day: c.day, hour: 0, minute: 0, second: 0 }, this.utcOffset) + (this.options.billingMinute ?? DEFAULT_BILLING_MINUTE) * 60_000;
    if (at <= now) at += 86_400_000;
    this.billingTimer = this.clock.setTimeout(() => {
      this.billingRun = this.runBilling()
        .then(() => undefined)
        .catch((e: unknown) => this.log(`billing run failed: ${(e as Error).message}`))
        .finally(() => {
          this.billingRun = null;
        });
      this.scheduleBilling();
    }, at - now);
  }

  /**
   * One billing run: every prepaid account's last daily freeze is read (its time and forward
   * active energy) and charged against the previous one. Accounts whose meter did not answer are
   * read again every `readingRetryMs` until all are read or the next run is due.
   * Returns the number of accounts charged.
   */
  async runBilling(): Promise<number> {
    if (this.faults.volatileTopUps) await this.flushVolatileTopUps();
    const started = this.now();
    const retryMs = this.options.readingRetryMs ?? DEFAULT_READING_RETRY_MS;
    const { rows } = await this.q<AccountRow>(`SELECT ${ACCOUNT_COLUMNS} FROM account WHERE payment_mode = 'prepaid' ORDER BY channel_id, id`);
    let todo = rows;
    let charged = 0;
    while (todo.length > 0) {
      const failed: AccountRow[] = [];
      const byChannel = new Map<string, AccountRow[]>();
      for (const a of todo) {
        const list = byChannel.get(a.channel_id);
        if (list) list.push(a);
        else byChannel.set(a.channel_id, [a]);
      }
      // Channels in parallel; the meters of one channel one after the other (one line, one master).
      await Promise.all(
        [...byChannel.values()].map(async (list) => {
          for (const a of list) {
            if (this.crashed) return;
            try {
              if (await this.billAccount(a)) charged++;
            } catch (e) {
              if (e instanceof StationCrashedError) return;
              failed.push(a);
              await this.q(`INSERT INTO event (at, account_id, kind, detail) VALUES ($1, $2, 'reading-failed', $3)`, [
                this.now(),
                a.id,
                JSON.stringify({ error: (e as Error).message }),
              ]).catch(() => undefined);
            }
          }
        }),
      );
      // Disconnections and warnings decided in this pass go out now, not after the retries.
      this.wake();
      this.kickSms();
      if (failed.length === 0 || this.crashed) break;
      if (this.now() + retryMs >= started + 86_400_000 - retryMs) break;
      await this.clock.sleep(retryMs);
      if (this.crashed) break;
      todo = failed;
    }
    this.wake();
    this.kickSms();
    return charged;
  }
  /** Reads one meter's last daily freeze and charges it. Returns whether a charge was made. */
  private async billAccount(a: AccountRow): Promise<boolean> {
    const master = this.masterFor(a.channel_id);
    const t = await master.readData(a.meter_address, DI_LAST_DAILY_FREEZE_TIME);
    const e = await master.readData(a.meter_address, DI_LAST_DAILY_FREEZE_ENERGY);
    const time = t.value as { year: number; month: number; day: number } | undefined;
    const energy = Array.isArray(e.value) ? (e.value[0] as number) : undefined;
    if (!time || typeof energy !== 'number') throw new Error(`meter ${a.meter_address}: daily freeze not decodable (${t.valueError?.message ?? e.valueError?.message ?? 'unexpected value'})`);
    // A meter that has not frozen a day yet answers zeros (no month 0, no day 0): nothing to bill.
    if (time.month < 1 || time.month > 12 || time.day < 1 || time.day > 31) return false;
    // The freeze at 00:00 of day D closes day D-1; it is keyed by D.
    const day = dayKey(time.year, time.month, time.day);
    const energyWh = Math.round(energy * 1000);
    return this.tx(async (tx) => {
      const ins = await tx.query(`INSERT INTO daily_reading (account_id, day, energy_wh, read_at) VALUES ($1, $2, $3, $4) ON CONFLICT DO NOTHING RETURNING day`, [a.id, day, energyWh, this.now()]);
      if (ins.rows.length === 0) return false; // this freeze was billed already
      const prev = await tx.query<{ energy_wh: number }>(`SELECT energy_wh FROM daily_reading WHERE account_id = $1 AND day < $2 ORDER BY day DESC LIMIT 1`, [a.id, day]);
      if (prev.rows.length === 0) return false; // the first reading is the baseline
      const usedWh = Math.max(0, energyWh - Number(prev.rows[0]!.energy_wh));
      const amount = Math.round((usedWh * a.tariff_fen_per_kwh) / 1000);
      const ch = await tx.query(`INSERT INTO charge (account_id, day, energy_wh, amount_fen, charged_at) VALUES ($1, $2, $3, $4, $5) ON CONFLICT DO NOTHING RETURNING day`, [a.id, day, usedWh, amount, this.now()]);
      if (ch.rows.length === 0) return false;
      const upd = await tx.query<AccountRow>(`UPDATE account SET balance_fen = balance_fen - $2 WHERE id = $1 RETURNING ${ACCOUNT_COLUMNS}`, [a.id, amount]);
      const acc = upd.rows[0]!;
      const balance = Number(acc.balance_fen);
      await this.event(tx, a.id, 'charge', { day, energyWh: usedWh, amountFen: amount, balanceFen: balance });
      if (balance <= Number(acc.warning_fen) && !acc.warned) {
        await tx.query(`UPDATE account SET warned = TRUE WHERE id = $1`, [a.id]);
        const text = warningText({ id: a.id, balanceFen: balance, warningFen: Number(acc.warning_fen) });
        await tx.query(`INSERT INTO sms_outbox (account_id, phone, text, created_at) VALUES ($1, $2, $3, $4)`, [a.id, acc.phone, text, this.now()]);
        await this.event(tx, a.id, 'sms-queued', { balanceFen: balance, warningFen: Number(acc.warning_fen) });
      }
      await this.decideArrears(tx, acc);
      return true;
    });
  }

  // -------------------------------------------------------------------------------------------
  // Switching jobs

  /** Queues a job, replacing the account's pending one (the latest decision wins). Returns its id. */
  private async enqueue(tx: Queryable, accountId: string, action: SwitchAction, reason: string, forced: boolean, nextAt: number): Promise<number> {
    const now = this.now();
    await tx.query(`UPDATE switch_job SET state = 'cancelled', finished_at = $2 WHERE account_id = $1 AND state = 'pending'`, [accountId, now]);
    const { rows } = await tx.query<{ id: number }>(
      `INSERT INTO switch_job (account_id, action, reason, forced, state, next_at, created_at) VALUES ($1, $2, $3, $4, 'pending', $5, $6) RETURNING id`,
      [accountId, action, reason, forced, nextAt, now],
    );
    const id = Number(rows[0]!.id);
    await this.event(tx, accountId, `${action}-requested`, { jobId: id, reason, forced });
    return id;
  }

  /** Wakes the worker; a wake-up while it is busy is kept for its next wait, never lost. */
  private wake(): void {
    const w = this.wakeWorker;
    this.wakeWorker = null;
    if (w) w();
    else this.wakePending = true;
  }
  private wakePending = false;

  private async workLoop(): Promise<void> {
    while (this.running) {
      this.wakePending = false;
      let due: JobRow[];
      try {
        due = (await this.q<JobRow>(`SELECT ${JOB_COLUMNS} FROM switch_job WHERE state = 'pending' AND next_at <= $1 ORDER BY next_at, id LIMIT 500`, [this.now()])).rows;
      } catch (e) {
        if (e instanceof StationCrashedError) return;
        this.log(`worker: ${(e as Error).message}`);
        due = [];
      }
      if (!this.running) return;
      for (const j of due) {
        if (this.busy.has(j.account_id)) continue;
        this.busy.add(j.account_id);
        const p = this.runJob(toJob(j)).finally(() => {
          this.busy.delete(j.account_id);
          this.inFlight.delete(p);
          this.wake();
        });
        this.inFlight.add(p);
      }
      if (!this.running) return;
      let next: number | null = null;
      try {
        const r = await this.q<{ next: number | null }>(`SELECT min(next_at) AS next FROM switch_job WHERE state = 'pending' AND next_at > $1`, [this.now()]);
        next = r.rows[0]?.next === null || r.rows[0]?.next === undefined ? null : Number(r.rows[0].next);
      } catch (e) {
        if (e instanceof StationCrashedError) return;
      }
      if (!this.running) return;
      if (this.wakePending) continue;
      await new Promise<void>((resolve) => {
        this.wakeWorker = resolve;
        if (next !== null) this.workerTimer = this.clock.setTimeout(() => this.wake(), next - this.now());
      });
      this.clock.clearTimeout(this.workerTimer);
    }
  }

  /** One attempt of a job; records its outcome (done, failed with a layer, or another attempt later). */
  private async runJob(job: SwitchJob): Promise<void> {
    let outcome: { ok: true; relay: 'open' | 'closed' } | { ok: false; failure: SwitchFailure } | { cancelled: string };
    try {
      const account = await this.getAccount(job.accountId);
      const stillWanted = this.stillWanted(job, account);
      if (stillWanted !== null) outcome = { cancelled: stillWanted };
      else outcome = { ok: true, relay: await this.switchMeter(job, account) };
    } catch (e) {
      if (e instanceof StationCrashedError || this.crashed) return;
      outcome = { ok: false, failure: e instanceof SwitchFailure ? e : new SwitchFailure('station', (e as Error).message, true) };
    }
    try {
      await this.tx(async (tx) => {
        const now = this.now();
        const attempts = job.attempts + 1;
        if ('cancelled' in outcome) {
          await tx.query(`UPDATE switch_job SET state = 'cancelled', finished_at = $2, cause_detail = $3 WHERE id = $1 AND state = 'pending'`, [job.id, now, outcome.cancelled]);
          return;
        }
        if (outcome.ok) {
          const upd = await tx.query(`UPDATE switch_job SET state = 'done', attempts = $2, finished_at = $3 WHERE id = $1 AND state = 'pending'`, [job.id, attempts, now]);
          await tx.query(`UPDATE account SET relay = $2 WHERE id = $1`, [job.accountId, outcome.relay]);
          if (upd.affectedRows > 0) await this.event(tx, job.accountId, 'switch-done', { jobId: job.id, action: job.action, attempts, relay: outcome.relay });
          return;
        }
        const f = outcome.failure;
        if (f.retry && attempts < this.attempts) {
          const wait = this.backoff[Math.min(attempts - 1, this.backoff.length - 1)]!;
          await tx.query(`UPDATE switch_job SET attempts = $2, next_at = $3, cause_layer = $4, cause_detail = $5 WHERE id = $1 AND state = 'pending'`, [job.id, attempts, now + wait, f.layer, f.message]);
          await this.event(tx, job.accountId, 'switch-attempt-failed', { jobId: job.id, action: job.action, attempt: attempts, layer: f.layer, detail: f.message, retryAt: now + wait });
        } else {
          const upd = await tx.query(`UPDATE switch_job SET state = 'failed', attempts = $2, finished_at = $3, cause_layer = $4, cause_detail = $5 WHERE id = $1 AND state = 'pending'`, [
            job.id,
            attempts,
            now,
            f.layer,
            f.message,
          ]);
          if (upd.affectedRows > 0) await this.event(tx, job.accountId, 'switch-failed', { jobId: job.id, action: job.action, attempts, layer: f.layer, detail: f.message });
        }
      });
    } catch (e) {
      if (!(e instanceof StationCrashedError)) this.log(`job ${job.id}: ${(e as Error).message}`);
    }
  }

  /** Null when the job should still run; otherwise why it is no longer wanted. */
  private stillWanted(job: SwitchJob, a: Account): string | null {
    if (job.action === 'disconnect') {
      if (a.cutReason !== 'arrears') return 'the account is no longer cut for arrears';
      if (a.balanceFen > 0) return 'the balance is positive again';
      return null;
    }
    if (a.cutReason !== null && !job.forced) return 'the account is cut for arrears again';
    return null;
  }

  /** Sends the command and confirms the relay through status word 3. Returns the confirmed state. */
  private async switchMeter(job: SwitchJob, a: Account): Promise<'open' | 'closed'> {
    if (job.action === 'disconnect' && a.keepPower !== null && !this.faults.ignoreKeepPower) {
      throw new SwitchFailure('keep-power', `account ${a.id} is keep-power (${a.keepPower}): KP-06 forbids a trip`, false);
    }
    const master = this.masterFor(a.channelId);
    const command =
      job.action === 'disconnect' ? RemoteControlCommand.Trip : this.reconnectCommand === 'direct-close' ? RemoteControlCommand.DirectClose : RemoteControlCommand.CloseAllowed;
    this.log(`job ${job.id} attempt ${job.attempts + 1}: ${job.action} ${a.meterAddress} (1CH N1 ${command.toString(16).toUpperCase()}H)`);
    try {
      await master.remoteControl(a.meterAddress, {
        command,
        password: this.options.remoteControl.password,
        operator: this.options.remoteControl.operator,
        validUntil: this.validUntil(),
      });
    } catch (e) {
      throw this.classify(e, a);
    }
    const wantOpen = job.action === 'disconnect';
    const deadline = this.now() + this.settleMs;
    for (;;) {
      let sw3: ReturnType<typeof decodeStatusWord3>;
      try {
        const r = await master.readData(a.meterAddress, DI_STATUS_WORD_3);
        if (typeof r.value !== 'number') throw new SwitchFailure('channel', `status word 3 of ${a.meterAddress} not decodable`, true);
        sw3 = decodeStatusWord3(r.value);
      } catch (e) {
        throw e instanceof SwitchFailure ? e : this.classify(e, a);
      }
      if ((sw3.relay === 'open') === wantOpen) return wantOpen ? 'open' : 'closed';
      if (wantOpen && sw3.keepPower) throw new SwitchFailure('keep-power', `meter ${a.meterAddress} is in keep-power (status word 3 bit 12): the trip was not carried out`, false);
      if (this.now() + this.pollMs > deadline) {
        throw new SwitchFailure('relay-fault', `meter ${a.meterAddress} acknowledged the ${job.action} but status word 3 still reports the relay ${sw3.relay} after ${this.settleMs} ms`, true);
      }
      await this.clock.sleep(this.pollMs);
    }
  }

  private classify(e: unknown, a: Account): SwitchFailure {
    if (e instanceof Dlt645AbnormalReplyError) {
      return new SwitchFailure('meter-refusal', `meter ${a.meterAddress} refused (error word ${e.errorWord.toString(16).padStart(2, '0').toUpperCase()}H: ${e.errors.join(', ') || 'no bit set'})`, false);
    }
    if (e instanceof TimeoutError || e instanceof LinkError) return new SwitchFailure('channel', `channel ${a.channelId}: ${(e as Error).message}`, true);
    if (e instanceof StationRequestError) return new SwitchFailure('station', e.message, false);
    return new SwitchFailure('station', (e as Error).message, true);
  }

  private validUntil(): FrameDateTime {
    const c = toCalendar(this.now() + this.validForMs, this.utcOffset);
    return { year: c.year, month: c.month, day: c.day, hour: c.hour, minute: c.minute, second: c.second };
  }

  private masterFor(channelId: string): Dlt645Master {
    if (this.crashed) throw new StationCrashedError();
    let m = this.masters.get(channelId);
    if (m) return m;
    const channel = this.channels.get(channelId) ?? { id: channelId, kind: 'rs485' as const, description: '' };
    const link = this.options.links(channel);
    if (!link) throw new SwitchFailure('station', `channel ${channelId}: the station has no link to it`, false);
    m = new Dlt645Master({ link, clock: this.clock, callSites: false, ...this.options.master, ...this.options.channelMaster?.(channel) });
    this.masters.set(channelId, m);
    return m;
  }

  // -------------------------------------------------------------------------------------------
  // SMS outbox

  private kickSms(): void {
    if (!this.running || this.smsRunning) return;
    this.smsRunning = this.sendOutbox()
      .then(() => undefined)
      .catch((e: unknown) => this.log(`sms: ${(e as Error).message}`))
      .finally(() => {
        this.smsRunning = null;
      });
  }

  /** Sends every unsent SMS; failures are retried after SMS_RETRY_MS. Returns how many were sent. */
  async sendOutbox(): Promise<number> {
    const { rows } = await this.q<{ id: number; account_id: string; phone: string; text: string }>(`SELECT id, account_id, phone, text FROM sms_outbox WHERE sent_at IS NULL ORDER BY id LIMIT 1000`);
    let sent = 0;
    let failed = 0;
    for (const m of rows) {
      const release = this.hold();
      try {
        await this.options.sms.send({ to: m.phone, text: m.text, accountId: m.account_id, reference: `sms-${Number(m.id)}` });
        sent++;
        await this.q(`UPDATE sms_outbox SET sent_at = $2, attempts = attempts + 1 WHERE id = $1`, [m.id, this.now()]);
        await this.q(`INSERT INTO event (at, account_id, kind, detail) VALUES ($1, $2, 'sms-sent', $3)`, [this.now(), m.account_id, JSON.stringify({ smsId: Number(m.id) })]);
      } catch (e) {
        if (e instanceof StationCrashedError) throw e;
        failed++;
        await this.q(`UPDATE sms_outbox SET attempts = attempts + 1 WHERE id = $1`, [m.id]);
        await this.q(`INSERT INTO event (at, account_id, kind, detail) VALUES ($1, $2, 'sms-failed', $3)`, [this.now(), m.account_id, JSON.stringify({ smsId: Number(m.id), error: (e as Error).message })]);
      } finally {
        release();
      }
    }
    if ((failed > 0 || rows.length === 1000) && this.running) {
      this.clock.clearTimeout(this.smsTimer);
      this.smsTimer = this.clock.setTimeout(() => this.kickSms(), failed > 0 ? SMS_RETRY_MS : 0);
    }
    return sent;
  }

  private log(message: string): void {
    this.options.logger?.(`master-station: ${message}`);
  }
}

/** Work of a crashed station stops at its next statement. */
export class StationCrashedError extends Error {
  override readonly name = 'StationCrashedError';
  constructor() {
    super('the station crashed');
  }
}
