/**
 * What a concentrator declares in a target profile (`device.declaration` with `device.kind:
 * "concentrator"`, `device.protocol: "gw1376"`): its terminal address and password, its archive
 * capacity, its uplink parameters, its collection window, and the meters MeterLab puts behind it
 * (a collection scenario, simulators/collection). Validated with zod; a bad field is one error
 * naming `device.declaration.<field>`.
 */
import { z } from 'zod';

const CLOCK = /^([01]\d|2[0-3]):[0-5]\d$/;

export const ConcentratorDeclarationSchema = z
  .object({
    /** A1 area code (4 digits, most significant first, "3701") and A2 terminal address 1..65534 (PROTOCOLS.md 3.3). */
    terminal: z
      .object({
        areaCode: z.string().regex(/^\d{4}$/, '4 decimal digits, e.g. "3701"'),
        address: z.number().int().min(1, '0 is invalid (PROTOCOLS.md 3.3)').max(65534, '65535 is the broadcast address'),
      })
      .strict(),
    /** PW, 16 bytes as 32 hex digits (PROTOCOLS.md 3.6); default all zeros, the 2009 library's test value. */
    password: z
      .string()
      .regex(/^[0-9A-Fa-f]{32}$/, '32 hex digits (16 bytes)')
      .default('00000000000000000000000000000000'),
    /** The master-station address MeterLab uses (MSA 1..127). */
    msa: z.number().int().min(1).max(127).default(1),
    /** Archive entries it holds (COL-06: at least 1024). The capacity case fills this many (up to 2040). */
    capacity: z.number().int().min(1).max(2040).default(1024),
    /** Heartbeat period in minutes (AFN 04 F1; CON-02 default 15). */
    heartbeatMinutes: z.number().int().min(1).max(255).default(15),
    /** Longest wait for its login after the uplink is offered, s (its redial interval, AFN 04 F8, plus margin). */
    loginWithinSeconds: z.number().int().min(1).max(3600).default(120),
    /** The collection window (COL-03, GAP-02): start of the daily task, deadline for every point, days re-read. */
    collection: z
      .object({
        start: z.string().regex(CLOCK, 'hh:mm').default('00:05'),
        deadline: z.string().regex(CLOCK, 'hh:mm').default('04:00'),
        reReadDays: z.number().int().min(0).max(31).default(3),
      })
      .strict()
      .prefault({}),
    /** Local time of the terminal's clock: minutes east of UTC (China 480). */
    utcOffsetMinutes: z.number().int().min(-720).max(840).default(480),
    /**
     * The meters behind it: a collection scenario (a bare name: simulators/collection/scenarios/<name>.json;
     * otherwise a file path, absolute or relative to the working directory) and which of its
     * concentrators this device is (1-based).
     */
    meters: z
      .object({
        scenario: z.string().min(1).default('bench'),
        concentrator: z.number().int().min(1).default(1),
      })
      .strict()
      .prefault({}),
  })
  .strict();

export type ConcentratorDeclaration = z.output<typeof ConcentratorDeclarationSchema>;

/** The 16-byte PW of a declaration. */
export function passwordBytes(d: ConcentratorDeclaration): Uint8Array {
  return Uint8Array.from({ length: 16 }, (_, i) => parseInt(d.password.slice(2 * i, 2 * i + 2), 16));
}
