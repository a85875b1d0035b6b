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

/** An error word ERR as two hex digits (PROTOCOLS.md 1.7), e.g. "01" other error, "04" password / unauthorised. */
const errorWord = z
  .string()
  .regex(/^[0-9A-Fa-f]{2}$/, 'an error word is two hex digits, e.g. "01" (bit 0 other error, PROTOCOLS.md 1.7)')
  .transform((s) => s.toUpperCase())
  .refine((s) => s !== '00', 'an error word names at least one bit');

/**
 * 1CH N1 command codes (PROTOCOLS.md 1.5, REQUIREMENTS FEE-06): 1A trip, 1B close allowed (合闸允许),
 * 1C direct close (直接合闸), 2A/2B alarm on/off, 3A/3B keep-power (保电) on/off. 2A/2B and 3A/3B are
 * [BK]; 1C is confirmed only by public code (FEE-06 rates the 2013 direct close L).
 */
export const REMOTE_CONTROL_COMMANDS = ['1A', '1B', '1C', '2A', '2B', '3A', '3B'] as const;
export type RemoteControlCommandCode = (typeof REMOTE_CONTROL_COMMANDS)[number];

/** A 1CH N1 code as two hex digits, e.g. "1D". */
const n1Code = z
  .string()
  .regex(/^[0-9A-Fa-f]{2}$/, 'an N1 code is two hex digits, e.g. "1D"')
  .transform((s) => s.toUpperCase());

/** Milliseconds, or [min, max] when the meter's own figure is only known to lie in a range. */
const msOrRange = z
  .union([z.number().int().min(0), z.tuple([z.number().int().min(0), z.number().int().min(0)])])
  .refine((d) => typeof d === 'number' || d[0] <= d[1], { message: '[min, max] needs min ≤ max' });

/**
 * How the meter's load switch behaves (FEE-07, FEE-09, FEE-11, KP-03). Only meaningful with
 * `capabilities.remoteControl` or `capabilities.localCostControl`.
 */
export const RelayDeclarationSchema = z
  .object({
    /**
     * FEE-11 / KP-03: 'internal' = the switch is inside the meter (close-allowed waits for the
     * customer's key); 'external' = the meter drives an outside breaker and close-allowed closes at once.
     */
    type: z.enum(['internal', 'external']).default('internal'),
    /**
     * FEE-07 trip delay (跳闸延时, the meter's NNNN-minute parameter): from an accepted 1A trip to
     * the relay opening, ms; [min, max] when only a range is known. During it status word 3 shows
     * the trip command (bit 6) with the relay still closed (bit 4 = 0). Default 0: at once.
     */
    tripDelayMs: msOrRange.default(0),
    /**
     * FEE-07 / FEE-10: status word 3 bit 7 (pre-trip alarm, PROTOCOLS.md 1.8) is set while a trip
     * waits out its delay. Default false (a meter with no trip delay has no pre-trip phase).
     */
    preTripAlarm: z.boolean().default(false),
    /**
     * FEE-11: after 1B close-allowed the relay closes only when the customer holds the key (3 s).
     * Absent: true for an internal relay, false for an external one (which closes at once).
     */
    closeNeedsButton: z.boolean().optional(),
    /**
     * FEE-09 large-current trip protection (internal relays): a trip falling due while the phase
     * current exceeds `thresholdA` is deferred until the current drops or `maxDeferMs` passes
     * (Relay_Remote.c: 24 h). Absent: the meter declares no such protection.
     */
    largeCurrentProtection: z
      .object({
        thresholdA: z.number().positive(),
        maxDeferMs: z.number().int().min(0).default(24 * 3600_000),
      })
      .strict()
      .optional(),
    /** FEE-12 / power cycle: the relay (and the trip command) survive a mains cut. Default true. */
    keepsStateAcrossPowerCycle: z.boolean().default(true),
  })
  .strict()
  .transform((r) => ({ ...r, closeNeedsButton: r.closeNeedsButton ?? r.type === 'internal' }));

/**
 * What the meter does with 1CH (PROTOCOLS.md 1.5). Only read when `capabilities.remoteControl`.
 * The error words of the refusals other than a wrong password are [BK] (PROTOCOLS.md 1.7 names no
 * dedicated bit): profile options, default "01" (bit 0, other error).
 */
export const RemoteControlDeclarationSchema = z
  .object({
    /** N1 codes the meter accepts; any other one is refused with `errors.unsupportedCommand`. */
    commands: z.array(z.enum(REMOTE_CONTROL_COMMANDS)).default([...REMOTE_CONTROL_COMMANDS]),
    /**
     * Whether an all-zero valid-until N3..N8 is taken as "no deadline": several field frames carry
     * one (PROTOCOLS.md 1.5), so meters evidently accept it. [BK] default true; false refuses it
     * with `errors.expired`.
     */
    acceptsZeroValidUntil: z.boolean().default(true),
    /**
     * Which refusal wins when a 1CH carries both a wrong password and an expired or malformed
     * valid-until. [BK]: PROTOCOLS.md and REQUIREMENTS.md give no order. The one public firmware
     * seen (Wisdom 645 handler api_ProcRemoteRelayCommand645, float12/WorkProjectsSVN) checks the
     * password level before the valid-until. true (default): the password first, so such a command
     * gets 04H; false: the valid-until first (before the password and the N1), so it gets
     * `errors.expired`.
     */
    passwordBeforeValidUntil: z.boolean().default(true),
    /**
     * FEE-10 pre-trip with auto-restore (预跳闸). Absent: the meter offers none. The N1 codes and the
     * N2 time are from one vendor's 645 handler (Wisdom, float12/WorkProjectsSVN,
     * api_ProcRemoteRelayCommand645: CtrlCmd645 = 1A 1B 1C 1D 1E 3A 3B … 2A 2B; restore time = N2 × 5
     * min), not from the standard's text: [src], one source, configurable.
     */
    preTrip: z
      .object({
        /** N1 of pre-trip 1: trips at once, re-closes by itself when the restore time ends. Default 1D. */
        restoreClose: n1Code.default('1D'),
        /** N1 of pre-trip 2: trips at once, goes to close allowed when the restore time ends (an external relay closes). Default 1E. */
        restoreAllow: n1Code.default('1E'),
        /** The restore time is N2 × this, ms. Default 5 min (the Wisdom handler: N2 × 5 minutes). */
        n2UnitMs: z.number().int().positive().default(5 * 60_000),
        /** Restore time when N2 = 0, ms: FEE-10 "300 s when unset" (the Wisdom relay task's default). */
        defaultRestoreMs: z.number().int().positive().default(300_000),
      })
      .strict()
      .refine((p) => p.restoreClose !== p.restoreAllow, { message: 'pre-trip 1 and pre-trip 2 need different N1 codes' })
      .optional(),
    errors: z
      .object({
        /** FEE-06: valid-until in the past, or malformed. [BK] word; default bit 0. */
        expired: errorWord.default('01'),
        /** KP-01: a trip while keep-power is on ("trip failed, meter in 保电"). [BK] word; default bit 0. */
        keepPowerTrip: errorWord.default('01'),
        /** An N1 code outside `commands`. [BK] word; default bit 0. */
        unsupportedCommand: errorWord.default('01'),
      })
      .strict()
      .prefault({}),
  })
  .strict();

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
        /**
         * Accepts 1CH remote control (trip/close) in plain text (PROTOCOLS.md 1.5: ESAM meters may not).
         * Which N1 codes: `remoteControl.commands`; the switch itself: `relay`.
         */
        remoteControl: z.boolean().default(false),
        /**
         * Keep-power (保电) with 1CH 3A/3B (REQUIREMENTS KP-01..KP-04): no trip while on, release
         * leaves the relay alone, keep-power while tripped restores supply, cancels a pending trip.
         * Needs `remoteControl` and 3A/3B in `remoteControl.commands`.
         */
        keepPower: z.boolean().default(false),
        /**
         * Local cost control (本地费控, REQUIREMENTS FEE-01..FEE-03): the meter keeps the balance
         * (00900200 / 00900201), alarms at alarm limits 1 and 2 (04001001/02), trips when exhausted
         * and allows close only once a top-up makes the balance positive. False: remote cost control
         * or no prepayment (the meter only measures and actuates).
         */
        localCostControl: z.boolean().default(false),
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
      .object({
        writeData: passwordLevel.default('04'),
        clear: passwordLevel.default('02'),
        /** 1CH (PROTOCOLS.md 1.5: PA 00 and 02 seen in the field). [BK] default 02. */
        remoteControl: passwordLevel.default('02'),
      })
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
    /** 1CH details (PROTOCOLS.md 1.5); read only with `capabilities.remoteControl`. */
    remoteControl: RemoteControlDeclarationSchema.prefault({}),
    /** The load switch (FEE-07, FEE-09, FEE-11, KP-03). */
    relay: RelayDeclarationSchema.prefault({}),
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
    /**
     * Output types the meter switches its multi-function terminal to with 1DH (one byte, PROTOCOLS.md
     * 1.3 [BK]): "00" clock second pulse, "01" demand period, "02" time-slot switch (public meter
     * bench code builds 1DH with exactly these three; one bench adds 03/04 harmonic pulses). Empty
     * (default): the meter's 1DH is not tested.
     */
    multiFunctionOutputs: z
      .array(z.string().regex(/^[0-9A-Fa-f]{2}$/, 'an output type is one byte in hex, e.g. "00"').transform((s) => s.toUpperCase()))
      .default([]),
  })
  .strict()
  .superRefine((d, ctx) => {
    for (const di of d.followUpIdentifiers) {
      if (!d.identifiers.includes(di)) {
        ctx.addIssue({ code: 'custom', path: ['followUpIdentifiers'], message: `${di} is declared for follow-up but not in identifiers` });
      }
    }
    if (d.capabilities.keepPower && !d.capabilities.remoteControl) {
      ctx.addIssue({ code: 'custom', path: ['capabilities', 'keepPower'], message: 'keep-power is set with 1CH 3A/3B: it needs capabilities.remoteControl' });
    }
    if (d.capabilities.keepPower && d.capabilities.remoteControl) {
      for (const c of ['3A', '3B'] as const) {
        if (!d.remoteControl.commands.includes(c)) {
          ctx.addIssue({ code: 'custom', path: ['remoteControl', 'commands'], message: `capabilities.keepPower needs 1CH ${c} in remoteControl.commands` });
        }
      }
    }
    if (d.identifiers.includes(d.unsupportedIdentifier)) {
      ctx.addIssue({ code: 'custom', path: ['unsupportedIdentifier'], message: `${d.unsupportedIdentifier} is also declared as supported` });
    }
  });

export type MeterDeclaration = z.output<typeof MeterDeclarationSchema>;
export type MeterDeclarationInput = z.input<typeof MeterDeclarationSchema>;
