/**
 * Dialects of CJ/T 188 that real devices show, as named options of one codec (issue 10: "named
 * profile options, not forks"). The standard is the default; every departure names its source.
 * A target or simulator profile picks a preset by name or overrides single fields.
 */
import { z } from 'zod';
import { EncodeError } from '../../core/errors.ts';
import { FunctionCode } from './constants.ts';

/**
 * Where valve state and battery sit in the 2-byte status word ST (PROTOCOLS.md 2.5: bit positions
 * disagree between implementations, MM-03):
 * - `standard`: first ST byte D0-D1 valve (00 open, 01 closed, 11 abnormal), D2 battery
 *   (1 = low) [BK: recollection of the standard; consistent with vector 13, ST 01 FF = closed];
 * - `kingda`: ST as a 16-bit word, valve bits 8-9, battery bit 10 [src: unattributed public code,
 *   KingDa CJT-188-2004.h]; read here as the second ST byte D0-D1 and D2, i.e. the word with ST0 as
 *   its low byte [BK: the word's byte order is not in the notes];
 * - `masks`: first ST byte, valve mask C0H (00H open, 40H closed, C0H abnormal), battery mask 20H
 *   [src: xijunzhou/sdqr_energy_node_class-20180705:Src/meter/cj188.h; which ST byte is [BK]].
 */
export type StatusLayout = 'standard' | 'kingda' | 'masks';

export interface Cjt188Dialect {
  /** Name shown in reports and profiles. */
  readonly name: string;
  /**
   * Order of the two DI bytes this side sends: `standard` DI0 first (`1F 90` for 901F) [vec:
   * KingDa, syntropic test, gas tool]; `reversed` DI1 first (`90 1F`), as Fox-Edge field devices
   * echo it [vec] (PROTOCOLS.md 2.4).
   */
  readonly diOrder: 'standard' | 'reversed';
  /**
   * Decoding also accepts the other DI order (PROTOCOLS.md 2.4: "a robust master should accept
   * both"): a DI the dictionary does not know in this dialect's order but knows in the other is
   * read in the other, and the message says so (`diOrder`).
   */
  readonly acceptEitherDiOrder: boolean;
  /**
   * Function code of a valve command: 04H write data with DI A017 (standard, PROTOCOLS.md 2.4/2.5)
   * or 2AH (Fox-Edge vendor variant, reply AAH, vectors 9-12). Decoding recognises both.
   */
  readonly valveFunction: typeof FunctionCode.WriteData | typeof FunctionCode.VendorValveControl;
  /** Valve and battery bits in ST (see StatusLayout). */
  readonly statusLayout: StatusLayout;
  /**
   * Address bytes: `bcd` (BCD digits or AAH per byte, PROTOCOLS.md 2.1) or `any` (some vendors put
   * a hex manufacturer code in A5 A6 [BK]: accepted, shown as hex).
   */
  readonly addressBytes: 'bcd' | 'any';
  /** Largest L accepted (one byte on the wire; default 255, [BK]: no source gives a limit). */
  readonly maxDataLength: number;
}

/** CJ/T 188-2004 as PROTOCOLS.md section 2 reads it. */
export const STANDARD_DIALECT: Cjt188Dialect = {
  name: 'standard',
  diOrder: 'standard',
  acceptEitherDiOrder: true,
  valveFunction: FunctionCode.WriteData,
  statusLayout: 'standard',
  addressBytes: 'bcd',
  maxDataLength: 0xff,
};

/** Named presets: the standard and the device families the vectors show. */
export const DIALECTS = {
  standard: STANDARD_DIALECT,
  /** Fox-Edge field devices: DI big-endian (90 1F, 81 0A, A0 18), valve 2AH/AAH (vectors 3-4, 5-6, 9-12). */
  foxEdge: { ...STANDARD_DIALECT, name: 'foxEdge', diOrder: 'reversed', valveFunction: FunctionCode.VendorValveControl },
  /** KingDa firmware: ST valve bits 8-9, battery bit 10. */
  kingda: { ...STANDARD_DIALECT, name: 'kingda', statusLayout: 'kingda' },
  /** xijunzhou node firmware: ST masks C0H / 20H. */
  masks: { ...STANDARD_DIALECT, name: 'masks', statusLayout: 'masks' },
} as const satisfies Readonly<Record<string, Cjt188Dialect>>;

export type DialectName = keyof typeof DIALECTS;

/** A dialect from a preset name and/or single overrides; throws EncodeError for bad values. */
export function resolveDialect(options: Partial<Cjt188Dialect> & { readonly preset?: DialectName } = {}): Cjt188Dialect {
  const { preset, ...overrides } = options;
  const base: Cjt188Dialect = preset === undefined ? STANDARD_DIALECT : DIALECTS[preset];
  if (base === undefined) throw new EncodeError(`unknown CJ/T 188 dialect "${String(preset)}" (known: ${Object.keys(DIALECTS).join(', ')})`);
  const d: Cjt188Dialect = { ...base, ...overrides };
  if (!Number.isInteger(d.maxDataLength) || d.maxDataLength < 3 || d.maxDataLength > 0xff) {
    throw new EncodeError(`maxDataLength must be 3..255, got ${String(d.maxDataLength)}`);
  }
  return d;
}

/**
 * The dialect as a profile writes it (JSON): a preset name and/or single fields, e.g.
 * `{ "preset": "foxEdge" }`, `{ "statusLayout": "kingda" }`, `{ "valveFunction": "2A" }`.
 * Parses to a resolved `Cjt188Dialect`; unknown keys are refused so a typo is not silently the standard.
 */
export const cjt188DialectSchema = z
  .object({
    preset: z.enum(Object.keys(DIALECTS) as [DialectName, ...DialectName[]]).optional(),
    name: z.string().min(1).optional(),
    diOrder: z.enum(['standard', 'reversed']).optional(),
    acceptEitherDiOrder: z.boolean().optional(),
    valveFunction: z.enum(['04', '2A']).optional(),
    statusLayout: z.enum(['standard', 'kingda', 'masks']).optional(),
    addressBytes: z.enum(['bcd', 'any']).optional(),
    maxDataLength: z.number().int().min(3).max(0xff).optional(),
  })
  .strict()
  .transform(({ valveFunction, preset, ...rest }): Cjt188Dialect => {
    const overrides: Partial<Cjt188Dialect> = { ...rest };
    if (valveFunction !== undefined) {
      (overrides as { valveFunction?: Cjt188Dialect['valveFunction'] }).valveFunction = valveFunction === '2A' ? FunctionCode.VendorValveControl : FunctionCode.WriteData;
    }
    const base = resolveDialect(preset === undefined ? overrides : { preset, ...overrides });
    // A preset with changes is named after both, unless the profile names it.
    const changed = Object.keys(overrides).some((k) => k !== 'name');
    return rest.name === undefined && changed ? { ...base, name: preset === undefined ? 'custom' : `${preset}+custom` } : base;
  });

export type Cjt188DialectInput = z.input<typeof cjt188DialectSchema>;
