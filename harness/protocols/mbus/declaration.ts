/**
 * What an M-Bus device declares in a target profile (`device.declaration` with `device.protocol:
 * "mbus"`): its primary address, its secondary identity, its line, and the records it sends
 * (quantity and unit as the M-Bus dictionary names them, storage number). Validated with zod; a
 * bad field is one error naming `device.declaration.<field>` (harness/targets/device-profile.ts).
 */
import { z } from 'zod';

/** Line settings of an M-Bus segment: 300..38400 Bd, 8E1 by default (MBUS.md 1). */
export const MbusLineSchema = z
  .object({
    baudRate: z.union([z.literal(300), z.literal(600), z.literal(1200), z.literal(2400), z.literal(4800), z.literal(9600), z.literal(19200), z.literal(38400)]),
    dataBits: z.literal(8).default(8),
    parity: z.enum(['even', 'none', 'odd']).default('even'),
    stopBits: z.union([z.literal(1), z.literal(2)]).default(1),
  })
  .strict();

export const MbusDeclarationSchema = z
  .object({
    /** 1..250 (MBUS.md 2; 0 is an unconfigured slave, 251..255 are reserved or broadcast). */
    primaryAddress: z.number().int().min(1).max(250),
    /** The secondary address: identification number (8 digits), manufacturer (3 letters), version, medium (04 heat, outlet). */
    secondary: z
      .object({
        id: z.string().regex(/^\d{8}$/, '8 decimal digits'),
        manufacturer: z.string().regex(/^[A-Z]{3}$/, 'three capital letters (EN 13757-3 FLAG code)'),
        version: z.number().int().min(0).max(255),
        medium: z.number().int().min(0).max(255).default(4),
      })
      .strict(),
    line: MbusLineSchema.default({ baudRate: 2400, dataBits: 8, parity: 'even', stopBits: 1 }),
    /** Records the device sends, as the dictionary names them (e.g. { quantity: "Energy", unit: "Wh" }). */
    records: z
      .array(z.object({ quantity: z.string().min(1), unit: z.string(), storageNumber: z.number().int().min(0).max(0xffffffff).default(0) }).strict())
      .default([]),
  })
  .strict();

export type MbusDeclaration = z.output<typeof MbusDeclarationSchema>;
