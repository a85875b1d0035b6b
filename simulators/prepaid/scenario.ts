/**
 * Prepaid switching scenario (issue 9, "the system switching suite"): a seeded description of the
 * world a master station is measured against — prepaid customers, their meters on RS-485 buses,
 * faulty links and meters, and how customers behave when warned or cut off. JSON, validated with
 * zod like the fleet scenario (simulators/fleet/scenario.ts); a bad scenario is one ProfileError
 * naming every bad field (`scenario p.json: customers.topUpProbability: ...`), an unknown key
 * included (`lossy: Unrecognized key: "droprate"`).
 *
 * Money in fen (分), energy in kWh, offsets in minutes from `start`. Every default below is
 * MeterLab's choice unless its comment names a source.
 */
import { z } from 'zod';
import { ProfileError } from '../../harness/core/errors.ts';
import { readJsonDocument } from '../../harness/core/json-file.ts';
import { escapeControlCharacters } from '../../harness/core/text.ts';
import type { LineSettings } from '../../harness/links/link.ts';
import { LineSettingsSchema } from '../../harness/protocols/dlt645/declaration.ts';
import { formatIssuePath } from '../electricity-meter/index.ts';
import { busCount, busName } from '../fleet/plan.ts';
import { MAX_METERS_PER_BUS } from '../fleet/scenario.ts';

/** Largest prepaid world: the suite's default is 1,000 meters (issue 9); ten times that is room enough. */
export const MAX_PREPAID_METERS = 10_000;
/** Longest run: a simulated month (MeterLab's choice; the suite's default is 6 days). */
export const MAX_DAYS = 31;
/** Asia/Shanghai is UTC+8 all year (no daylight saving since 1991): a start without an offset is taken there. */
export const SHANGHAI_OFFSET = '+08:00';
const MINUTES_PER_DAY = 1440;

const fraction = z.number().min(0).max(1);

/** A closed range [min, max] of numbers within [lo, hi]; `integer` for fen and counts. */
function range(lo: number, hi: number, integer = false) {
  const n = integer ? z.number().int().min(lo).max(hi) : z.number().min(lo).max(hi);
  return z
    .object({ min: n, max: n })
    .strict()
    .superRefine((r, ctx) => {
      if (typeof r.min === 'number' && typeof r.max === 'number' && r.min > r.max) {
        ctx.addIssue({ code: 'custom', path: ['max'], message: `max ${r.max} is below min ${r.min}` });
      }
    });
}

export type Range = { readonly min: number; readonly max: number };

/** A window during which a channel carries nothing (both directions): a cut GPRS link, a dead serial server. */
const OutageSchema = z
  .object({
    /** Channel id = bus name (`bus00`, `bus01`, ...: simulators/fleet/plan.ts busName). */
    channel: z.string().min(1),
    /** Minutes after `start`. */
    startMinutes: z.number().min(0),
    durationMinutes: z.number().positive(),
  })
  .strict();

const CustomersSchema = z
  .object({
    /** Probability that a cut-off customer tops up at all (issue 9 asks for ≥ 99% reconnect success of the attempts, so nearly all do). */
    topUpProbability: fraction.default(0.97),
    /**
     * Minutes from the cut (or the warning SMS) to the payment: log-uniform in [min, max], so most
     * pay within the hour and a few the next day (MeterLab's choice; no field data at hand).
     */
    delayMinutes: range(0, 7 * MINUTES_PER_DAY).default({ min: 2, max: 720 }),
    /** Amount of a top-up, in days of the customer's own consumption at their tariff. */
    amountDays: range(0.1, 365).default({ min: 5, max: 60 }),
    /** Share of top-ups the payment system sends twice with the same paymentId (retried callbacks). */
    duplicateShare: fraction.default(0.05),
    /** Seconds between the two sends of a duplicated top-up ("a few seconds apart"). */
    duplicateGapSeconds: range(0, 3600).default({ min: 1, max: 10 }),
    /** Share of warned customers who top up on the warning SMS, before any cut. */
    earlyOnWarningShare: fraction.default(0.3),
  })
  .strict();

export const PrepaidScenarioSchema = z
  .object({
    /** Free text for logs and reports. */
    description: z.string().optional(),
    /** Seed of every random choice in the world. */
    seed: z.number().int().min(0).max(2 ** 32 - 1),
    /**
     * Start of simulated time, ISO 8601: a local date-time (Asia/Shanghai, UTC+8) or one with an
     * offset. Default 2026-03-01 00:00 in Shanghai (MeterLab's choice, the fleet README's example).
     */
    start: z.union([z.iso.datetime({ offset: true }), z.iso.datetime({ local: true })]).default('2026-03-01T00:00:00'),
    /** Simulated days the suite runs (6: long enough for warnings, cuts and top-ups of a seeded share). */
    days: z.number().positive().max(MAX_DAYS).default(6),
    /** Prepaid meters, one account each (issue 9: "at least 1,000"; small files for fast tests). */
    meters: z.number().int().min(1).max(MAX_PREPAID_METERS).default(1000),
    /** Meters per RS-485 bus: at most the 32 unit loads of TIA/EIA-485 (simulators/fleet). */
    metersPerBus: z.number().int().min(1).max(MAX_METERS_PER_BUS).default(MAX_METERS_PER_BUS),
    /** Line of every bus; default 2400 8E1 (PROTOCOLS.md 1.1, GAP-10). */
    line: LineSettingsSchema.optional(),
    /** Share of accounts in keep-power (保电), each with one of KP-06's four classes (seeded). */
    keepPowerShare: fraction.default(0.03),
    /** A seeded share of the buses (channels) loses frames: each frame, either way, is lost with `dropRate`. */
    lossy: z.object({ share: fraction, dropRate: z.number().min(0).max(0.9) }).strict().default({ share: 0.05, dropRate: 0.05 }),
    /** A seeded share of meters answers late (behaviour "late-reply", simulators/electricity-meter/behaviours.ts). */
    slow: z
      .object({ share: fraction, delayMs: z.number().min(0).max(60_000) })
      .strict()
      // 600 ms: later than the reference's 60 ms Td, within the master's 3 s timeout (CON-05).
      .default({ share: 0.02, delayMs: 600 }),
    /** Meters whose relay does not move although 1CH is acknowledged (fault 'relay-stuck'); issue 9: "one with a sticking relay". */
    stickingRelays: z.number().int().min(0).default(1),
    /**
     * Tariff, fen/kWh, integer, uniform: Chinese residential first-tier prices lie about 0.48-0.62
     * yuan/kWh (provincial tariff tables); MeterLab's range 45-65.
     */
    tariffFenPerKwh: range(1, 10_000, true).default({ min: 45, max: 65 }),
    /** Daily consumption, kWh, uniform (a household: MeterLab's choice); the meter's load is kWh / 24 kW. */
    dailyKwh: range(0.1, 1000).default({ min: 3, max: 15 }),
    /** Opening balance in days of the customer's consumption, uniform: below `days`, the account runs into arrears during the run. */
    openingBalanceDays: range(0, 365).default({ min: 0.5, max: 20 }),
    /** Warning threshold (SMS), fen, integer, uniform (MeterLab's choice: 10-30 yuan). */
    warningFen: range(0, 10_000_000, true).default({ min: 1000, max: 3000 }),
    customers: CustomersSchema.default({
      topUpProbability: 0.97,
      delayMinutes: { min: 2, max: 720 },
      amountDays: { min: 5, max: 60 },
      duplicateShare: 0.05,
      duplicateGapSeconds: { min: 1, max: 10 },
      earlyOnWarningShare: 0.3,
    }),
    /**
     * Accounts that start the run already in arrears (opening balance drawn from `balanceFen`,
     * at most 0), for a run too short for a billing day (a vendor's station in real time,
     * harness/targets/station-api.ts): `cut` of them with the relay open at the start (cut before
     * the run; their customers pay as after any cut), `due` with the relay still closed (the
     * station must cut them), and `keepPower` keep-power accounts with the relay closed (it must
     * never cut them, KP-06). Drawn from the seed among all meters; cut and due accounts are never
     * keep-power. Default none.
     */
    startInArrears: z
      .object({
        cut: z.number().int().min(0).default(0),
        due: z.number().int().min(0).default(0),
        keepPower: z.number().int().min(0).default(0),
        balanceFen: range(-10_000_000, 0, true).default({ min: -2000, max: -100 }),
      })
      .strict()
      .default({ cut: 0, due: 0, keepPower: 0, balanceFen: { min: -2000, max: -100 } }),
    /** Outage windows given one by one. */
    outages: z.array(OutageSchema).default([]),
    /** Outage windows drawn from the seed: `count` windows on random channels at random times within the run. */
    randomOutages: z
      .object({ count: z.number().int().min(0).max(1000), durationMinutes: range(1, MINUTES_PER_DAY) })
      .strict()
      .default({ count: 0, durationMinutes: { min: 10, max: 60 } }),
  })
  .strict()
  .superRefine((s, ctx) => {
    if (typeof s.meters !== 'number' || typeof s.metersPerBus !== 'number') return;
    const buses = busCount(s);
    const names = new Set(Array.from({ length: buses }, (_, b) => busName(s, b)));
    s.outages.forEach((o, i) => {
      if (!names.has(o.channel)) {
        ctx.addIssue({ code: 'custom', path: ['outages', i, 'channel'], message: `no channel "${o.channel}" (channels: ${busName(s, 0)}..${busName(s, buses - 1)})` });
      }
      if (typeof s.days === 'number' && o.startMinutes >= s.days * MINUTES_PER_DAY) {
        ctx.addIssue({ code: 'custom', path: ['outages', i, 'startMinutes'], message: `${o.startMinutes} min is after the run (${s.days} days)` });
      }
    });
    const arrears = s.startInArrears;
    if (arrears && typeof arrears.cut === 'number' && typeof arrears.due === 'number' && typeof arrears.keepPower === 'number') {
      const n = arrears.cut + arrears.due + arrears.keepPower + (typeof s.stickingRelays === 'number' ? s.stickingRelays : 0);
      if (n > s.meters) ctx.addIssue({ code: 'custom', path: ['startInArrears'], message: `${n} accounts in arrears at the start and sticking relays among ${s.meters} meters` });
    }
    if (typeof s.stickingRelays === 'number' && typeof s.keepPowerShare === 'number' && s.stickingRelays > s.meters) {
      ctx.addIssue({ code: 'custom', path: ['stickingRelays'], message: `${s.stickingRelays} sticking relays among ${s.meters} meters` });
    }
  });

export type PrepaidScenarioInput = z.input<typeof PrepaidScenarioSchema>;
type Parsed = z.output<typeof PrepaidScenarioSchema>;

export interface PrepaidScenario extends Omit<Parsed, 'line' | 'start'> {
  readonly line: LineSettings;
  /** `start` as written. */
  readonly start: string;
  /** Start of simulated time, ms since the epoch: the VirtualClock of the run starts here. */
  readonly startMs: number;
}

/** The default bus line: 2400 8E1 (PROTOCOLS.md 1.1, GAP-10). */
const DEFAULT_BUS_LINE: LineSettings = { baudRate: 2400, dataBits: 8, parity: 'even', stopBits: 1 };

/** Epoch ms of an ISO date-time; one without an offset is Asia/Shanghai local time. */
export function shanghaiInstant(iso: string): number {
  const hasOffset = /(?:Z|[+-]\d{2}:?\d{2})$/i.test(iso);
  return Date.parse(hasOffset ? iso : `${iso}${SHANGHAI_OFFSET}`);
}

/** Validates a parsed JSON scenario. Throws one ProfileError naming every bad field. */
export function loadPrepaidScenario(json: unknown, source?: string): PrepaidScenario {
  const where = `scenario${source ? ` ${source}` : ''}`;
  const r = PrepaidScenarioSchema.safeParse(json);
  if (!r.success) {
    throw new ProfileError(`${where}: ${r.error.issues.map((i) => `${formatIssuePath(i.path).replace('(profile)', '(scenario)')}: ${i.message}`).join('; ')}`);
  }
  const { line, ...rest } = r.data;
  return { ...rest, line: line ?? DEFAULT_BUS_LINE, startMs: shanghaiInstant(r.data.start) };
}

/** Reads, parses and validates a scenario file. */
export function readPrepaidScenarioFile(path: string): PrepaidScenario {
  const source = escapeControlCharacters(path);
  const json = readJsonDocument(path, 'scenario');
  return loadPrepaidScenario(json, source);
}
