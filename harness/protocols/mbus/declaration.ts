/**
 * What an M-Bus device declares in a target profile (`device.declaration` with `device.protocol:
 * "mbus"`): its primary address, its secondary identity, its line, how many telegrams one full
 * read takes, and the records it sends (quantity and unit as the M-Bus dictionary names them,
 * storage number; optionally the VIF's scale, tariff, function, subunit and a plausible range).
 * Validated with zod; a bad field is one error naming `device.declaration.<field>`
 * (harness/targets/device-profile.ts).
 *
 * Why `scale` and `range`: a suite reading a vendor's meter has no backchannel to the register, so
 * "wrong VIF scaling" (a VIF whose exponent does not match the number, MBUS.md 9) can only be seen
 * against what the vendor declares: the scale the VIF must carry (energy in kWh = unit Wh, scale
 * 1000: VIF 06) and, as a second line, the range a plausible value lies in.
 */
import { z } from 'zod';
import { FUNCTIONS } from './constants.ts';

/** Line settings of an M-Bus segment: 300..38400 Bd, 8E1 by default (MBUS.md 1). */
export const MbusLineSchema = z
  .object({
    baudRate: z.union([z.literal(300), z.literal(600), z.literal(1200), z.literal(2400), z.literal(4800), z.literal(9600), z.literal(19200), z.literal(38400)]),
    dataBits: z.literal(8).default(8),
    parity: z.enum(['even', 'none', 'odd']).default('even'),
    stopBits: z.union([z.literal(1), z.literal(2)]).default(1),
  })
  .strict();

/** One record the device declares it sends (MBUS.md 8-10). Every field but quantity, unit and storage number is optional: absent, it is not checked. */
export const MbusDeclaredRecordSchema = z
  .object({
    /** The dictionary's quantity (harness/protocols/mbus/dictionary.ts): "Energy", "Volume flow", "Time point (date)". */
    quantity: z.string().min(1),
    /** The dictionary's unit of raw × scale: "Wh", "m^3", "°C"; "" for dates and counts. */
    unit: z.string(),
    /** Storage number (DIF bit 6 and the DIFEs; 0 = the current value). */
    storageNumber: z.number().int().min(0).max(0xffffffff).default(0),
    /**
     * The scale the record's VIF must carry, in `unit`: 1000 for energy in kWh (unit Wh, VIF 06),
     * 0.001 for volume in litres (unit m^3, VIF 13), 0.1 for a temperature in 0.1 °C, 3600 for an
     * operating time in hours (unit s). Absent: any scale of that quantity and unit.
     */
    scale: z.number().positive().finite().optional(),
    /** Tariff (DIFE bits 5-4). */
    tariff: z.number().int().min(0).optional(),
    /** DIF function field. */
    function: z.enum(FUNCTIONS).optional(),
    /** Subunit (DIFE bit 6). */
    subunit: z.number().int().min(0).optional(),
    /** Plausible values, in `unit` (raw × scale), both bounds inclusive. */
    range: z
      .object({ min: z.number().finite().optional(), max: z.number().finite().optional() })
      .strict()
      .refine((r) => r.min === undefined || r.max === undefined || r.min <= r.max, 'min must not exceed max')
      .optional(),
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
    /**
     * RSP_UD telegrams one full read takes (the last record of every telegram but the last is DIF
     * 1F, "more records follow", MBUS.md 11). Absent: not declared (the multi-telegram case is not
     * applicable; a read still follows 1F).
     */
    telegrams: z.number().int().min(1).max(16).optional(),
    /** Records the device sends, as the dictionary names them (e.g. { quantity: "Energy", unit: "Wh", scale: 1000 }). */
    records: z.array(MbusDeclaredRecordSchema).default([]),
  })
  .strict();

export type MbusDeclaration = z.output<typeof MbusDeclarationSchema>;
export type MbusDeclaredRecord = z.output<typeof MbusDeclaredRecordSchema>;

/** "Energy (Wh ×1000) storage 1 tariff 2": a declared record for messages. */
export function describeDeclaredRecord(r: MbusDeclaredRecord): string {
  const parts = [`${r.quantity}${r.unit ? ` (${r.unit}${r.scale !== undefined ? ` ×${r.scale}` : ''})` : r.scale !== undefined ? ` (×${r.scale})` : ''}`, `storage ${r.storageNumber}`];
  if (r.tariff !== undefined) parts.push(`tariff ${r.tariff}`);
  if (r.function !== undefined) parts.push(r.function);
  if (r.subunit !== undefined) parts.push(`subunit ${r.subunit}`);
  return parts.join(' ');
}
