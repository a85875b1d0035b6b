/**
 * What a communication interface converter (通信接口转换器, REQUIREMENTS.md MM-01) declares in a
 * target profile (`device.declaration` with `device: { kind: "interface-converter", protocol:
 * "converter" }`): its upstream RS-485 line and CJ/T 188 dialect, its meter archive (which meter is
 * behind which downstream link, speaking which protocol, in which mode), and the limits it promises:
 * the latency it adds to an exchange and the share of reads it may lose.
 *
 * Not a wire protocol of its own: upstream it speaks CJ/T 188 (and forwards DL/T 645), downstream
 * CJ/T 188 or DL/T 645 transparently, or MLGW, MeterLab's own wireless protocol, in
 * protocol-converting mode (docs/protocols/meterlab-gas-wireless.md). Kept here, below simulators
 * and targets, like every protocol's declaration (docs/adding-a-protocol.md step 1).
 */
import { z } from 'zod';
import { cjt188DialectSchema } from '../cjt188/dialect.ts';
import { Cjt188LineSchema } from '../cjt188/declaration.ts';

/** Protocols a converter reaches its meters with. */
export const CONVERTER_METER_PROTOCOLS = ['cjt188', 'dlt645', 'mlgw'] as const;
export type ConverterMeterProtocol = (typeof CONVERTER_METER_PROTOCOLS)[number];

/** Meter kinds behind a converter: the CJ/T 188 flow-meter kinds, and electricity (DL/T 645). */
export const CONVERTER_METER_KINDS = ['cold-water', 'hot-water', 'drinking-water', 'reclaimed-water', 'gas', 'electricity'] as const;

/**
 * - `transparent`: the converter forwards the upstream frame byte for byte from its 68H to its 16H
 *   (its own FE preamble, or a wake-up, in front) and the meter's reply likewise (MM-04: "forwards a
 *   CJ/T 188 frame byte-exact").
 * - `convert`: protocol-converting mode, CJ/T 188 upstream ↔ MLGW downstream (spec section 7).
 */
export const CONVERTER_MODES = ['transparent', 'convert'] as const;

export const ArchiveEntrySchema = z
  .object({
    /** The address upstream: 14 digits (CJ/T 188, also for an MLGW meter), 12 digits (DL/T 645). */
    address: z.string().regex(/^\d{12}(\d{2})?$/, '14 decimal digits (CJ/T 188) or 12 (DL/T 645)'),
    protocol: z.enum(CONVERTER_METER_PROTOCOLS),
    meter: z.enum(CONVERTER_METER_KINDS),
    mode: z.enum(CONVERTER_MODES),
    /** The downstream link: a micro-power wireless hop, or a wired RS-485 port. */
    link: z.enum(['wireless', 'rs485']).default('wireless'),
    /** MLGW meter ID, 8 digits (protocol mlgw only). */
    meterId: z.string().regex(/^\d{8}$/, '8 decimal digits').optional(),
    /** A battery meter that sleeps between sniffs and needs a wake-up (MM-06). */
    sleeps: z.boolean().default(false),
    /** Its sniff period, ms (MM-06: 2 s). */
    sniffPeriodMs: z.number().int().min(1).max(60_000).default(2000),
  })
  .strict()
  .superRefine((e, ctx) => {
    const issue = (path: string, message: string): void => void ctx.addIssue({ code: 'custom', path: [path], message });
    if (e.protocol === 'dlt645') {
      if (e.address.length !== 12) issue('address', 'a DL/T 645 meter has a 12-digit address');
      if (e.meter !== 'electricity') issue('meter', 'a DL/T 645 meter behind a converter is an electricity meter');
      if (e.sleeps) issue('sleeps', 'a DL/T 645 electricity meter is mains powered and does not sleep');
    } else {
      if (e.address.length !== 14) issue('address', `a ${e.protocol === 'mlgw' ? 'converted MLGW' : 'CJ/T 188'} meter has a 14-digit CJ/T 188 address upstream`);
      if (e.meter === 'electricity') issue('meter', `${e.protocol} meters are water or gas meters`);
    }
    if ((e.protocol === 'mlgw') !== (e.mode === 'convert')) issue('mode', e.protocol === 'mlgw' ? 'an MLGW meter is reached in protocol-converting mode ("convert")' : 'CJ/T 188 and DL/T 645 meters are forwarded ("transparent")');
    if ((e.protocol === 'mlgw') !== (e.meterId !== undefined)) issue('meterId', e.protocol === 'mlgw' ? 'an MLGW meter needs its 8-digit meterId' : 'meterId applies to MLGW meters only');
    if (e.protocol === 'mlgw' && e.link !== 'wireless') issue('link', 'MLGW is a wireless protocol');
  });

export type ConverterArchiveEntry = z.output<typeof ArchiveEntrySchema>;

export const ConverterDeclarationSchema = z
  .object({
    /** Upstream RS-485 line, shared by CJ/T 188 and DL/T 645: 2400 8E1 by default (PROTOCOLS.md 2.1 [BK], CON-06). */
    line: Cjt188LineSchema.default({ baudRate: 2400, dataBits: 8, parity: 'even', stopBits: 1 }),
    /** CJ/T 188 dialect of the converter's own replies (converted meters): ST layout, DI order. */
    dialect: cjt188DialectSchema.prefault({}),
    /** The meter archive: every meter the converter reaches. */
    archive: z.array(ArchiveEntrySchema).min(1).max(256),
    limits: z
      .object({
        /**
         * Latency the converter adds to an exchange with an awake (or mains-powered) meter, ms: the
         * response delay seen upstream minus the meter's own, retries on the hop included.
         */
        addedLatencyMs: z.number().positive().max(60_000).default(2500),
        /** The same for a sleeping battery meter: the wake-up included. */
        addedLatencyWakeUpMs: z.number().positive().max(120_000).default(10_000),
        /** Share of upstream requests to an archived meter left unanswered, 0..1. */
        loss: z.number().min(0).max(1).default(0.05),
      })
      .strict()
      .prefault({}),
    /**
     * Reference simulation only (a real converter's hops are what they are): the physics of every
     * simulated wireless hop. Loss per radio frame, latency per frame in ms ([min, max]).
     */
    simulation: z
      .object({
        hopLossProbability: z.number().min(0).max(1).default(0.03),
        hopLatencyMs: z.tuple([z.number().min(0), z.number().min(0)]).default([20, 60]),
      })
      .strict()
      .prefault({}),
  })
  .strict()
  .superRefine((d, ctx) => {
    const seen = new Map<string, number>();
    d.archive.forEach((e, i) => {
      const j = seen.get(e.address);
      if (j !== undefined) ctx.addIssue({ code: 'custom', path: ['archive', i, 'address'], message: `address ${e.address} is already archive entry ${j}` });
      seen.set(e.address, i);
    });
    const ids = new Map<string, number>();
    d.archive.forEach((e, i) => {
      if (e.meterId === undefined) return;
      const j = ids.get(e.meterId);
      if (j !== undefined) ctx.addIssue({ code: 'custom', path: ['archive', i, 'meterId'], message: `meterId ${e.meterId} is already archive entry ${j}` });
      ids.set(e.meterId, i);
    });
    if (d.simulation.hopLatencyMs[1] < d.simulation.hopLatencyMs[0]) ctx.addIssue({ code: 'custom', path: ['simulation', 'hopLatencyMs'], message: '[min, max] with min <= max' });
  });

export type ConverterDeclaration = z.output<typeof ConverterDeclarationSchema>;
export type ConverterDeclarationInput = z.input<typeof ConverterDeclarationSchema>;
