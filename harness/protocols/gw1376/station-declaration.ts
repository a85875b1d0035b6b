/**
 * What a master station declares in a target profile (`device.declaration` with `device.kind:
 * "master-station"`, `device.protocol: "gw1376"`), issue 12: the station is the system under test
 * and MeterLab runs the concentrators (with their meters, a collection scenario) that log in to it.
 * The declaration says what those concentrators need to be accepted (the PW the station sends, its
 * MSA), what the station promises (its collection window: GAP-02, COL-02), and which scenario's
 * concentrators MeterLab runs. Validated with zod; a bad field is one error naming
 * `device.declaration.<field>`.
 */
import { z } from 'zod';

const CLOCK = /^([01]\d|2[0-3]):[0-5]\d$/;

export const MasterStationDeclarationSchema = z
  .object({
    /**
     * PW the station sends on AFN 04/05 (16 bytes as 32 hex digits, PROTOCOLS.md 3.6) to every
     * terminal: MeterLab's concentrators are all set to it. Absent (the default), each concentrator
     * checks its own, seeded in the scenario's plan (`planConcentrator(s, c).password`), and the
     * station must be configured with each one (the reference is, from the plan).
     */
    password: z
      .string()
      .regex(/^[0-9A-Fa-f]{32}$/, '32 hex digits (16 bytes)')
      .optional(),
    /** The station's MSA (1..127) as it addresses the terminals. */
    msa: z.number().int().min(1).max(127).default(1),
    /** Heartbeat period of MeterLab's concentrators, minutes (AFN 04 F1; CON-02 default 15). */
    heartbeatMinutes: z.number().int().min(1).max(255).default(15),
    /** The station's daily collection window: yesterday's data from `start` (GAP-02 04:00), all of it by `deadline` (COL-02 12:00). */
    collection: z
      .object({
        start: z.string().regex(CLOCK, 'hh:mm').default('04:00'),
        deadline: z.string().regex(CLOCK, 'hh:mm').default('12:00'),
      })
      .strict()
      .prefault({}),
    /** Local time of collection days: minutes east of UTC (China 480). */
    utcOffsetMinutes: z.number().int().min(-720).max(840).default(480),
    /**
     * The concentrators MeterLab runs for it: every concentrator of a collection scenario (a bare
     * name: simulators/collection/scenarios/<name>.json; otherwise a file path, absolute or relative
     * to the profile's folder). The station must be configured with their archives (the scenario's plan).
     */
    meters: z
      .object({ scenario: z.string().min(1).default('station-bench') })
      .strict()
      .prefault({}),
    /**
     * A vendor's station (`connection: { type: "tcp", host, port }`), which runs in real time
     * (harness/targets/gw1376-station-target.ts says how a run is timed). Ignored by the reference.
     */
    vendor: z
      .object({
        /**
         * The station's clock minus the real time, seconds: non-zero for a station whose clock was set
         * for a test day (e.g. faketime), so its night comes when wanted. MeterLab's concentrators'
         * and meters' clocks are set to the station's. Default 0.
         */
        clockOffsetSeconds: z.number().int().min(-400 * 86_400).max(400 * 86_400).default(0),
        /** F8 redial interval of MeterLab's concentrators, s (CON-03: 60), the first wait after a failed dial or a drop. */
        redialSeconds: z.number().int().min(1).max(86_400).default(60),
        /**
         * Where MeterLab reads the station's own figures (success rate, stored readings): an HTTP(S)
         * URL answering GET, or a JSON file the station writes, in MeterLab's station export format
         * (harness/targets/gw1376-station-export.ts). Absent: the cases that need them are not applicable.
         */
        export: z
          .union([
            z
              .object({
                url: z.string().url(),
                /** The NAME of an environment variable holding a bearer token for the GET (never the token itself). */
                tokenEnv: z
                  .string()
                  .regex(/^[A-Za-z_][A-Za-z0-9_]*$/, 'the NAME of an environment variable that holds the token, never the token')
                  .optional(),
              })
              .strict(),
            z.object({ file: z.string().min(1) }).strict(),
          ])
          .optional(),
      })
      .strict()
      .optional(),
  })
  .strict();

export type MasterStationDeclaration = z.output<typeof MasterStationDeclarationSchema>;
