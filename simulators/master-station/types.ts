/**
 * What the reference master station does, as the HTTP API (api.ts) and the system switching
 * suite see it. station.ts implements it over the storage contract (db.ts).
 *
 * Money is in fen (分, 0.01 yuan), energy in Wh, instants in epoch ms of the station's Clock.
 */

export type PaymentMode = 'prepaid' | 'postpaid';
/** KP-06: master, global, local and holiday keep-power (保电); null = an ordinary customer. */
export type KeepPowerClass = 'master' | 'global' | 'local' | 'holiday';
export const KEEP_POWER_CLASSES: readonly KeepPowerClass[] = ['master', 'global', 'local', 'holiday'];
export type RelayKnowledge = 'closed' | 'open' | 'unknown';

export interface Channel {
  readonly id: string;
  /** 'concentrator': a port of a concentrator, reached by AFN 10 F1 forwarding (issue 12). */
  readonly kind: 'rs485' | 'tcp' | 'concentrator';
  readonly description: string;
}

export interface AccountInput {
  /** Customer number (户号): 1-32 letters, digits, '-' or '_'. */
  readonly id: string;
  readonly name: string;
  readonly phone: string;
  /** 12 BCD digits, most significant first. */
  readonly meterAddress: string;
  readonly channelId: string;
  readonly paymentMode: PaymentMode;
  readonly tariffFenPerKwh: number;
  readonly keepPower: KeepPowerClass | null;
  readonly warningFen: number;
  /** Opening balance. Default 0. */
  readonly balanceFen?: number;
  /**
   * The meter's forward active energy when the account opened (装表示数, Wh), as the installer
   * recorded it: the first day is billed from it. Without it the first daily freeze read is the
   * baseline and the usage before it is not billed.
   */
  readonly openingEnergyWh?: number;
  /**
   * True: the station takes at once, on the opening balance, the cost-control decision its billing
   * run takes after a charge — a prepaid account at or below 0 is cut for arrears and a
   * disconnection queued (a keep-power account: recorded, never cut; KP-06). For accounts migrated
   * from another system already in arrears (the vendor-station run of the system switching suite
   * loads them so). Default false: an opening balance alone decides nothing until the next billing.
   */
  readonly costControlAtOpening?: boolean;
}

export interface Account extends Required<Omit<AccountInput, 'openingEnergyWh' | 'costControlAtOpening'>> {
  readonly relay: RelayKnowledge;
  /** Why the station wants the relay open, or null when it wants it closed. */
  readonly cutReason: 'arrears' | null;
  readonly warned: boolean;
  readonly createdAt: number;
}

export interface TopUpInput {
  /** The payment system's id: the same id twice is one top-up (exactly-once). */
  readonly paymentId: string;
  readonly accountId: string;
  readonly amountFen: number;
}

export interface TopUpResult {
  /** False when this payment id was already credited: the balance did not change again. */
  readonly credited: boolean;
  readonly balanceFen: number;
  /** The reconnection job the top-up started, when it started one. */
  readonly reconnectJobId: number | null;
}

export type SwitchAction = 'disconnect' | 'reconnect';
export type SwitchState = 'pending' | 'done' | 'failed' | 'cancelled';
/** FEE-19: where a failed switch went wrong. */
export type FailureLayer = 'station' | 'channel' | 'meter-refusal' | 'relay-fault' | 'keep-power';
export const FAILURE_LAYERS: readonly FailureLayer[] = ['station', 'channel', 'meter-refusal', 'relay-fault', 'keep-power'];

export interface SwitchJob {
  readonly id: number;
  readonly accountId: string;
  readonly action: SwitchAction;
  readonly reason: string;
  readonly forced: boolean;
  readonly state: SwitchState;
  readonly attempts: number;
  readonly nextAt: number;
  readonly createdAt: number;
  readonly finishedAt: number | null;
  readonly causeLayer: FailureLayer | null;
  readonly causeDetail: string | null;
}

export interface ForceReconnectInput {
  readonly accountId: string;
  /** Who forced it (audited). */
  readonly operator: string;
  readonly reason: string;
}

export interface BatchPaymentModeInput {
  readonly accountIds: readonly string[];
  readonly paymentMode: PaymentMode;
  readonly operator: string;
}

/** FEE-18: one result per account of the batch, in the order given; none left out. */
export interface BatchItemResult {
  readonly accountId: string;
  readonly ok: boolean;
  /** The mode after the batch (unchanged when !ok). */
  readonly paymentMode: PaymentMode | null;
  /** Why it failed, in words. */
  readonly error?: string;
  /** A switching job the change started (a postpaid account no longer kept cut for arrears). */
  readonly switchJobId?: number | null;
}

export interface StationEvent {
  readonly id: number;
  readonly at: number;
  readonly accountId: string | null;
  readonly kind: string;
  readonly detail: Record<string, unknown>;
}

/** Thrown by StationService methods for a request that cannot be carried out; the API maps it to 4xx. */
export class StationRequestError extends Error {
  override readonly name = 'StationRequestError';
  constructor(
    /** 'not-found' -> 404, 'conflict' -> 409, 'invalid' -> 400. */
    readonly code: 'not-found' | 'conflict' | 'invalid',
    message: string,
  ) {
    super(message);
  }
}

export interface StationService {
  addChannel(channel: Channel): Promise<Channel>;
  listChannels(): Promise<Channel[]>;
  createAccount(input: AccountInput): Promise<Account>;
  getAccount(id: string): Promise<Account>;
  listAccounts(options?: { offset?: number; limit?: number }): Promise<Account[]>;
  topUp(input: TopUpInput): Promise<TopUpResult>;
  forceReconnect(input: ForceReconnectInput): Promise<SwitchJob>;
  batchPaymentMode(input: BatchPaymentModeInput): Promise<BatchItemResult[]>;
  /** Events after `afterId` (exclusive), oldest first, at most `limit`. */
  events(options?: { afterId?: number; accountId?: string; limit?: number }): Promise<StationEvent[]>;
  /** FEE-19: failed switching jobs, newest first, each with its cause layer. */
  worklist(): Promise<SwitchJob[]>;
  /** Every switching job with an id above `afterId`, oldest first, at most `limit` (an export for the system switching suite). */
  listJobs(options?: { afterId?: number; limit?: number }): Promise<SwitchJob[]>;
  getJob(id: number): Promise<SwitchJob>;
}
