/**
 * What a DL/T 645-2007 meter declares about itself. The same declaration drives
 * - the simulator (which identifiers it answers, address, line, passwords, capabilities),
 * - the target profile (what a vendor's device under test claims to support),
 * - the suites (which tests apply; every skip names the declaration field that gated it),
 * - and the check that what the device does matches what it declared.
 */
import { z } from 'zod';
import { BAUD_FEATURE_WORD } from './constants.ts';
import { UNDEFINED_IDENTIFIER } from './dictionary.ts';

const di2007 = z
  .string()
  .regex(/^[0-9A-Fa-f]{8}$/, 'a DL/T 645-2007 data identifier is 8 hex digits DI3..DI0, e.g. "00010000"')
  .transform((s) => s.toUpperCase());

/** A password level PA as two hex digits, "00" (strongest) to "09" (PROTOCOLS.md 1.3, 1.9 04000C01..0A). */
const passwordLevel = z.string().regex(/^0[0-9]$/, 'a password level is two digits "00" to "09"');

export const LineSettingsSchema = z
  .object({
    baudRate: z.number().int().positive().default(2400),
    dataBits: z.union([z.literal(7), z.literal(8)]).default(8),
    parity: z.enum(['none', 'even', 'odd']).default('even'),
    stopBits: z.union([z.literal(1), z.literal(2)]).default(1),
  })
  .strict();

export const MeterDeclarationSchema = z
  .object({
    protocol: z.literal('dlt645-2007').default('dlt645-2007'),
    /** Communication address, 12 decimal digits as printed on the nameplate. */
    address: z.string().regex(/^\d{12}$/, 'address must be 12 decimal digits, e.g. "123456789012"'),
    line: LineSettingsSchema.prefault({}),
    /** Identifiers the meter declares readable with 11H. */
    identifiers: z.array(di2007).min(1, 'declare at least one readable identifier'),
    /** Identifiers whose reply needs follow-up frames (12H); each must also be in `identifiers`. */
    followUpIdentifiers: z.array(di2007).default([]),
    /**
     * An identifier the meter does not support, used to check the "no requested data" reply.
     * Default 0F0F0F0F, which the standard does not define (dictionary.ts UNDEFINED_IDENTIFIER);
     * set it when a meter answers that one.
     */
    unsupportedIdentifier: di2007.default(UNDEFINED_IDENTIFIER),
    capabilities: z
      .object({
        /** Answers 13H (read address) sent to AAAAAAAAAAAA. */
        readAddressWithWildcard: z.boolean().default(true),
        /** Accepts 11H sent to the wildcard address when alone on the bus. */
        readWithWildcard: z.boolean().default(true),
        /** Accepts broadcast time sync 08H to 999999999999. */
        broadcastTimeSync: z.boolean().default(true),
        /** Accepts 16H freeze. */
        freeze: z.boolean().default(true),
        /** Supports 12H read follow-up. */
        followUp: z.boolean().default(true),
        /** Accepts 14H write data with a level-02/04 password. */
        writeData: z.boolean().default(true),
        /** Accepts 1CH remote control (trip/close) in plain text (PROTOCOLS.md 1.5: ESAM meters may not). */
        remoteControl: z.boolean().default(false),
        /** Accepts 15H write address through AAAAAAAAAAAA (PROTOCOLS.md 1.3, layout [BK]); many meters also need the programming key. */
        writeAddress: z.boolean().default(false),
        /** Accepts 18H change password with the old password (PROTOCOLS.md 1.3, layout [BK]). */
        changePassword: z.boolean().default(false),
        /** Accepts 19H maximum-demand clear (PROTOCOLS.md 1.3, layout [BK]). */
        clearMaxDemand: z.boolean().default(false),
        /** Accepts 1AH meter clear (PROTOCOLS.md 1.3, layout [BK]). */
        meterClear: z.boolean().default(false),
        /** Accepts 1BH event clear (PROTOCOLS.md 1.3, layout [BK]). */
        eventClear: z.boolean().default(false),
      })
      .strict()
      .prefault({}),
    /** Passwords by level ("02", "04"): 6 hex digits P2P1P0. Needed for write and control tests. */
    passwords: z.record(z.string().regex(/^[0-9A-Fa-f]{2}$/), z.string().regex(/^[0-9A-Fa-f]{6}$/)).default({}),
    /**
     * Password level (PA, "00" strongest) each command needs; a weaker level (a larger number) must
     * be refused with ERR bit 2. [BK] levels: the reference meter writes with 04 and clears
     * (19H/1AH/1BH) with 02. The programming suite uses `passwords[level]` for each command.
     */
    passwordLevels: z
      .object({ writeData: passwordLevel.default('04'), clear: passwordLevel.default('02') })
      .strict()
      .prefault({}),
    /**
     * Line speeds the meter switches to with 17H (bit/s, each with a feature word in PROTOCOLS.md
     * 1.6: 600 ... 19200). Empty: the meter declares no baud-rate change.
     */
    baudRates: z
      .array(
        z
          .number()
          .int()
          .refine((b) => Object.hasOwn(BAUD_FEATURE_WORD, b), 'a 17H baud rate is one of 600, 1200, 2400, 4800, 9600, 19200 (PROTOCOLS.md 1.6)'),
      )
      .default([]),
    /** Operator code C3..C0, 8 hex digits. */
    operatorCode: z.string().regex(/^[0-9A-Fa-f]{8}$/).default('00000000'),
    /**
     * What to read after a 16H freeze command: the freeze time and a frozen energy block.
     * Default: the last instantaneous freeze, 05010001 / 05010101. [BK] the 2007 freeze command
     * with mm hh DD MM = 99 99 99 99 triggers an instantaneous freeze whose records sit under
     * DI3 DI2 = 05 01; configurable until confirmed against the standard text.
     */
    freezeIdentifiers: z
      .object({ time: di2007.default('05010001'), energy: di2007.default('05010101') })
      .strict()
      .prefault({}),
    /**
     * Largest data field L of one reply (DI, value part and SEQ included); a longer value comes in
     * follow-up frames. Default 200, the 2007 limit (PROTOCOLS.md 1.2, [BK]); L is one byte. The
     * reading suite checks every reply against it; at least 16 so that any single value fits.
     */
    maxFrameDataLength: z.number().int().min(16).max(255).default(200),
    /** Identifier the write test may change harmlessly (must be readWrite in the dictionary). Default alarm amount 1. */
    writableIdentifier: di2007.default('04001001'),
  })
  .strict()
  .superRefine((d, ctx) => {
    for (const di of d.followUpIdentifiers) {
      if (!d.identifiers.includes(di)) {
        ctx.addIssue({ code: 'custom', path: ['followUpIdentifiers'], message: `${di} is declared for follow-up but not in identifiers` });
      }
    }
    if (d.identifiers.includes(d.unsupportedIdentifier)) {
      ctx.addIssue({ code: 'custom', path: ['unsupportedIdentifier'], message: `${d.unsupportedIdentifier} is also declared as supported` });
    }
  });

export type MeterDeclaration = z.output<typeof MeterDeclarationSchema>;
export type MeterDeclarationInput = z.input<typeof MeterDeclarationSchema>;
