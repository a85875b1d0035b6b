/**
 * The HTTP API's request and response shapes, written once in zod (api.ts validates requests
 * with them and turns them into JSON Schema with `z.toJSONSchema` for the OpenAPI document).
 * Each mirrors a type of types.ts; api.test.ts checks the canned service values against the
 * response schemas, and the type assertions at the bottom keep request schemas and types in step.
 */
import { z } from 'zod';
import type { AccountInput, BatchPaymentModeInput, Channel, FailureLayer, KeepPowerClass, TopUpInput } from './types.ts';

/**
 * Largest single top-up the API accepts: 10,000,000 fen = 100,000 yuan. A residential prepaid
 * purchase is tens to thousands of yuan; an amount this large is a unit mistake (yuan keyed as
 * fen × 100, a card number in the amount field) and is refused before it reaches a balance.
 * It also keeps every sum of top-ups far inside Number.MAX_SAFE_INTEGER and the BIGINT columns.
 */
export const MAX_TOP_UP_FEN = 10_000_000;
/**
 * Largest tariff, warning amount or opening balance magnitude: 100,000,000 fen = 1,000,000 yuan,
 * far above any residential figure, so a value above it is a unit mistake (same reasoning).
 */
export const MAX_MONEY_FEN = 100_000_000;
/** FEE-18 batches: at most this many accounts in one request (the task's limit; ~0.4 MB of ids). */
export const MAX_BATCH_ACCOUNTS = 10_000;
/** Largest page of accounts or events one request returns. */
export const MAX_PAGE = 1_000;
/** Free text (names, operators, reasons, channel descriptions): at most this many characters. */
export const MAX_TEXT = 200;

/** Customer number (户号), types.ts AccountInput.id: 1-32 letters, digits, '-' or '_'. */
export const AccountIdSchema = z
  .string()
  .regex(/^[A-Za-z0-9_-]{1,32}$/, { error: 'must be 1-32 letters, digits, "-" or "_"' });
/** Channel ids follow the same rule as customer numbers. */
export const ChannelIdSchema = AccountIdSchema;
/** DL/T 645-2007 meter address: 6 bytes BCD = 12 decimal digits, most significant first. */
export const MeterAddressSchema = z.string().regex(/^[0-9]{12}$/, { error: 'must be exactly 12 decimal digits' });
/** A phone number: an optional '+' and 5-20 digits (11 for a mainland mobile). */
export const PhoneSchema = z.string().regex(/^\+?[0-9]{5,20}$/, { error: 'must be an optional "+" and 5-20 digits' });
const Text = z.string().trim().min(1).max(MAX_TEXT);
const PaymentModeSchema = z.enum(['prepaid', 'postpaid']);
const KeepPowerSchema = z.enum(['master', 'global', 'local', 'holiday'] as const satisfies readonly KeepPowerClass[]);
const Fen = (min: number, max: number) => z.number().int().min(min).max(max);

// ---- requests ---------------------------------------------------------------------------

export const ChannelBody = z.strictObject({
  id: ChannelIdSchema,
  kind: z.enum(['rs485', 'tcp']),
  description: z.string().max(MAX_TEXT),
});

export const AccountBody = z.strictObject({
  id: AccountIdSchema,
  name: Text,
  phone: PhoneSchema,
  meterAddress: MeterAddressSchema,
  channelId: ChannelIdSchema,
  paymentMode: PaymentModeSchema,
  tariffFenPerKwh: Fen(0, MAX_MONEY_FEN),
  keepPower: KeepPowerSchema.nullable(),
  warningFen: Fen(0, MAX_MONEY_FEN),
  balanceFen: Fen(-MAX_MONEY_FEN, MAX_MONEY_FEN).optional(),
  /** 装表示数 in Wh: at most 999999.99 kWh, the largest XXXXXX.XX energy register (DL/T 645). */
  openingEnergyWh: z.number().int().min(0).max(999_999_990).optional(),
  /** Decide on the opening balance at once, as billing would (types.ts AccountInput.costControlAtOpening). */
  costControlAtOpening: z.boolean().optional(),
});

export const TopUpBody = z.strictObject({
  /** The payment system's id: any 1-64 printable ASCII characters. */
  paymentId: z.string().regex(/^[\x21-\x7e]{1,64}$/, { error: 'must be 1-64 printable ASCII characters without spaces' }),
  accountId: AccountIdSchema,
  amountFen: Fen(1, MAX_TOP_UP_FEN),
});

export const ForceReconnectBody = z.strictObject({ operator: Text, reason: Text });

export const BatchPaymentModeBody = z.strictObject({
  accountIds: z
    .array(AccountIdSchema)
    .min(1)
    .max(MAX_BATCH_ACCOUNTS)
    .superRefine((ids, ctx) => {
      const seen = new Set<string>();
      for (const [i, id] of ids.entries()) {
        if (seen.has(id)) {
          ctx.addIssue({ code: 'custom', path: [i], message: `repeats account ${id} (each account once per batch)` });
          return;
        }
        seen.add(id);
      }
    }),
  paymentMode: PaymentModeSchema,
  operator: Text,
});

/** A non-negative integer in a query string or path (they arrive as text). */
const IntText = (min: number, max: number) =>
  z
    .string()
    .regex(/^[0-9]{1,15}$/, { error: 'must be a whole number' })
    .transform((s) => Number(s))
    .pipe(z.number().int().min(min).max(max));

/** Routes that take no query parameters refuse any (a typo such as ?limt=5 is not ignored). */
export const NoQuery = z.strictObject({});
export const AccountIdParams = z.strictObject({ id: AccountIdSchema });
export const JobIdParams = z.strictObject({ id: IntText(1, Number.MAX_SAFE_INTEGER) });
export const AccountsQuery = z.strictObject({
  offset: IntText(0, Number.MAX_SAFE_INTEGER).optional(),
  limit: IntText(1, MAX_PAGE).optional(),
});
export const JobsQuery = z.strictObject({
  afterId: IntText(0, Number.MAX_SAFE_INTEGER).optional(),
  limit: IntText(1, MAX_PAGE).optional(),
});
export const EventsQuery = z.strictObject({
  afterId: IntText(0, Number.MAX_SAFE_INTEGER).optional(),
  accountId: AccountIdSchema.optional(),
  limit: IntText(1, MAX_PAGE).optional(),
});

// ---- responses (documentation; api.test.ts checks canned values against them) -------------

/** A local collection day, a real date: "2026-01-11". */
const CollectionDay = z
  .string()
  .regex(/^\d{4}-\d{2}-\d{2}$/, { error: 'must be a date "YYYY-MM-DD"' })
  .refine((d) => {
    const [y, m, day] = d.split('-').map(Number) as [number, number, number];
    const t = new Date(Date.UTC(y, m - 1, day));
    return t.getUTCFullYear() === y && t.getUTCMonth() === m - 1 && t.getUTCDate() === day;
  }, { error: 'must be a date that exists' });
export const CollectionExportQuery = z.strictObject({ day: CollectionDay.optional() });
/** MeterLab's station export format (harness/targets/gw1376-station-export.ts); described loosely here. */
export const CollectionExportResponse = z.object({
  successRate: z.array(z.object({ day: z.string() }).passthrough()).describe('per day: per concentrator and kind due, collected, firstAttempt, offline, rounds; kinds; total'),
  readings: z.array(z.object({ areaCode: z.string(), terminal: z.number(), pn: z.number(), day: z.string() }).passthrough()).describe('every stored daily reading of those days'),
});

export const ErrorResponse = z.object({
  error: z.string().describe('short code: bad-request, unauthorized, not-found, conflict, payload-too-large, unsupported-media-type, internal'),
  message: z.string().describe('one sentence naming the field or the cause'),
});
export const ChannelResponse = z.object({ id: z.string(), kind: z.enum(['rs485', 'tcp', 'concentrator']), description: z.string() });
export const AccountResponse = z.object({
  id: z.string(),
  name: z.string(),
  phone: z.string(),
  meterAddress: z.string(),
  channelId: z.string(),
  paymentMode: PaymentModeSchema,
  tariffFenPerKwh: z.number().int(),
  keepPower: KeepPowerSchema.nullable(),
  warningFen: z.number().int(),
  balanceFen: z.number().int(),
  relay: z.enum(['closed', 'open', 'unknown']),
  cutReason: z.enum(['arrears']).nullable(),
  warned: z.boolean(),
  createdAt: z.number().int(),
});
export const TopUpResponse = z.object({
  credited: z.boolean().describe('false when this paymentId was already credited (idempotent replay)'),
  balanceFen: z.number().int(),
  reconnectJobId: z.number().int().nullable(),
});
export const SwitchJobResponse = z.object({
  id: z.number().int(),
  accountId: z.string(),
  action: z.enum(['disconnect', 'reconnect']),
  reason: z.string(),
  forced: z.boolean(),
  state: z.enum(['pending', 'done', 'failed', 'cancelled']),
  attempts: z.number().int(),
  nextAt: z.number().int(),
  createdAt: z.number().int(),
  finishedAt: z.number().int().nullable(),
  causeLayer: z.enum(['station', 'channel', 'meter-refusal', 'relay-fault', 'keep-power'] as const satisfies readonly FailureLayer[]).nullable(),
  causeDetail: z.string().nullable(),
});
export const BatchItemResponse = z.object({
  accountId: z.string(),
  ok: z.boolean(),
  paymentMode: PaymentModeSchema.nullable(),
  error: z.string().optional(),
  switchJobId: z.number().int().nullable().optional(),
});
export const BatchResponse = z.object({
  results: z.array(BatchItemResponse).describe('one per account, in the order given (FEE-18)'),
  summary: z.object({ ok: z.number().int(), failed: z.number().int() }),
});
export const EventResponse = z.object({
  id: z.number().int(),
  at: z.number().int(),
  accountId: z.string().nullable(),
  kind: z.string(),
  detail: z.record(z.string(), z.unknown()),
});
export const ChannelList = z.object({ channels: z.array(ChannelResponse) });
export const AccountList = z.object({ accounts: z.array(AccountResponse) });
export const EventList = z.object({ events: z.array(EventResponse) });
export const JobList = z.object({ jobs: z.array(SwitchJobResponse).describe('failed switching, newest first (FEE-19)') });
export const AllJobsList = z.object({ jobs: z.array(SwitchJobResponse).describe('switching jobs after afterId, oldest first') });

// Compile-time: a valid request body is assignable to the service's input type.
type Assignable<T, U extends T> = U;
export type _ChannelOk = Assignable<Channel, z.output<typeof ChannelBody>>;
export type _AccountOk = Assignable<AccountInput, z.output<typeof AccountBody>>;
export type _TopUpOk = Assignable<TopUpInput, z.output<typeof TopUpBody>>;
export type _BatchOk = Assignable<BatchPaymentModeInput, z.output<typeof BatchPaymentModeBody>>;
