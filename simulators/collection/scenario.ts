/**
 * Collection scenario (issue 12): a seeded description of concentrators and the meters behind them —
 * areas of households, each household with some of electricity, water, gas and heat meters, each
 * kind reached over one channel (RS-485 DL/T 645 or CJ/T 188 buses, M-Bus segments, interface
 * converters to micro-power wireless meters) — and the fault mix of a real night (dead meters, lossy
 * wireless hops, noisy RS-485 buses, concentrators that reboot, uplinks down at night).
 *
 * JSON, validated with zod like the fleet scenario (simulators/fleet/scenario.ts): a bad scenario is
 * one ProfileError naming every bad field (`scenario p.json: areas[1].meters.heat.channel: ...`),
 * before anything is built. Defaults are MeterLab's choices unless a comment names a source. The
 * format is described in README.md ("Scenario").
 */
import { z } from 'zod';
import { ProfileError } from '../../harness/core/errors.ts';
import { readJsonDocument } from '../../harness/core/json-file.ts';
import { escapeControlCharacters } from '../../harness/core/text.ts';
import type { LineSettings } from '../../harness/links/link.ts';
import { Cjt188LineSchema } from '../../harness/protocols/cjt188/declaration.ts';
import { LineSettingsSchema } from '../../harness/protocols/dlt645/declaration.ts';
import { formatIssuePath } from '../device/profile-loading.ts';
import type { MeterKind } from '../concentrator/types.ts';

/** TIA/EIA-485: a driver for 32 unit loads; DL/T 645 installations keep to 32 meters a bus (simulators/fleet). */
export const MAX_METERS_PER_BUS = 32;
/** EN 13757-2: primary addresses 1..250 on one M-Bus segment. */
export const MAX_METERS_PER_SEGMENT = 250;
/** An interface converter's archive: 256 meters (harness/protocols/converter/declaration.ts). */
export const MAX_METERS_PER_CONVERTER = 256;
/** Archive capacity of MeterLab's concentrator: 2040 points (GAP-04; COL-06 asks ≥ 1024). */
export const MAX_POINTS_PER_CONCENTRATOR = 2040;
/**
 * Local ports of one concentrator: 376.1 port numbers 2..4 are RS-485 1..3, MeterLab numbers further
 * local ports 5..30 (gw1376 `Port`, CON-07): 29 ports.
 */
export const FIRST_PORT = 2;
export const LAST_PORT = 30;
export const MAX_PORTS = LAST_PORT - FIRST_PORT + 1;
/** Largest scenario: 10 million households (addresses and M-Bus identification numbers have 8+ digits for them). */
export const MAX_HOUSEHOLDS = 10_000_000;

export const METER_KINDS = ['electricity', 'water', 'gas', 'heat'] as const satisfies readonly MeterKind[];

/**
 * How a kind of meter is reached from the concentrator:
 * - `rs485`: on the concentrator's RS-485 buses (electricity: DL/T 645-2007; water and gas: CJ/T 188, wired, bus-powered);
 * - `wireless`: micro-power wireless meters behind interface converters on an RS-485 bus (CJ/T 188 or
 *   DL/T 645 forwarded transparently, MM-04; sleeping battery gas meters woken by the converter, MM-06);
 * - `mbus`: heat meters on M-Bus segments (EN 13757, REQ_UD2).
 */
export const CHANNELS = ['rs485', 'wireless', 'mbus'] as const;
export type MeterChannel = (typeof CHANNELS)[number];
/** Which channels each kind may use. */
export const CHANNELS_OF: Readonly<Record<MeterKind, readonly MeterChannel[]>> = {
  electricity: ['rs485', 'wireless'],
  water: ['rs485', 'wireless'],
  gas: ['rs485', 'wireless'],
  heat: ['mbus'],
};

const fraction = z.number().min(0).max(1);
const hhmm = z.string().regex(/^([01]\d|2[0-3]):[0-5]\d$/, 'a local time "hh:mm"');

const KindSchema = z
  .object({
    /** Share of the area's households that have this meter (each household drawn on its own). */
    share: fraction,
    channel: z.enum(CHANNELS),
  })
  .strict();

const AreaSchema = z
  .object({
    /** Free name (a city, a district): concentrator ids start with it. */
    name: z.string().regex(/^[A-Za-z0-9][A-Za-z0-9_-]{0,31}$/, 'letters, digits, "-" and "_", at most 32'),
    /** 1376.1 A1, the administrative area code: 4 BCD digits (PROTOCOLS.md 3.3). */
    areaCode: z.string().regex(/^\d{4}$/, '4 decimal digits'),
    /** 1376.1 A2 of the area's first concentrator; the next ones count up. Default 1 (0 is invalid). */
    firstTerminal: z.number().int().min(1).max(65535).default(1),
    households: z.number().int().min(1).max(MAX_HOUSEHOLDS),
    /** Households behind one concentrator (a transformer area); the last concentrators may have one fewer. */
    householdsPerConcentrator: z.number().int().min(1).max(MAX_POINTS_PER_CONCENTRATOR),
    meters: z
      .object({ electricity: KindSchema.optional(), water: KindSchema.optional(), gas: KindSchema.optional(), heat: KindSchema.optional() })
      .strict()
      .superRefine((m, ctx) => {
        for (const kind of METER_KINDS) {
          const k = m[kind];
          if (k && !CHANNELS_OF[kind].includes(k.channel)) {
            ctx.addIssue({ code: 'custom', path: [kind, 'channel'], message: `${kind} meters are reached over ${CHANNELS_OF[kind].join(' or ')}, not ${k.channel}` });
          }
        }
        if (!METER_KINDS.some((kind) => (m[kind]?.share ?? 0) > 0)) ctx.addIssue({ code: 'custom', path: [], message: 'no meter kind with a share above 0' });
      }),
  })
  .strict();

const ChannelsSchema = z
  .object({
    rs485: z
      .object({
        /** Meters on one RS-485 bus (TIA/EIA-485 unit loads). */
        metersPerBus: z.number().int().min(1).max(MAX_METERS_PER_BUS).default(MAX_METERS_PER_BUS),
        /** Default 2400 8E1 (CON-06); the rates a CJ/T 188 line and an interface converter take (1200..9600). */
        line: Cjt188LineSchema.optional(),
      })
      .strict()
      .prefault({}),
    mbus: z
      .object({
        /** Heat meters on one M-Bus segment (a level converter's loads; 60 is a common small converter). */
        metersPerSegment: z.number().int().min(1).max(MAX_METERS_PER_SEGMENT).default(60),
        /** Default 2400 8E1 (EN 13757-2 factory default, MBUS.md 1). */
        line: LineSettingsSchema.optional(),
      })
      .strict()
      .prefault({}),
    wireless: z
      .object({
        metersPerConverter: z.number().int().min(1).max(MAX_METERS_PER_CONVERTER).default(64),
        /** Converters sharing one RS-485 bus of the concentrator. */
        convertersPerBus: z.number().int().min(1).max(MAX_METERS_PER_BUS).default(8),
        /** Loss per radio frame of a healthy hop, and latency per frame, ms (as the converter declaration's `simulation`). */
        hopLossProbability: fraction.default(0.03),
        hopLatencyMs: z.tuple([z.number().min(0).max(10_000), z.number().min(0).max(10_000)]).default([20, 60]),
        /** Battery meters that sleep and need the converter's wake-up (MM-06): gas yes, water no by default. */
        sleeps: z.object({ water: z.boolean().default(false), gas: z.boolean().default(true) }).strict().prefault({}),
      })
      .strict()
      .prefault({})
      .superRefine((w, ctx) => {
        if (w.hopLatencyMs[1] < w.hopLatencyMs[0]) ctx.addIssue({ code: 'custom', path: ['hopLatencyMs'], message: '[min, max] with min <= max' });
      }),
  })
  .strict()
  .prefault({});

const FaultsSchema = z
  .object({
    /** Share of meters that never answer (dead battery, broken module). */
    deadMeters: fraction.default(0),
    /** Share of wireless meters whose hop loses `lossProbability` of its frames instead of the healthy rate. */
    lossyHops: z.object({ share: fraction, lossProbability: fraction.default(0.4) }).strict().optional(),
    /** Share of RS-485 ports (buses of meters or converters) on which frames are corrupted or lost, either way. */
    noisyBuses: z.object({ share: fraction, corrupt: fraction.default(0.05), drop: fraction.default(0.02) }).strict().optional(),
    /** Share of concentrators that reboot at `at` (local) on night `night` (0 = the first night after the start), off for `offMinutes`. */
    reboots: z.object({ share: fraction, at: hhmm.default('01:30'), offMinutes: z.number().min(0).max(1440).default(3), night: z.number().int().min(0).max(30).default(0) }).strict().optional(),
    /** Share of concentrators whose uplink is down from `from` to `to` (local; across midnight when `to` < `from`) on night `night`. */
    uplinkDown: z.object({ share: fraction, from: hhmm.default('23:00'), to: hhmm.default('06:00'), night: z.number().int().min(0).max(30).default(0) }).strict().optional(),
  })
  .strict()
  .prefault({});

export const CollectionScenarioSchema = z
  .object({
    /** Free text for logs and reports. */
    description: z.string().optional(),
    /** Seed of every random choice in the world. */
    seed: z.number().int().min(0).max(2 ** 32 - 1),
    /** Start of simulated time, ISO 8601 with an offset; local time of the concentrators is UTC+8. */
    start: z.iso.datetime({ offset: true }).default('2026-01-11T12:00:00+08:00'),
    areas: z
      .array(AreaSchema)
      .min(1)
      .max(1000)
      .superRefine((areas, ctx) => {
        const names = new Map<string, number>();
        const codes = new Map<string, number>();
        areas.forEach((a, i) => {
          if (names.has(a.name)) ctx.addIssue({ code: 'custom', path: [i, 'name'], message: `duplicate name "${a.name}" (also areas[${names.get(a.name)}])` });
          names.set(a.name, i);
          if (codes.has(a.areaCode)) ctx.addIssue({ code: 'custom', path: [i, 'areaCode'], message: `area code ${a.areaCode} is also areas[${codes.get(a.areaCode)}]'s: terminal addresses would clash` });
          codes.set(a.areaCode, i);
        });
      }),
    channels: ChannelsSchema,
    faults: FaultsSchema,
    /**
     * COL-12: the electricity meters keep load records every `intervalMinutes` (voltage, power and
     * energy: classes 1, 2 and 4 of the load-record mode word 04000901) and the concentrators read
     * them every night as day curves (1376.1 AFN 0D F81/F89/F101). Absent: daily data only.
     */
    curves: z
      .object({ intervalMinutes: z.union([z.literal(15), z.literal(30), z.literal(60)]).default(15) })
      .strict()
      .optional(),
  })
  .strict()
  .superRefine((s, ctx) => {
    let total = 0;
    s.areas.forEach((a, i) => {
      total += a.households;
      const concentrators = Math.ceil(a.households / a.householdsPerConcentrator);
      if (a.firstTerminal + concentrators - 1 > 65535) {
        ctx.addIssue({ code: 'custom', path: ['areas', i, 'firstTerminal'], message: `${concentrators} concentrators from terminal ${a.firstTerminal} would pass 65535` });
      }
      // Worst case: every household of a concentrator has every kind with a share above 0.
      const need = portsNeeded(s.channels, a.meters, a.householdsPerConcentrator);
      if (need.points > MAX_POINTS_PER_CONCENTRATOR) {
        ctx.addIssue({ code: 'custom', path: ['areas', i, 'householdsPerConcentrator'], message: `up to ${need.points} meters behind one concentrator, more than its ${MAX_POINTS_PER_CONCENTRATOR} archive points` });
      }
      if (need.ports > MAX_PORTS) {
        ctx.addIssue({ code: 'custom', path: ['areas', i, 'householdsPerConcentrator'], message: `up to ${need.ports} local ports needed, a concentrator has ${MAX_PORTS} (376.1 ports ${FIRST_PORT}..${LAST_PORT})` });
      }
    });
    if (total > MAX_HOUSEHOLDS) ctx.addIssue({ code: 'custom', path: ['areas'], message: `${total} households in all, more than ${MAX_HOUSEHOLDS}` });
  });

/** Ports and points a concentrator of `households` needs when every household has every kind with a share above 0. */
export function portsNeeded(
  channels: z.output<typeof ChannelsSchema>,
  meters: z.output<typeof AreaSchema>['meters'],
  households: number,
): { ports: number; points: number } {
  let ports = 0;
  let points = 0;
  for (const kind of METER_KINDS) {
    const k = meters[kind];
    if (!k || k.share === 0) continue;
    points += households;
    const per = k.channel === 'rs485' ? channels.rs485.metersPerBus : k.channel === 'mbus' ? channels.mbus.metersPerSegment : channels.wireless.metersPerConverter * channels.wireless.convertersPerBus;
    ports += Math.ceil(households / per);
  }
  return { ports, points };
}

export type CollectionScenarioInput = z.input<typeof CollectionScenarioSchema>;
type Parsed = z.output<typeof CollectionScenarioSchema>;
export type CollectionArea = Parsed['areas'][number];
export type CollectionChannels = Parsed['channels'];
export type CollectionFaults = Parsed['faults'];

/** A validated scenario: plain data (it can be posted to a worker). */
export interface CollectionScenario extends Omit<Parsed, 'start' | 'channels'> {
  /** Start of simulated time, ms since the epoch. */
  readonly startMs: number;
  readonly channels: Omit<CollectionChannels, 'rs485' | 'mbus'> & {
    readonly rs485: { readonly metersPerBus: number; readonly line: LineSettings };
    readonly mbus: { readonly metersPerSegment: number; readonly line: LineSettings };
  };
}

/** 2400 8E1: RS-485 (CON-06) and M-Bus (EN 13757-2) default. */
export const DEFAULT_LINE: LineSettings = { baudRate: 2400, dataBits: 8, parity: 'even', stopBits: 1 };

/**
 * Validates a parsed JSON scenario. Throws one ProfileError naming every bad field
 * (`scenario x.json: areas[0].households: ...; faults.reboots.at: ...`).
 */
export function loadCollectionScenario(json: unknown, source?: string): CollectionScenario {
  const what = `scenario${source ? ` ${source}` : ''}`;
  const r = CollectionScenarioSchema.safeParse(json);
  if (!r.success) {
    throw new ProfileError(`${what}: ${r.error.issues.map((i) => `${formatIssuePath(i.path).replace('(profile)', '(scenario)')}: ${i.message}`).join('; ')}`);
  }
  const { start, channels, ...rest } = r.data;
  return {
    ...rest,
    startMs: Date.parse(start),
    channels: {
      ...channels,
      rs485: { metersPerBus: channels.rs485.metersPerBus, line: channels.rs485.line ?? DEFAULT_LINE },
      mbus: { metersPerSegment: channels.mbus.metersPerSegment, line: channels.mbus.line ?? DEFAULT_LINE },
    },
  };
}

/** Reads, parses and validates a scenario file. */
export function readCollectionScenarioFile(path: string): CollectionScenario {
  return loadCollectionScenario(readJsonDocument(path, 'scenario'), escapeControlCharacters(path));
}
