/**
 * What a concentrator declares in a target profile (`device.declaration` with `device.kind:
 * "concentrator"`, `device.protocol: "gw1376"`): its terminal address and password, its archive
 * capacity, its uplink parameters, its collection window, and the meters MeterLab puts behind it
 * (a collection scenario, simulators/collection). Validated with zod; a bad field is one error
 * naming `device.declaration.<field>`.
 */
import { z } from 'zod';

const CLOCK = /^([01]\d|2[0-3]):[0-5]\d$/;

/** Where one of a vendor's concentrator ports is wired: a serial adapter, or a TCP serial server (transparent mode). */
const AdapterSchema = z.union([
  z.object({ path: z.string().min(1, 'the serial device, e.g. "/dev/ttyUSB0"') }).strict(),
  z.object({ host: z.string().min(1), port: z.number().int().min(1).max(65535) }).strict(),
]);

/**
 * How a vendor's concentrator's nights are run (its clock and MeterLab's meters' move together):
 * - "skip" (default): the meters' clock starts at the scenario's start, the suite sets the
 *   concentrator's clock to it (AFN 05 F31) at each login, and a wait for a later instant jumps
 *   both clocks forward whenever every meter bus has been quiet for `quietSeconds`: straight to
 *   `leadMinutes` before the next collection window, and inside a window by at most `stepMinutes`
 *   (so a concentrator that retries on its own schedule still sees each retry slot come) [MeterLab].
 * - "real": nothing is skipped, no clock is set but by the clock-sync case: the meters' clock is
 *   this machine's (read in `utcOffsetMinutes`), the concentrator's its own; a night takes a night.
 */
/** `vendor.time` when a profile gives none: skip, with MeterLab's choices above. */
export const DEFAULT_VENDOR_TIME = { mode: 'skip', quietSeconds: 90, stepMinutes: 30, leadMinutes: 2 } as const;

const TimeSchema = z.discriminatedUnion('mode', [
  z
    .object({
      mode: z.literal('skip'),
      /** Bus silence before a jump, s: longer than the concentrator's longest pause inside a pass (its reply timeout x attempts, its schedule check) [MeterLab: 90]. */
      quietSeconds: z.number().int().min(1).max(3600).default(90),
      /** Longest jump inside a collection window, minutes [MeterLab: 30, the reference's retry period]. */
      stepMinutes: z.number().int().min(1).max(240).default(30),
      /** Where a jump to a window lands: this long before its start, minutes [MeterLab: 2]. */
      leadMinutes: z.number().int().min(1).max(60).default(2),
    })
    .strict(),
  z.object({ mode: z.literal('real') }).strict(),
]);

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
    /**
     * A vendor's concentrator (`connection: { "type": "listen", "port": ... }`: it dials MeterLab):
     * which of MeterLab's adapters carries each of its meter ports (keyed by the 1376.1 port number
     * of the scenario's archive, "2" for RS-485 1; every port of the scenario's concentrator), and
     * how its nights are run. Ignored by the reference.
     */
    vendor: z
      .object({
        ports: z.record(z.string(), AdapterSchema).superRefine((ports, ctx) => {
          for (const key of Object.keys(ports)) {
            if (!/^\d{1,2}$/.test(key)) ctx.addIssue({ code: 'custom', path: [key], message: 'not a 1376.1 port number; key each adapter by its port, e.g. "2" for RS-485 1' });
          }
        }),
        time: TimeSchema.default(DEFAULT_VENDOR_TIME),
      })
      .strict()
      .optional(),
  })
  .strict();

export type ConcentratorDeclaration = z.output<typeof ConcentratorDeclarationSchema>;

/** Where a vendor's port adapter is, for messages: its serial device, or "tcp host:port". */
export function adapterText(a: z.output<typeof AdapterSchema>): string {
  return 'path' in a ? a.path : `tcp ${a.host}:${a.port}`;
}

/** The 16-byte PW of a declaration. */
export function passwordBytes(d: ConcentratorDeclaration): Uint8Array {
  return Uint8Array.from({ length: 16 }, (_, i) => parseInt(d.password.slice(2 * i, 2 * i + 2), 16));
}
