/**
 * What a CJ/T 188 device declares in a target profile (`device.declaration` with `device.protocol:
 * "cjt188"`): its meter type, address, dialect (the named options real devices need, dialect.ts),
 * line, whether it is a battery meter that sleeps (MM-06) and the identifiers it answers.
 * Validated with zod; a bad field is one error naming `device.declaration.<field>`.
 */
import { z } from 'zod';
import { MeterType } from './constants.ts';
import { cjt188DialectSchema } from './dialect.ts';

/** The flow-meter kinds a declaration names, and their meter type T (PROTOCOLS.md 2.2). */
export const CJT188_METER_KINDS = ['cold-water', 'hot-water', 'drinking-water', 'reclaimed-water', 'gas'] as const;
export type Cjt188MeterKind = (typeof CJT188_METER_KINDS)[number];

/** The meter type T of each declared meter kind (PROTOCOLS.md 2.2): one map for the suites, the simulators and the converter. */
export const METER_TYPE_OF: Readonly<Record<Cjt188MeterKind, MeterType>> = {
  'cold-water': MeterType.ColdWater,
  'hot-water': MeterType.HotWater,
  'drinking-water': MeterType.DrinkingWater,
  'reclaimed-water': MeterType.ReclaimedWater,
  gas: MeterType.Gas,
};

export const Cjt188LineSchema = z
  .object({
    baudRate: z.union([z.literal(1200), z.literal(2400), z.literal(4800), z.literal(9600)]),
    dataBits: z.literal(8).default(8),
    parity: z.enum(['even', 'none', 'odd']).default('even'),
    stopBits: z.union([z.literal(1), z.literal(2)]).default(1),
  })
  .strict();

export const Cjt188DeclarationSchema = z
  .object({
    meter: z.enum(CJT188_METER_KINDS),
    /** 14 digits, most significant first (A6..A0). */
    address: z.string().regex(/^\d{14}$/, '14 decimal digits'),
    dialect: cjt188DialectSchema.prefault({}),
    /** 2400 8E1 by default (PROTOCOLS.md 2.1 [BK]). */
    line: Cjt188LineSchema.default({ baudRate: 2400, dataBits: 8, parity: 'even', stopBits: 1 }),
    /** A battery meter that sleeps between sniffs and needs a wake-up preamble (MM-06). */
    sleeps: z.boolean().default(false),
    /** Its sniff period, ms (MM-06: 2 s). */
    sniffPeriodMs: z.number().int().min(1).max(60_000).default(2000),
    /**
     * How long a woken battery meter keeps listening after its last exchange, ms (a sleep case waits
     * this long plus a sniff period before it checks that a short preamble goes unheard). Default
     * 10 s, MeterLab's choice [BK]: no source in the notes gives one.
     */
    awakeMs: z.number().int().min(0).max(600_000).default(10_000),
    /** Identifiers it answers (DI1DI0, e.g. "901F"). Writes it accepts (A015 time, A017 valve ...) are listed here too. */
    identifiers: z.array(z.string().regex(/^[0-9A-F]{4}$/, '4 hex digits, DI1 first')).default(['901F']),
    /** Unit byte of its volumes (901F, history): m³ (2CH, the unit MM-02 names) or L (29H). */
    volumeUnit: z.enum(['m³', 'L']).default('m³'),
    /**
     * It answers a request whose meter type T is not its own (some meters ignore T): the suites then
     * accept a reply that carries its own type instead of requiring silence. Default false.
     */
    ignoresMeterType: z.boolean().default(false),
    /**
     * The valve it has (A017): absent, no valve is declared and the valve cases are not applicable.
     * `motorLimitMs`: the longest a close or open may take until ST reports it (the vendor's sheet;
     * PROTOCOLS.md gives no figure).
     */
    valve: z
      .object({ motorLimitMs: z.number().int().min(1).max(600_000) })
      .strict()
      .optional(),
    /**
     * The smallest continuous flow, L/h, that its data shows in every hour (MM-08: a leak is a flow
     * with no zero-flow hour). Absent: it claims no low-flow visibility and the leak case is not
     * applicable. At 0.01 m³ register steps nothing below 10 L/h can show in every hour.
     */
    lowFlowVisibleLph: z.number().min(0.001).max(100_000).optional(),
  })
  .strict();

export type Cjt188Declaration = z.output<typeof Cjt188DeclarationSchema>;
