/**
 * What a CJ/T 188 device declares in a target profile (`device.declaration` with `device.protocol:
 * "cjt188"`): its meter type, address, dialect (the named options real devices need, dialect.ts),
 * line, whether it is a battery meter that sleeps (MM-06) and the identifiers it answers.
 * Validated with zod; a bad field is one error naming `device.declaration.<field>`.
 */
import { z } from 'zod';
import { cjt188DialectSchema } from './dialect.ts';

/** The flow-meter kinds a declaration names, and their meter type T (PROTOCOLS.md 2.2). */
export const CJT188_METER_KINDS = ['cold-water', 'hot-water', 'drinking-water', 'reclaimed-water', 'gas'] as const;

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
    /** Identifiers it answers (DI1DI0, e.g. "901F"). */
    identifiers: z.array(z.string().regex(/^[0-9A-F]{4}$/, '4 hex digits, DI1 first')).default(['901F']),
  })
  .strict();

export type Cjt188Declaration = z.output<typeof Cjt188DeclarationSchema>;
