/**
 * Target profile: what the system under test is, how to reach it, and what it declares
 * (ARCHITECTURE.md "Targets and declarations"). JSON files checked in under suites/profiles/;
 * suites/profiles/README.md explains each field for vendors.
 *
 *   { "name": "...", "description": "...",
 *     "connection": { "type": "reference", "transport": "bus" | "mock-serial" | "memory",
 *                     "simulator": "<simulator profile path>" | { inline }, "behaviours": [...], "seed": 1 }
 *                 | { "type": "serial", "path": "/dev/ttyUSB0", "line": { "baudRate": 2400, ... } }
 *                 | { "type": "tcp", "host": "192.168.1.50", "port": 4001 },
 *     "device": { "kind": "electricity-meter", "protocol": "dlt645" }   (the default; see DeviceSchema),
 *     "meter":  <MeterDeclaration>   (DL/T 645 only; optional for reference targets: the simulator's own),
 *     "master": { "timeoutMs": 3000, "attempts": 3, "preamble": 4 },
 *     "limits": { "responseDelayMs": { "min": 20, "max": 500 }, "clockToleranceS": 10 },
 *     "allowDestructive": { "addressWrite": false, "passwordChange": false, "maxDemandClear": false,
 *                           "meterClear": false, "eventClear": false } }
 *
 * `loadTargetProfile(spec)` takes 'reference' (the built-in reference meter on a simulated bus)
 * or a path to a JSON file. Every failure is one ProfileError whose message names the file and
 * the field path (or the line and column of a JSON syntax error).
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { z } from 'zod';
import { ProfileError } from '../core/errors.ts';
import { formatLine, sameLine } from '../links/link.ts';
import { LineSettingsSchema, MeterDeclarationSchema, type MeterDeclaration } from '../protocols/dlt645/declaration.ts';
import {
  REFERENCE_METER_PROFILE,
  loadSimulatorProfile,
  type SimulatorProfile,
} from '../../simulators/electricity-meter/index.ts';
import { parseJsonText } from './json-text.ts';
import { DEVICE_KINDS, type DeviceKind } from './protocols.ts';
import { fileURLToPath } from 'node:url';
import { readPrepaidScenarioFile, type PrepaidScenario } from '../../simulators/prepaid/scenario.ts';
import { busCount, busName } from '../../simulators/fleet/plan.ts';
import type { StationFaults } from '../../simulators/master-station/station.ts';

/** The spec that names the built-in reference target. */
export const REFERENCE_TARGET_SPEC = 'reference';

/** A behaviour stacked on the simulator: `{ "name": "late-reply", "delayMs": 600 }` (simulators/electricity-meter). */
const BehaviourSchema = z.object({ name: z.string().min(1, 'a behaviour needs a name') }).catchall(z.unknown());

const ReferenceConnectionSchema = z
  .object({
    type: z.literal('reference'),
    /** How the master reaches the simulator: a paced RS-485 bus model, the serialport mock binding, or an in-memory pair. */
    transport: z.enum(['bus', 'mock-serial', 'memory']).default('bus'),
    /**
     * On the bus transport, how the bus hands bytes to the meter: 'frame' (default: a frame as one
     * event when its last byte arrives) or 'byte' (every byte on its own, as a USB adapter or a
     * serial server may hand them over: the meter's byte-level receive path is exercised).
     */
    delivery: z.enum(['frame', 'byte']).optional(),
    /** Simulator profile: a path (relative to this file) or an inline object. Default: the reference meter. */
    simulator: z.union([z.string().min(1), z.record(z.string(), z.unknown())]).optional(),
    /** Behaviours stacked on top of the simulator's own (broken variants). */
    behaviours: z.array(BehaviourSchema).default([]),
    /**
     * Defects of a broken variant of another protocol's reference device (`[{ "name": "ignore-fcb" }]`),
     * each validated by the protocol entry's `defects` schema (device-profile.ts). DL/T 645 uses `behaviours`.
     */
    defects: z.array(BehaviourSchema).optional(),
    /** Seed of every random choice in the simulation. */
    seed: z.number().int().min(0).default(1),
    /**
     * Meter clock offset at start in ms, overriding the simulator profile's: a meter that has
     * drifted (-95000 = 95 s slow). The built-in reference uses REFERENCE_CLOCK_OFFSET_MS.
     */
    clockOffsetMs: z.number().int().optional(),
  })
  .strict();

/**
 * The built-in reference meter starts 95 s slow, so the time-sync case has a real error to
 * correct (CLK-01) and a meter that ignores 08H fails it.
 */
export const REFERENCE_CLOCK_OFFSET_MS = -95_000;

const SerialConnectionSchema = z
  .object({
    type: z.literal('serial'),
    /** Serial device: /dev/ttyUSB0, /dev/serial/by-id/..., COM3. */
    path: z.string().min(1, 'give the serial device path, e.g. "/dev/ttyUSB0"'),
    /** Line settings of the port; default the meter's declared line. */
    line: LineSettingsSchema.optional(),
  })
  .strict();

const TcpConnectionSchema = z
  .object({
    type: z.literal('tcp'),
    /** TCP serial server (transparent mode) the meter's RS-485 port hangs off. */
    host: z.string().min(1, 'give the serial server host name or address'),
    port: z.number().int().min(1).max(65535),
  })
  .strict();

const ListenConnectionSchema = z
  .object({
    type: z.literal('listen'),
    /**
     * MeterLab listens and the device dials in: a concentrator's uplink (Q/GDW 1376.1 over
     * GPRS/Ethernet) set to MeterLab's address as its master station. The address to listen on:
     * default 127.0.0.1 (loopback); "0.0.0.0" to be reached from the network.
     */
    host: z.string().min(1).default('127.0.0.1'),
    /** The port the device dials; 0 picks a free one (tests: read it back from the target). */
    port: z.number().int().min(0).max(65535),
  })
  .strict();

export const ConnectionSchema = z.discriminatedUnion('type', [ReferenceConnectionSchema, SerialConnectionSchema, TcpConnectionSchema, ListenConnectionSchema]);

export const MasterSettingsSchema = z
  .object({
    /** Reply timeout per attempt, ms (CON-05: 3000). */
    timeoutMs: z.number().int().min(1).max(600_000).default(3000),
    /** Attempts in total (CON-05: 3). */
    attempts: z.number().int().min(1).max(10).default(3),
    /** FE wake-up bytes before each request (CON-05: 4). */
    preamble: z.number().int().min(0).max(16).default(4),
  })
  .strict();

export const LimitsSchema = z
  .object({
    /** Accepted response delay Td (PROTOCOLS.md 1.1: 20 ms ≤ Td ≤ 500 ms). */
    responseDelayMs: z
      .object({ min: z.number().min(0).default(20), max: z.number().positive().default(500) })
      .strict()
      .refine((r) => r.min <= r.max, { message: 'min must not exceed max' })
      .default({ min: 20, max: 500 }),
    /** Accepted meter clock error after a time sync, s (CLK-01: meters ≤ 10 s). */
    clockToleranceS: z.number().min(0).default(10),
  })
  .strict();

/**
 * Permission to run commands that change a real meter's identity or erase its records (the
 * programming suite). Each defaults to false: on a serial or TCP target the case is then not
 * applicable and its reason names the field. Simulated (reference) targets always run them.
 */
export const AllowDestructiveSchema = z
  .object({
    /** 15H: changes the communication address (restored afterwards). */
    addressWrite: z.boolean().default(false),
    /** 18H: changes a password (restored afterwards). */
    passwordChange: z.boolean().default(false),
    /** 19H: erases the maximum-demand registers. */
    maxDemandClear: z.boolean().default(false),
    /** 1AH: erases energy, demand, freezes and event records. */
    meterClear: z.boolean().default(false),
    /** 1BH: erases the event records. */
    eventClear: z.boolean().default(false),
  })
  .strict();

/** A dot path into a JSON answer: "accounts", "data.items", "balance.fen". */
const JsonPath = z.string().regex(/^[A-Za-z0-9_$-]+(\.[A-Za-z0-9_$-]+)*$/, 'a dot path such as "data.items"');
/** A URL path on the vendor's API, appended to api.baseUrl; may hold {{placeholders}}. */
const ApiPath = z.string().regex(/^\/\S*$/, 'a path starting with "/", e.g. "/api/v1/top-ups"');
/** Environment variable names: the secret itself never sits in the profile. */
const EnvName = z.string().regex(/^[A-Za-z_][A-Za-z0-9_]*$/, 'the NAME of an environment variable that holds the secret, never the secret');

/** How MeterLab authenticates to the vendor's API. */
const StationAuthSchema = z.discriminatedUnion('type', [
  z.object({ type: z.literal('none') }).strict(),
  /** `Authorization: Bearer <value of tokenEnv>`. */
  z.object({ type: z.literal('bearer'), tokenEnv: EnvName }).strict(),
  /** `<name>: <value of valueEnv>` (an API key header). */
  z.object({ type: z.literal('header'), name: z.string().regex(/^[A-Za-z0-9-]+$/, 'an HTTP header name'), valueEnv: EnvName }).strict(),
]);

/**
 * One export the vendor's system offers (GET, JSON): where the list is in the answer (`items`), how
 * to page (`after-id`: ?afterId=<last id>&limit=N; `offset-limit`: ?offset=N&limit=N; `none`: one
 * answer holds all), and, where the vendor's names differ, which of its fields holds each of
 * MeterLab's (`fields`: MeterLab name -> dot path). Money in fen, instants in epoch ms or ISO 8601.
 */
const ExportSchema = z
  .object({
    path: ApiPath,
    items: JsonPath,
    paging: z.enum(['after-id', 'offset-limit', 'none']).default('none'),
    /** Page size asked for (paged exports). */
    pageSize: z.number().int().min(1).max(10_000).default(500),
    fields: z.record(z.string().min(1), JsonPath).default({}),
  })
  .strict();

const StationApiSystemSchema = z
  .object({
    type: z.literal('station-api'),
    /** A real-time prepaid scenario file (relative to this profile; a bare name is one of suites/switching/scenarios/). */
    scenario: z.string().min(1),
    /** How long the run lasts, wall time (the scenario's `days` is not used): the world's meters run in real time. */
    durationSeconds: z.number().positive().max(31 * 86_400),
    api: z
      .object({
        /** The vendor's API root, e.g. "https://station.example.com" (http or https). */
        baseUrl: z.url({ protocol: /^https?$/, error: 'an http:// or https:// URL' }),
        auth: StationAuthSchema,
        /** Seconds MeterLab waits for one answer. */
        timeoutSeconds: z.number().positive().max(300).default(10),
      })
      .strict(),
    topUp: z
      .object({
        method: z.enum(['POST', 'PUT']).default('POST'),
        path: ApiPath,
        /**
         * The JSON body: any JSON in which a string that is exactly "{{paymentId}}", "{{accountId}}",
         * "{{meterAddress}}", "{{amountFen}}" or "{{amountYuan}}" becomes that value (numbers as
         * numbers), and a placeholder inside a longer string is replaced as text.
         */
        body: z.unknown(),
        /** Where the answer says whether this payment was credited now (false: a repeat) and the balance after it, in fen. */
        response: z.object({ credited: JsonPath.optional(), balanceFen: JsonPath.optional() }).strict().default({}),
        /** A payment that got no answer, or a 5xx, is sent again after this long, until accepted or the run ends (a payment platform's retry). */
        retrySeconds: z.number().positive().max(3600).default(10),
      })
      .strict(),
    /** What the vendor's system exports for the cases; each absent one leaves the cases that need it inconclusive, naming it. */
    exports: z
      .object({ accounts: ExportSchema.optional(), jobs: ExportSchema.optional(), events: ExportSchema.optional(), worklist: ExportSchema.optional() })
      .strict()
      .default({}),
    /**
     * Where MeterLab serves the simulated buses, one TCP port per channel of the scenario (bus00,
     * bus01, ...), as TCP serial servers in transparent mode: the vendor's channels dial them.
     * `ports` names each channel's port, or `portBase` gives bus b the port portBase + b.
     */
    channels: z
      .object({
        host: z.string().min(1).default('127.0.0.1'),
        portBase: z.number().int().min(1).max(65535).optional(),
        ports: z.record(z.string().min(1), z.number().int().min(1).max(65535)).optional(),
      })
      .strict()
      .refine((c) => (c.portBase === undefined) !== (c.ports === undefined), { message: 'give exactly one of "portBase" or "ports"' }),
    /** The SMS gateway MeterLab listens on: the vendor's system sends its SMS to http://host:port/sms ({to, text, reference}). */
    sms: z.object({ host: z.string().min(1).default('127.0.0.1'), port: z.number().int().min(1).max(65535) }).strict(),
  })
  .strict();

/**
 * The system under test of the system switching cases (issue 9): a master station and its prepaid
 * customers' meters, run through a seeded scenario: MeterLab's reference station in virtual time
 * ("reference-station"), or a vendor's station in real time over its HTTP API, its channels
 * dialling the simulated buses MeterLab serves on TCP ports ("station-api",
 * harness/targets/station-api.ts).
 */
export const SystemSchema = z.discriminatedUnion('type', [
  z
    .object({
      type: z.literal('reference-station'),
      /** A prepaid scenario file (simulators/prepaid/scenario.ts), relative to this profile; a bare name is one of suites/switching/scenarios/. */
      scenario: z.string().min(1).default('prepaid-1000'),
      /**
       * Where the run kills the station and for how long it stays down; null for no crash. Default:
       * 01:20 on day 4, 5 minutes: 20 minutes after the billing run cut that day's customers, while
       * their top-ups come in (MeterLab's choice).
       */
      crash: z
        .object({ atMinutes: z.number().int().min(0), downMinutes: z.number().int().min(1).max(1440) })
        .strict()
        .nullable()
        .default({ atMinutes: 3 * 1440 + 80, downMinutes: 5 }),
      /** Storage of the station: PGlite in memory unless given (a data directory or postgres:// URL). */
      db: z.string().min(1).optional(),
      /** Deliberate defects of the reference station: broken variants only. */
      faults: z
        .object({
          reconnectDelayMs: z.number().int().min(0).optional(),
          ignoreKeepPower: z.boolean().optional(),
          creditDuplicates: z.boolean().optional(),
          volatileTopUps: z.boolean().optional(),
        })
        .strict()
        .optional(),
    })
    .strict(),
  StationApiSystemSchema,
]);

/** The protocol of every target profile written before `device` existed. */
export const DEFAULT_PROTOCOL = 'dlt645';

/**
 * What the system under test is: one device, its kind and the protocol it is read with, and (for
 * every protocol but DL/T 645) its declaration. One device, not a list: a target is one device on
 * one link with one capture (a converter that reaches battery meters is one device upstream whose
 * own declaration lists the meters behind it). The declaration's schema belongs to the protocol
 * (harness/protocols/<p>/declaration.ts, registered in protocols.ts): a new protocol adds its
 * schema there, not a field here. DL/T 645 keeps its declaration in the top-level `meter`, as
 * every profile written so far has it. Absent: `{ kind: "electricity-meter", protocol: "dlt645" }`.
 */
export const DeviceSchema = z
  .object({
    kind: z.enum(DEVICE_KINDS),
    /** A registered protocol id (protocols.ts): checked when the profile is resolved. */
    protocol: z.string().regex(/^[a-z][a-z0-9-]*$/, 'a protocol id such as "dlt645", "cjt188" or "mbus"'),
    /** The device's declaration, validated by the protocol's schema (not for DL/T 645: that is `meter`). */
    declaration: z.unknown().optional(),
  })
  .strict();

/** The JSON document as written (before the simulator is loaded and defaults are filled in). */
export const TargetProfileSchema = z
  .object({
    /** Short name shown in reports: "reference", "acme-dds666-sn0042". */
    name: z.string().min(1).regex(/^[A-Za-z0-9][A-Za-z0-9._-]*$/, 'use letters, digits, ".", "_" and "-" (it names report folders)'),
    description: z.string().optional(),
    /** How to reach the device; absent only for a vendor's station (system.type "station-api"), which is reached through system. */
    connection: ConnectionSchema.optional(),
    /** The device under test, its kind and protocol (absent: a DL/T 645 electricity meter). */
    device: DeviceSchema.optional(),
    /** What the DL/T 645 meter under test declares. Required for serial and TCP DL/T 645 targets. */
    meter: MeterDeclarationSchema.optional(),
    master: MasterSettingsSchema.default({ timeoutMs: 3000, attempts: 3, preamble: 4 }),
    limits: LimitsSchema.default({ responseDelayMs: { min: 20, max: 500 }, clockToleranceS: 10 }),
    allowDestructive: AllowDestructiveSchema.prefault({}),
    system: SystemSchema.optional(),
  })
  .strict()
  .superRefine((p, ctx) => {
    const stationApi = p.system?.type === 'station-api';
    if (stationApi && p.connection !== undefined) {
      ctx.addIssue({
        code: 'custom',
        path: ['connection'],
        message: "a vendor's station is reached through system.api and system.channels, and the meter cases do not run on it: leave connection out",
      });
    }
    if (!stationApi && p.connection === undefined) {
      ctx.addIssue({ code: 'custom', path: ['connection'], message: 'say how to reach the system under test: { "type": "serial" | "tcp" | "reference", ... }' });
      return;
    }
    const protocol = p.device?.protocol ?? DEFAULT_PROTOCOL;
    if (protocol !== DEFAULT_PROTOCOL) {
      // Another protocol's device declares itself in device.declaration (checked by its own schema).
      if (p.meter) ctx.addIssue({ code: 'custom', path: ['meter'], message: `is the DL/T 645 meter declaration; a ${protocol} device declares itself in device.declaration` });
      if (p.device?.declaration === undefined) ctx.addIssue({ code: 'custom', path: ['device', 'declaration'], message: `a ${protocol} target must declare its device (address, line, identifiers ...)` });
      return;
    }
    if (p.device?.declaration !== undefined) {
      ctx.addIssue({ code: 'custom', path: ['device', 'declaration'], message: 'a DL/T 645 meter is declared in "meter", not here' });
    }
    if (p.device && p.device.kind !== 'electricity-meter') {
      ctx.addIssue({ code: 'custom', path: ['device', 'kind'], message: `DL/T 645 reads electricity meters, not a ${p.device.kind}` });
    }
    if (p.connection && p.connection.type !== 'reference' && !p.meter) {
      ctx.addIssue({
        code: 'custom',
        path: ['meter'],
        message: `a ${p.connection.type} target must declare its meter (address, line, identifiers ...)`,
      });
    }
  });

export type TargetProfileInput = z.input<typeof TargetProfileSchema>;
export type MasterSettings = z.output<typeof MasterSettingsSchema>;
export type TargetLimits = z.output<typeof LimitsSchema>;
export type AllowDestructive = z.output<typeof AllowDestructiveSchema>;

export interface ReferenceConnection {
  readonly type: 'reference';
  readonly transport: 'bus' | 'mock-serial' | 'memory';
  /** Bus delivery (transport 'bus' only): 'frame' unless the profile says 'byte'. */
  readonly delivery: 'frame' | 'byte';
  /** The simulator profile with the target's behaviours already stacked on its own. */
  readonly simulator: SimulatorProfile;
  /** The behaviours the target profile added (also inside `simulator.behaviours`). */
  readonly behaviours: readonly { readonly name: string; readonly [param: string]: unknown }[];
  readonly seed: number;
  /** Start offset of the meter clock the target imposed on the simulator (also inside `simulator.simulation`). */
  readonly clockOffsetMs?: number;
}

export interface SerialConnection {
  readonly type: 'serial';
  readonly path: string;
  /** Defaults to the meter's declared line. */
  readonly line: MeterDeclaration['line'];
}

export interface TcpConnection {
  readonly type: 'tcp';
  readonly host: string;
  readonly port: number;
}

/** MeterLab listens on host:port and the device dials in (a concentrator's uplink). */
export interface ListenConnection {
  readonly type: 'listen';
  readonly host: string;
  readonly port: number;
}

export type TargetConnection = ReferenceConnection | SerialConnection | TcpConnection;

/** The device under test as a resolved profile names it. */
export interface DeviceDeclaration<Declaration = unknown> {
  readonly kind: DeviceKind;
  /** A registered protocol id (protocols.ts). */
  readonly protocol: string;
  /** Validated by the protocol's schema; for DL/T 645 the same object as the profile's `meter`. */
  readonly declaration: Declaration;
}

/**
 * A reference connection of any protocol: the transport; the simulated device is the protocol's
 * (`TargetProtocol.createSimulator`, built from the declaration). DL/T 645 adds its simulator profile.
 */
export interface DeviceReferenceConnection {
  readonly type: 'reference';
  readonly transport: 'bus' | 'mock-serial' | 'memory';
  readonly delivery: 'frame' | 'byte';
  readonly seed: number;
  /** The broken variant's defects, validated by the protocol entry's `defects` schema (none: the conformant device). */
  readonly defects?: readonly unknown[];
}

/**
 * A loaded target profile of any protocol (parseDeviceTargetProfile, device-profile.ts). The
 * DL/T 645 profile (`TargetProfile`) is one, with its `meter`, simulator and permissions.
 */
export interface DeviceTargetProfile {
  readonly name: string;
  readonly description?: string;
  readonly connection: DeviceReferenceConnection | SerialConnection | TcpConnection | ListenConnection;
  readonly device: DeviceDeclaration;
  readonly master: MasterSettings;
  readonly limits: TargetLimits;
  /** Where it came from: "reference" (built in), a file path, or "inline". */
  readonly source: string;
}

/** A loaded, validated, fully defaulted DL/T 645 target profile. */
export interface TargetProfile extends DeviceTargetProfile {
  readonly name: string;
  readonly description?: string;
  readonly connection: TargetConnection;
  /** The electricity meter read over DL/T 645; `declaration` is `meter`. */
  readonly device: DeviceDeclaration<MeterDeclaration> & { readonly kind: 'electricity-meter'; readonly protocol: 'dlt645' };
  /** What the system under test declares (for reference targets, by default the simulator's own meter). */
  readonly meter: MeterDeclaration;
  readonly master: MasterSettings;
  readonly limits: TargetLimits;
  /** Destructive programming commands the user allows on this (real) meter. */
  readonly allowDestructive: AllowDestructive;
  /** Where it came from: "reference" (built in), a file path, or "inline". */
  readonly source: string;
  /** The system under test of the system switching cases, when declared. */
  readonly system?: SystemDeclaration;
}

export type SystemDeclaration = ReferenceStationDeclaration | StationApiDeclaration;

export type StationApiExport = z.output<typeof ExportSchema>;

/** A vendor's station reached over its HTTP API, in real time (harness/targets/station-api.ts). */
export interface StationApiDeclaration {
  readonly type: 'station-api';
  readonly scenario: PrepaidScenario;
  readonly scenarioFile: string;
  readonly durationSeconds: number;
  readonly api: z.output<typeof StationApiSystemSchema>['api'];
  readonly topUp: z.output<typeof StationApiSystemSchema>['topUp'];
  readonly exports: { readonly accounts?: StationApiExport; readonly jobs?: StationApiExport; readonly events?: StationApiExport; readonly worklist?: StationApiExport };
  /** Channel id -> TCP port, one per bus of the scenario. */
  readonly channels: { readonly host: string; readonly ports: ReadonlyMap<string, number> };
  readonly sms: { readonly host: string; readonly port: number };
}

export interface ReferenceStationDeclaration {
  readonly type: 'reference-station';
  readonly scenario: PrepaidScenario;
  /** The scenario file it came from. */
  readonly scenarioFile: string;
  readonly crash: { readonly atMinutes: number; readonly downMinutes: number } | null;
  readonly db?: string;
  readonly faults: StationFaults;
}

/** How long before the scenario's end a crashed station must be back (FEE-13's 15 minutes, four times over). */
export const CRASH_MARGIN_MINUTES = 60;

/** Folder of the named scenarios (a bare `system.scenario` name). */
export const SCENARIOS_DIR = fileURLToPath(new URL('../../suites/switching/scenarios/', import.meta.url));

function loadSystem(doc: z.output<typeof SystemSchema>, baseDir: string, label: string): SystemDeclaration {
  const file = /^[A-Za-z0-9_-]+$/.test(doc.scenario) ? path.join(SCENARIOS_DIR, `${doc.scenario}.json`) : path.resolve(baseDir, doc.scenario);
  let scenario: PrepaidScenario;
  try {
    scenario = readPrepaidScenarioFile(file);
  } catch (e) {
    throw new ProfileError(`${label}: system.scenario: ${(e as Error).message}`, { cause: e });
  }
  if (doc.type === 'station-api') return loadStationApi(doc, scenario, file, label);
  // The station must be back well before the end, so the run can judge what happened after the restart.
  const latest = scenario.days * 1440 - CRASH_MARGIN_MINUTES;
  if (doc.crash && doc.crash.atMinutes + doc.crash.downMinutes > latest) {
    throw new ProfileError(
      `${label}: system.crash: the station would be down until minute ${doc.crash.atMinutes + doc.crash.downMinutes}; ` +
        `it must be back by minute ${latest} (${CRASH_MARGIN_MINUTES} minutes before the end of the scenario's ${scenario.days} days)`,
    );
  }
  return {
    type: doc.type,
    scenario,
    scenarioFile: file,
    crash: doc.crash,
    ...(doc.db !== undefined ? { db: doc.db } : {}),
    faults: doc.faults ?? {},
  };
}

function loadStationApi(doc: z.output<typeof StationApiSystemSchema>, scenario: PrepaidScenario, file: string, label: string): StationApiDeclaration {
  const buses = busCount(scenario);
  const names = Array.from({ length: buses }, (_, b) => busName(scenario, b));
  const ports = new Map<string, number>();
  if (doc.channels.ports) {
    for (const n of names) {
      const port = doc.channels.ports[n];
      if (port === undefined) throw new ProfileError(`${label}: system.channels.ports: no port for channel "${n}" (the scenario's channels: ${names.join(', ')})`);
      ports.set(n, port);
    }
    const extra = Object.keys(doc.channels.ports).filter((k) => !names.includes(k));
    if (extra.length > 0) throw new ProfileError(`${label}: system.channels.ports: "${extra[0]}" is not a channel of the scenario (${names.join(', ')})`);
  } else {
    const base = doc.channels.portBase!;
    if (base + buses - 1 > 65535) throw new ProfileError(`${label}: system.channels.portBase: ${buses} channel(s) need ports ${base}..${base + buses - 1}, beyond 65535`);
    names.forEach((n, b) => ports.set(n, base + b));
  }
  const taken = new Map<number, string>();
  for (const [n, p] of ports) {
    if (taken.has(p)) throw new ProfileError(`${label}: system.channels: channels "${taken.get(p)}" and "${n}" share port ${p}`);
    taken.set(p, n);
  }
  if (taken.has(doc.sms.port) && doc.sms.host === doc.channels.host) throw new ProfileError(`${label}: system.sms.port: ${doc.sms.port} is also channel "${taken.get(doc.sms.port)}"'s port`);
  if (doc.topUp.body === undefined) throw new ProfileError(`${label}: system.topUp.body: give the JSON body of a top-up, with "{{paymentId}}", "{{accountId}}" and "{{amountFen}}" (or "{{amountYuan}}")`);
  const bodyText = JSON.stringify(doc.topUp.body);
  const missing = ['paymentId', 'accountId|meterAddress', 'amountFen|amountYuan'].filter((alts) => !alts.split('|').some((k) => bodyText.includes(`{{${k}}}`) || doc.topUp.path.includes(`{{${k}}}`)));
  if (missing.length > 0) throw new ProfileError(`${label}: system.topUp.body: no placeholder for ${missing.map((m) => `{{${m.replace('|', '}} or {{')}}}`).join(', ')}: the vendor could not tell the payments apart`);
  return {
    type: 'station-api',
    scenario,
    scenarioFile: file,
    durationSeconds: doc.durationSeconds,
    api: doc.api,
    topUp: doc.topUp,
    exports: doc.exports,
    channels: { host: doc.channels.host, ports },
    sms: doc.sms,
  };
}

export interface ParseTargetProfileOptions {
  /** Named in error messages. Default "target profile". */
  readonly source?: string;
  /** Directory that relative simulator paths are resolved against. Default the working directory. */
  readonly baseDir?: string;
}

/**
 * Loads a target profile: 'reference' for the built-in reference target, otherwise a JSON file.
 * Throws ProfileError with one clear message for every problem.
 */
export function loadTargetProfile(spec: string): TargetProfile {
  if (spec === REFERENCE_TARGET_SPEC) return referenceTargetProfile();
  return parseTargetProfile(readTargetProfileJson(spec), { source: spec, baseDir: path.dirname(path.resolve(spec)) });
}

/** The parsed JSON of a target profile file; ProfileError for an unreadable file or a syntax error (line and column). */
export function readTargetProfileJson(file: string): unknown {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (e) {
    throw new ProfileError(`target profile ${file}: ${fileProblem(e)}`, { cause: e });
  }
  const parsed = parseJsonText(text.replace(/^\uFEFF/, ''));
  if (!parsed.ok) {
    const { line, column, message } = parsed.problem;
    throw new ProfileError(`target profile ${file}: invalid JSON at line ${line}, column ${column}: ${message}`);
  }
  return parsed.value;
}

/** The built-in reference target: the reference meter on a simulated 2400 8E1 RS-485 bus. */
export function referenceTargetProfile(overrides: Partial<Omit<ReferenceConnection, 'type' | 'simulator'>> = {}): TargetProfile {
  return parseTargetProfile(
    {
      name: 'reference',
      description: 'MeterLab reference meter (simulator) on a simulated RS-485 bus',
      connection: {
        type: 'reference',
        transport: overrides.transport ?? 'bus',
        ...(overrides.delivery !== undefined ? { delivery: overrides.delivery } : {}),
        behaviours: overrides.behaviours ?? [],
        seed: overrides.seed ?? 1,
        clockOffsetMs: overrides.clockOffsetMs ?? REFERENCE_CLOCK_OFFSET_MS,
      },
      system: { type: 'reference-station' },
    },
    { source: REFERENCE_TARGET_SPEC },
  );
}

/** The connection of a station-only profile: the built-in meter in memory, never judged. */
const STATION_ONLY_CONNECTION: z.output<typeof ConnectionSchema> = { type: 'reference', transport: 'memory', behaviours: [], seed: 1 };

/**
 * A profile whose system under test is a vendor's master station (system.type "station-api"): it
 * has no meter of its own, so only the system cases run on it and every meter case is "not
 * applicable" with this reason; null for any other profile.
 */
export function stationOnly(profile: Pick<TargetProfile, 'system'>): string | null {
  return profile.system?.type === 'station-api'
    ? "the target is a vendor's master station (system.type \"station-api\"): meter cases need a meter of the vendor's, only the system cases judge a station"
    : null;
}

/** Validates an already-parsed profile document and resolves it (simulator, defaults, cross-checks). */
export function parseTargetProfile(json: unknown, options: ParseTargetProfileOptions = {}): TargetProfile {
  const source = options.source ?? 'target profile';
  const label = source === REFERENCE_TARGET_SPEC || source === 'target profile' ? source : `target profile ${source}`;
  const r = TargetProfileSchema.safeParse(json);
  if (!r.success) {
    const lines = r.error.issues.map((i) => `${issuePath(i.path)}: ${i.message}`);
    throw new ProfileError(`${label}: ${lines.join('; ')}`);
  }
  const doc = r.data;
  if (doc.device && doc.device.protocol !== DEFAULT_PROTOCOL) {
    throw new ProfileError(
      `${label}: device.protocol: "${doc.device.protocol}" is not DL/T 645; load it with loadDeviceTargetProfile (harness/targets/device-profile.ts), the DL/T 645 suites cannot run on it`,
    );
  }
  const baseDir = options.baseDir ?? process.cwd();
  let connection: TargetConnection;
  let meter: MeterDeclaration;

  // A vendor's station has no meter connection: the DL/T 645 cases see MeterLab's reference meter
  // in memory and are "not applicable" (stationOnly, below); only the system cases judge the station.
  const docConnection = doc.connection ?? STATION_ONLY_CONNECTION;
  switch (docConnection.type) {
    case 'reference': {
      const c = docConnection;
      if (c.defects !== undefined) {
        throw new ProfileError(`${label}: connection.defects: a DL/T 645 reference meter's broken variants are \`behaviours\` (simulators/electricity-meter/README.md)`);
      }
      if (c.delivery !== undefined && c.transport !== 'bus') {
        throw new ProfileError(`${label}: connection.delivery: applies to transport "bus" only (this profile's transport is "${c.transport}")`);
      }
      const base = loadSimulator(c.simulator, baseDir, label);
      // Validate the target's own behaviours first, so error paths index the target's list.
      if (c.behaviours.length > 0) {
        rethrowPrefixed(label, 'connection.', () => loadSimulatorProfile({ ...base, behaviours: c.behaviours }, 'behaviours'));
      }
      const simulator =
        c.behaviours.length > 0 || c.clockOffsetMs !== undefined
          ? loadSimulatorProfile(
              {
                ...base,
                behaviours: [...base.behaviours, ...c.behaviours],
                simulation: { ...base.simulation, ...(c.clockOffsetMs !== undefined ? { clockOffsetMs: c.clockOffsetMs } : {}) },
              },
              label,
            )
          : base;
      meter = doc.meter ?? simulator.meter;
      if (!sameLine(meter.line, simulator.meter.line)) {
        throw new ProfileError(
          `${label}: meter.line: declares ${formatLine(meter.line)} but the simulator runs at ${formatLine(simulator.meter.line)}`,
        );
      }
      connection = {
        type: 'reference',
        transport: c.transport,
        delivery: c.delivery ?? 'frame',
        simulator,
        behaviours: c.behaviours,
        seed: c.seed,
        ...(c.clockOffsetMs !== undefined ? { clockOffsetMs: c.clockOffsetMs } : {}),
      };
      break;
    }
    case 'serial': {
      meter = doc.meter!;
      const line = docConnection.line ?? meter.line;
      if (!sameLine(line, meter.line)) {
        throw new ProfileError(
          `${label}: connection.line: the port is set to ${formatLine(line)} but meter.line declares ${formatLine(meter.line)}; ` +
            'make them equal (or leave connection.line out to use the declared line)',
        );
      }
      connection = { type: 'serial', path: docConnection.path, line };
      break;
    }
    case 'tcp':
      meter = doc.meter!;
      connection = { type: 'tcp', host: docConnection.host, port: docConnection.port };
      break;
    case 'listen':
      throw new ProfileError(`${label}: connection.type: "listen" is for a device that dials MeterLab (a concentrator's uplink); a DL/T 645 meter is reached over "serial" or "tcp"`);
  }

  return {
    name: doc.name,
    ...(doc.description !== undefined ? { description: doc.description } : {}),
    connection,
    device: { kind: 'electricity-meter', protocol: 'dlt645', declaration: meter },
    meter,
    master: doc.master,
    limits: doc.limits,
    allowDestructive: doc.allowDestructive,
    source,
    ...(doc.system ? { system: loadSystem(doc.system, baseDir, label) } : {}),
  };
}

function loadSimulator(spec: string | Record<string, unknown> | undefined, baseDir: string, label: string): SimulatorProfile {
  if (spec === undefined) return REFERENCE_METER_PROFILE;
  if (typeof spec !== 'string') {
    return rethrowPrefixed(label, 'connection.simulator.', () => loadSimulatorProfile(spec, 'simulator'));
  }
  const file = path.resolve(baseDir, spec);
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (e) {
    throw new ProfileError(`${label}: connection.simulator: ${spec}: ${fileProblem(e)}`, { cause: e });
  }
  const parsed = parseJsonText(text.replace(/^\uFEFF/, ''));
  if (!parsed.ok) {
    const { line, column, message } = parsed.problem;
    throw new ProfileError(`${label}: connection.simulator: ${spec}: invalid JSON at line ${line}, column ${column}: ${message}`);
  }
  return loadSimulatorProfile(parsed.value, `${label}: connection.simulator ${spec}`);
}

/**
 * Runs a simulator-profile load whose errors read "<source>: a.b: message; c: message" and
 * rewrites them as "<label>: <prefix>a.b: message; <prefix>c: message".
 */
function rethrowPrefixed<T>(label: string, prefix: string, load: () => T): T {
  try {
    return load();
  } catch (e) {
    if (!(e instanceof ProfileError)) throw e;
    const body = e.message.replace(/^[^:]*: /, '');
    const parts = body.split('; ').map((part) => (part.startsWith('(profile)') ? prefix.replace(/\.$/, '') + part.slice(9) : prefix + part));
    throw new ProfileError(`${label}: ${parts.join('; ')}`, { cause: e });
  }
}

function fileProblem(e: unknown): string {
  const code = (e as { code?: unknown } | null)?.code;
  if (code === 'ENOENT') return 'no such file';
  if (code === 'EISDIR') return 'is a directory, not a JSON file';
  if (code === 'EACCES') return 'permission denied';
  return e instanceof Error ? e.message : String(e);
}

/** `connection.behaviours[0].delayMs` style path of a zod issue. */
function issuePath(p: readonly PropertyKey[]): string {
  let out = '';
  for (const k of p) {
    if (typeof k === 'number') out += `[${k}]`;
    else out += (out ? '.' : '') + String(k);
  }
  return out || '(profile)';
}
