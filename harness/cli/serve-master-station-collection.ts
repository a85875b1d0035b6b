/**
 * The 1376.1 side of `meterlab serve master-station` (issue 12): the `collection` section of the
 * config file (the concentrators the station collects, their PWs and archives, its window, the
 * utilities' endpoints), the `--uplink` listener for concentrators, the `concentrator` channels
 * (a DL/T 645 channel through a concentrator, AFN 10 F1), and the collection export the HTTP API
 * serves (harness/targets/gw1376-station-export.ts format).
 *
 * Everything here is checked before anything is created: a bad field is one UsageError line naming
 * it (`config station.json: collection.concentrators[1].archive[3].pn: ...`).
 */
import { existsSync } from 'node:fs';
import { dirname, isAbsolute, join, resolve } from 'node:path';
import { z } from 'zod';
import type { Clock } from '../core/clock.ts';
import { LinkError, UsageError } from '../core/errors.ts';
import { LinkBase, type ChunkTiming } from '../links/link.ts';
import type { Gw1376Master } from '../masters/gw1376-master.ts';
import type { Gw1376Station } from '../masters/gw1376-station.ts';
import { Gw1376ForwardingLink } from '../masters/gw1376-forwarding-link.ts';
import type { ArchivePoint, MeterKind } from '../../simulators/concentrator/types.ts';
import type { CollectionConcentrator, CollectionSchedule, CollectionStation, DailySuccessRate, StoredReading } from '../../simulators/master-station/collection.ts';
import type { UtilityEndpoint } from '../../simulators/master-station/collection-delivery.ts';
import { oneLine } from './exit.ts';

const HEX32 = /^[0-9A-Fa-f]{32}$/;
const CLOCK = /^([01]\d|2[0-3]):[0-5]\d$/;
const KIND = z.enum(['electricity', 'water', 'gas', 'heat']);
const AREA = z.string().regex(/^[0-9A-Fa-f]{4}$/, 'must be the A1 area code, 4 hex digits, e.g. "3702"');
/** A2 terminal address 1..65535 (0 is not a terminal: PROTOCOLS.md 3.3). */
const TERMINAL = z.number().int().min(1).max(65535);
/** CON-07: port 1..31 (the 5-bit port field of F10); 2..4 are RS-485 1..3. */
const PORT = z.number().int().min(1).max(31);

/** AFN 04 F10 / F249 point, as `ArchivePoint` (simulators/concentrator/types.ts). */
const archivePointSchema = z
  .strictObject({
    serial: z.number().int().min(1).max(2040),
    pn: z.number().int().min(1).max(2040),
    port: PORT,
    protocol: z.enum(['dlt645-2007', 'cjt188', 'mbus']),
    address: z.string().regex(/^\d{1,14}$/, 'must be the meter address as digits (DL/T 645: 12; CJ/T 188: 14; M-Bus: the primary address)'),
    kind: KIND,
    meterType: z.number().int().min(0).max(255).optional(),
    password: z.string().regex(/^[0-9A-Fa-f]{8}$/, 'must be 8 hex digits').optional(),
    operator: z.string().regex(/^[0-9A-Fa-f]{8}$/, 'must be 8 hex digits').optional(),
  })
  .superRefine((p, ctx) => {
    if (p.protocol === 'dlt645-2007' && !/^\d{12}$/.test(p.address)) ctx.addIssue({ code: 'custom', message: 'a DL/T 645 address is 12 digits', path: ['address'] });
    if (p.protocol === 'cjt188' && !/^\d{14}$/.test(p.address)) ctx.addIssue({ code: 'custom', message: 'a CJ/T 188 address is 14 digits', path: ['address'] });
    if (p.protocol === 'mbus' && !(Number(p.address) >= 1 && Number(p.address) <= 250)) ctx.addIssue({ code: 'custom', message: 'an M-Bus primary address is 1..250', path: ['address'] });
    if (p.protocol === 'dlt645-2007' && p.kind !== 'electricity') ctx.addIssue({ code: 'custom', message: 'a DL/T 645 point is an electricity meter', path: ['kind'] });
    if (p.protocol !== 'dlt645-2007' && p.kind === 'electricity') ctx.addIssue({ code: 'custom', message: 'a CJ/T 188 or M-Bus point is a water, gas or heat meter', path: ['kind'] });
  });

const concentratorSchema = z
  .strictObject({
    /** Inline: the terminal's address and archive. */
    areaCode: AREA.optional(),
    terminal: TERMINAL.optional(),
    archive: z.array(archivePointSchema).max(2040).optional(),
    /** From a collection scenario: its plan's address, archive and PW. */
    scenario: z.string().min(1).optional(),
    concentrator: z.union([z.number().int().min(1), z.string().min(1)]).optional(),
    /** 16 bytes as 32 hex digits; inline default all 00, scenario default the plan's. */
    password: z.string().regex(HEX32, 'must be 32 hex digits (16 bytes)').optional(),
  })
  .superRefine((c, ctx) => {
    if (c.scenario !== undefined) {
      for (const k of ['areaCode', 'terminal', 'archive'] as const) {
        if (c[k] !== undefined) ctx.addIssue({ code: 'custom', message: 'comes from the scenario\'s plan: give either "scenario" and "concentrator", or "areaCode", "terminal" and "archive"', path: [k] });
      }
      if (c.concentrator === undefined) ctx.addIssue({ code: 'custom', message: 'is required with "scenario": a number 1..N in scenario order, or an id such as "station-bench-0001"', path: ['concentrator'] });
    } else {
      if (c.concentrator !== undefined) ctx.addIssue({ code: 'custom', message: 'needs "scenario"', path: ['concentrator'] });
      for (const k of ['areaCode', 'terminal', 'archive'] as const) {
        if (c[k] === undefined) ctx.addIssue({ code: 'custom', message: 'is required (or give "scenario" and "concentrator")', path: [k] });
      }
    }
  });

const endpointSchema = z.strictObject({
  utility: z.string().regex(/^[A-Za-z0-9_-]{1,32}$/, 'must be 1-32 letters, digits, "-" or "_"'),
  kinds: z.array(KIND).min(1),
  url: z.url({ protocol: /^https?$/, error: 'must be an http:// or https:// URL' }),
  /** The NAME of the environment variable holding the bearer token (never the token). */
  tokenEnv: z
    .string()
    .regex(/^[A-Za-z_][A-Za-z0-9_]*$/, 'must be the NAME of an environment variable that holds the token')
    .optional(),
});

export const collectionConfigSchema = z
  .strictObject({
    concentrators: z.array(concentratorSchema).min(1).max(10_000),
    /** The window (GAP-02 04:00, COL-02 12:00) and rounds. */
    schedule: z
      .strictObject({
        start: z.string().regex(CLOCK, 'must be "hh:mm"').default('04:00'),
        deadline: z.string().regex(CLOCK, 'must be "hh:mm"').default('12:00'),
        retryMinutes: z.number().int().min(1).max(720).default(30),
        pointsPerRequest: z.number().int().min(1).max(2040).default(32),
        backfillDays: z.number().int().min(0).max(31).default(2),
      })
      .prefault({}),
    utcOffsetMinutes: z.number().int().min(-720).max(840).default(480),
    /** The station's MSA (1..127) on its requests. */
    msa: z.number().int().min(1).max(127).default(1),
    /** A concentrator connection silent this long is closed (its terminal offline); 0 = never. Default 45 (3 × the 15-min heartbeat, CON-02). */
    idleTimeoutMinutes: z.number().int().min(0).max(1440).default(45),
    delivery: z
      .strictObject({
        endpoints: z.array(endpointSchema).min(1).max(100),
        batchSize: z.number().int().min(1).max(10_000).optional(),
        retrySeconds: z.number().int().min(1).max(86_400).optional(),
      })
      .optional(),
    leak: z.strictObject({ waterNights: z.number().int().min(1).max(31).optional() }).optional(),
    usageReminders: z.strictObject({ electricity: z.number().positive().optional(), water: z.number().positive().optional(), gas: z.number().positive().optional(), heat: z.number().positive().optional() }).optional(),
    /** Broken variants only (CollectionFaults). */
    faults: z.strictObject({ countRetriedTwice: z.boolean().optional() }).optional(),
  })
  .superRefine((c, ctx) => {
    const minute = (s: string): number => Number(s.slice(0, 2)) * 60 + Number(s.slice(3));
    if (minute(c.schedule.start) >= minute(c.schedule.deadline)) ctx.addIssue({ code: 'custom', message: 'must be after schedule.start, the same day', path: ['schedule', 'deadline'] });
  });

export type CollectionConfig = z.output<typeof collectionConfigSchema>;

/** A channel through a concentrator: `{ id, concentrator: { areaCode, terminal, port } }`. */
export const concentratorChannelSchema = z.strictObject({ areaCode: AREA, terminal: TERMINAL, port: PORT });
export type ConcentratorChannel = z.output<typeof concentratorChannelSchema>;

// ---------------------------------------------------------------------------------------------
// Resolution (files read, scenarios planned, endpoints' tokens read): still before anything is created

export interface ResolvedCollection {
  readonly concentrators: readonly (CollectionConcentrator & { readonly password: Uint8Array; readonly label: string })[];
  readonly schedule: CollectionSchedule;
  readonly utcOffsetMinutes: number;
  readonly msa: number;
  readonly idleTimeoutMs: number;
  readonly endpoints: readonly UtilityEndpoint[];
  readonly batchSize?: number;
  readonly retryMs?: number;
  readonly leak?: { readonly waterNights?: number };
  readonly usageReminders?: Partial<Record<MeterKind, number>>;
  readonly faults?: { readonly countRetriedTwice?: boolean };
}

function hexBytes(hex: string): Uint8Array {
  return Uint8Array.from(hex.match(/../g)!.map((b) => parseInt(b, 16)));
}

/** The key of a terminal as the station's logs and checks name it. */
export const terminalLabel = (areaCode: string, terminal: number): string => `${areaCode.toUpperCase()}/${terminal}`;

/**
 * Reads the scenarios, plans their concentrators, checks every archive encodes and every terminal
 * and point is given once, reads the endpoints' tokens. `field(path)` names a config field in a message.
 */
export async function resolveCollection(c: CollectionConfig, configFile: string, env: NodeJS.ProcessEnv = process.env): Promise<ResolvedCollection> {
  const bad = (path: string, message: string): never => {
    throw new UsageError(`config ${configFile}: ${path}: ${oneLine(message)}`);
  };
  const { COLLECTION_SCENARIOS_DIR } = await import('../targets/gw1376-protocol.ts');
  const { readCollectionScenarioFile, planConcentrator, concentratorIds } = await import('../../simulators/collection/index.ts');
  const { archiveChunks } = await import('../../simulators/master-station/collection-archive.ts');
  const scenarios = new Map<string, import('../../simulators/collection/index.ts').CollectionScenario>();
  const out: (CollectionConcentrator & { password: Uint8Array; label: string })[] = [];
  const seen = new Map<string, number>();
  for (const [i, x] of c.concentrators.entries()) {
    const at = `collection.concentrators[${i}]`;
    let entry: CollectionConcentrator & { password: Uint8Array; label: string };
    if (x.scenario !== undefined) {
      // A bare name is a checked-in scenario (as a profile's meters.scenario); else a path relative to the config file.
      const named = join(COLLECTION_SCENARIOS_DIR, `${x.scenario}.json`);
      const path = /^[a-z0-9-]+$/.test(x.scenario) && existsSync(named) ? named : isAbsolute(x.scenario) ? x.scenario : resolve(dirname(configFile), x.scenario);
      let s = scenarios.get(path);
      if (!s) {
        if (!existsSync(path)) bad(`${at}.scenario`, `${x.scenario}: no such file, nor a scenario of that name (simulators/collection/scenarios/)`);
        try {
          s = readCollectionScenarioFile(path);
        } catch (e) {
          bad(`${at}.scenario`, (e as Error).message);
        }
        scenarios.set(path, s!);
      }
      const ids = concentratorIds(s!);
      const k = x.concentrator!;
      const index = typeof k === 'number' ? k - 1 : ids.indexOf(k);
      if (index < 0 || index >= ids.length) {
        bad(`${at}.concentrator`, `${JSON.stringify(k)}: the scenario has ${ids.length} concentrator(s), 1..${ids.length}${ids.length > 0 ? ` (${ids[0]}${ids.length > 1 ? ` .. ${ids.at(-1)}` : ''})` : ''}`);
      }
      const plan = planConcentrator(s!, index);
      entry = {
        areaCode: plan.address.areaCode,
        terminal: plan.address.terminal,
        password: x.password !== undefined ? hexBytes(x.password) : plan.password,
        archive: plan.archive,
        label: `${plan.id} ${terminalLabel(plan.address.areaCode, plan.address.terminal)}`,
      };
    } else {
      const archive = x.archive!.map((p) => ({ ...p }) as ArchivePoint);
      const pns = new Set<number>();
      const serials = new Set<number>();
      for (const [j, p] of archive.entries()) {
        if (pns.has(p.pn)) bad(`${at}.archive[${j}].pn`, `pn ${p.pn} is in the archive twice`);
        if (serials.has(p.serial)) bad(`${at}.archive[${j}].serial`, `serial ${p.serial} is in the archive twice`);
        pns.add(p.pn);
        serials.add(p.serial);
      }
      entry = {
        areaCode: x.areaCode!.toUpperCase(),
        terminal: x.terminal!,
        password: x.password !== undefined ? hexBytes(x.password) : new Uint8Array(16),
        archive,
        label: terminalLabel(x.areaCode!, x.terminal!),
      };
    }
    const key = terminalLabel(entry.areaCode, entry.terminal);
    const before = seen.get(key);
    if (before !== undefined) bad(at, `terminal ${key} is also collection.concentrators[${before}]`);
    seen.set(key, i);
    try {
      archiveChunks(entry.archive);
    } catch (e) {
      bad(`${at}.archive`, `does not encode as AFN 04 F10 / F249: ${(e as Error).message}`);
    }
    out.push(entry);
  }
  const endpoints: UtilityEndpoint[] = [];
  const utilities = new Set<string>();
  for (const [i, e] of (c.delivery?.endpoints ?? []).entries()) {
    const at = `collection.delivery.endpoints[${i}]`;
    if (utilities.has(e.utility)) bad(`${at}.utility`, `utility "${e.utility}" is given twice`);
    utilities.add(e.utility);
    let token: string | undefined;
    if (e.tokenEnv !== undefined) {
      token = env[e.tokenEnv];
      if (token === undefined || token === '') bad(`${at}.tokenEnv`, `the environment variable ${e.tokenEnv} is not set`);
    }
    endpoints.push({ utility: e.utility, kinds: e.kinds, url: e.url, ...(token !== undefined ? { token } : {}) });
  }
  const minute = (s: string): number => Number(s.slice(0, 2)) * 60 + Number(s.slice(3));
  return {
    concentrators: out,
    schedule: {
      startMinute: minute(c.schedule.start),
      endMinute: minute(c.schedule.deadline),
      retryMinutes: c.schedule.retryMinutes,
      pointsPerRequest: c.schedule.pointsPerRequest,
      backfillDays: c.schedule.backfillDays,
    },
    utcOffsetMinutes: c.utcOffsetMinutes,
    msa: c.msa,
    idleTimeoutMs: c.idleTimeoutMinutes * 60_000,
    endpoints,
    ...(c.delivery?.batchSize !== undefined ? { batchSize: c.delivery.batchSize } : {}),
    ...(c.delivery?.retrySeconds !== undefined ? { retryMs: c.delivery.retrySeconds * 1000 } : {}),
    ...(c.leak ? { leak: c.leak } : {}),
    ...(c.usageReminders ? { usageReminders: c.usageReminders } : {}),
    ...(c.faults ? { faults: c.faults } : {}),
  };
}

// ---------------------------------------------------------------------------------------------
// A DL/T 645 channel through a concentrator

/** AFN 10 F1 frame timeout: how long the concentrator waits for the meter (CON-05: 3000 ms). */
export const FORWARD_FRAME_TIMEOUT_MS = 3000;
/**
 * Reply timeout of the DL/T 645 master of a concentrator channel: the forward's frame timeout, the
 * uplink master's own reply timeout (GW1376_DEFAULT_TIMEOUT_MS, CON-02: 5 s) and 2 s for the line
 * and the terminal's work [MeterLab's choice].
 */
export const CONCENTRATOR_CHANNEL_TIMEOUT_MS = FORWARD_FRAME_TIMEOUT_MS + 5000 + 2000;

/**
 * A Link to one port of a concentrator that logs in to `station`: each write goes as AFN 10 F1
 * forwarding (`Gw1376ForwardingLink`) over the terminal's master of the moment — a terminal that
 * logged in again on a new connection is reached on it. A write while the terminal is not logged
 * in fails with a LinkError, as a channel that cannot be opened (the switching job records a
 * `channel` failure and retries).
 */
export class ConcentratorChannelLink extends LinkBase {
  private current: { master: Gw1376Master; link: Gw1376ForwardingLink; off: () => void } | undefined;
  private closed = false;

  constructor(
    readonly name: string,
    private readonly station: Gw1376Station,
    private readonly target: ConcentratorChannel,
  ) {
    super();
  }

  get isOpen(): boolean {
    return !this.closed;
  }

  async write(bytes: Uint8Array): Promise<void> {
    if (this.closed) throw new LinkError(`${this.name} is closed`);
    const { areaCode, terminal, port } = this.target;
    const master = this.station.terminal(areaCode, terminal);
    if (!master || master.isClosed) throw new LinkError(`${this.name}: concentrator ${terminalLabel(areaCode, terminal)} is not logged in`);
    if (this.current?.master !== master) {
      this.detach();
      const link = new Gw1376ForwardingLink(master, { port, frameTimeoutMs: FORWARD_FRAME_TIMEOUT_MS, name: `${this.name}:port-${port}` });
      const onData = (chunk: Uint8Array, timing?: ChunkTiming): void => void this.emit('data', chunk, timing);
      link.on('data', onData);
      this.current = { master, link, off: () => link.off('data', onData) };
    }
    await this.current!.link.write(bytes);
  }

  private detach(): void {
    const c = this.current;
    this.current = undefined;
    if (!c) return;
    c.off();
    void c.link.close().catch(() => undefined);
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    const c = this.current;
    this.current = undefined;
    if (c) {
      c.off();
      await c.link.close().catch(() => undefined);
    }
    this.emit('close');
  }
}

// ---------------------------------------------------------------------------------------------
// The export

/** Days an export without `day` covers, today included [MeterLab's choice: a week of mornings]. */
export const EXPORT_DEFAULT_DAYS = 7;

/** The station's figures in MeterLab's station export format, for one day or (none) the last EXPORT_DEFAULT_DAYS days it has rows for. */
export async function collectionExport(station: CollectionStation, concentrators: readonly { areaCode: string; terminal: number }[], clock: Clock, utcOffsetMinutes: number, day: string | undefined): Promise<unknown> {
  const { stationExportOf } = await import('../targets/gw1376-station-export.ts');
  const { concentratorKey } = await import('../../simulators/master-station/collection.ts');
  let days: string[];
  if (day !== undefined) days = [day];
  else {
    const today = station.dayOf(clock.now());
    const from = station.dayOf(clock.now() - (EXPORT_DEFAULT_DAYS - 1) * 86_400_000);
    days = (await station.collectionDays()).filter((d) => d >= from && d <= today);
  }
  const rates: DailySuccessRate[] = [];
  const readings: StoredReading[] = [];
  for (const d of days) {
    rates.push(await station.successRate(d));
    for (const c of concentrators) readings.push(...(await station.readings(concentratorKey(c), d)));
  }
  return stationExportOf(rates, readings, utcOffsetMinutes);
}
