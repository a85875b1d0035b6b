/**
 * Fleet scenario: a seeded description of many simulated DL/T 645 meters on RS-485 buses
 * (ARCHITECTURE.md "Scale"). JSON, validated with zod; a bad scenario is one ProfileError whose
 * message names the field (`scenario fleet.json: faults.slow.share: ...`), before anything starts.
 *
 *   {
 *     "seed": 7,
 *     "meters": 200000,
 *     "metersPerBus": 32,
 *     "models": [{ "name": "reference", "profile": "reference", "share": 1 }],
 *     "addresses": { "mode": "sequential", "first": "000000000001" },
 *     "loadProfiles": [{ "name": "household", "share": 1, "load": { "kW": [{ "from": "00:00", "kW": 0.3 }, { "from": "18:00", "kW": 2 }] } }],
 *     "faults": { "dead": 0.01, "slow": { "share": 0.02, "delayMs": 600 }, "broken": [{ "share": 0.01, "behaviour": { "name": "wrong-checksum" } }] }
 *   }
 *
 * Models are simulator profiles (simulators/electricity-meter/profile.ts) by name ("reference")
 * or by path (relative to the scenario file). Every per-meter choice (model, load profile, fault,
 * address, random seed) is a pure function of the scenario and the meter's index (plan.ts), so
 * a fleet split over workers or machines is the same fleet.
 */
import { readFileSync } from 'node:fs';
import { dirname, isAbsolute, resolve } from 'node:path';
import { z } from 'zod';
import { ProfileError } from '../../harness/core/errors.ts';
import { readJsonDocument } from '../../harness/core/json-file.ts';
import { escapeControlCharacters } from '../../harness/core/text.ts';
import { LineSettingsSchema } from '../../harness/protocols/dlt645/declaration.ts';
import type { LineSettings } from '../../harness/links/link.ts';
import {
  formatIssuePath,
  loadSimulatorProfile,
  REFERENCE_METER_PROFILE,
  SimulationSchema,
  validateBehaviourConfig,
  type BehaviourConfig,
  type SimulatorProfile,
} from '../electricity-meter/index.ts';

/**
 * Most unit loads on one RS-485 segment: TIA/EIA-485 specifies a driver for 32 unit loads, and
 * DL/T 645 installations keep to 32 meters per bus (issue 7 measures "buses of 32").
 */
export const MAX_METERS_PER_BUS = 32;
/** Largest fleet a scenario may describe (five times the issue's 200,000-meter target). */
export const MAX_FLEET_METERS = 1_000_000;
/** The broadcast address (PROTOCOLS.md 1.4): never a meter's own. */
const BROADCAST = '999999999999';

/** Model profiles known by name. */
export const NAMED_MODELS: Readonly<Record<string, SimulatorProfile>> = {
  reference: REFERENCE_METER_PROFILE,
};

const share = z.number().positive().max(1_000_000);
const fraction = z.number().min(0).max(1);
const nonEmptyName = z.string().min(1).max(64);

/** `simulation.load` of a simulator profile, with its defaults. */
const LoadSchema = SimulationSchema.shape.load;

const BehaviourSchema = z
  .object({ name: z.string() })
  .catchall(z.unknown())
  .superRefine((entry, ctx) => {
    for (const issue of validateBehaviourConfig(entry)) ctx.addIssue({ code: 'custom', path: issue.path, message: issue.message });
  })
  .transform((entry) => entry as BehaviourConfig);

const AddressesSchema = z.discriminatedUnion('mode', [
  z
    .object({
      /** Meter k (0-based, in fleet order) gets first + k. */
      mode: z.literal('sequential'),
      first: z.string().regex(/^\d{12}$/, 'an address is 12 decimal digits').default('000000000001'),
    })
    .strict(),
  z
    .object({
      /** Distinct addresses spread over the whole range by a seeded bijection (never 999999999999). */
      mode: z.literal('scattered'),
    })
    .strict(),
]);

export const FleetScenarioSchema = z
  .object({
    /** Free text for logs and reports. */
    description: z.string().optional(),
    /** Seed of every random choice in the fleet. */
    seed: z.number().int().min(0).max(2 ** 32 - 1),
    meters: z.number().int().min(1).max(MAX_FLEET_METERS),
    metersPerBus: z.number().int().min(1).max(MAX_METERS_PER_BUS).default(MAX_METERS_PER_BUS),
    /** Line of every bus (the master's adapter); default 2400 8E1. Meters keep their profile's line. */
    line: LineSettingsSchema.optional(),
    /** Start of simulated time, ISO 8601 with an offset; default the VirtualClock's default. */
    start: z.iso.datetime({ offset: true }).optional(),
    models: z
      .array(
        z
          .object({
            name: nonEmptyName,
            /** "reference", or a simulator profile file (relative to the scenario file). */
            profile: z.string().min(1),
            share: share.default(1),
          })
          .strict(),
      )
      .min(1)
      .superRefine((models, ctx) => uniqueNames(models, ctx)),
    addresses: AddressesSchema.default({ mode: 'sequential', first: '000000000001' }),
    /** Customers' daily load; absent: each model's own `simulation.load`. */
    loadProfiles: z
      .array(z.object({ name: nonEmptyName, share: share.default(1), load: LoadSchema }).strict())
      .min(1)
      .superRefine((profiles, ctx) => uniqueNames(profiles, ctx))
      .optional(),
    /** Shares of faulty meters (each meter has at most one fault), built from the meter's behaviours. */
    faults: z
      .object({
        /** Never answers (behaviour "silent"). */
        dead: fraction.default(0),
        /** Answers late (behaviour "late-reply"). */
        slow: z.object({ share: fraction, delayMs: z.number().min(0).max(60_000).default(600) }).strict().optional(),
        /** Deliberately broken variants: any built-in behaviour with its parameters. */
        broken: z.array(z.object({ share: fraction, behaviour: BehaviourSchema }).strict()).default([]),
      })
      .strict()
      .superRefine((f, ctx) => {
        const shares = [f.dead, f.slow?.share ?? 0, ...f.broken.map((b) => b.share)];
        // A share out of [0, 1] is reported on its own field already.
        if (shares.some((x) => typeof x !== 'number' || !(x >= 0 && x <= 1))) return;
        const total = shares.reduce((a, b) => a + b, 0);
        if (total > 1 + 1e-9) ctx.addIssue({ code: 'custom', path: [], message: `fault shares add up to ${total}, more than 1` });
      })
      .default({ dead: 0, broken: [] }),
  })
  .strict()
  .superRefine((s, ctx) => {
    if (s.addresses.mode === 'sequential' && Number(s.addresses.first) + s.meters - 1 >= Number(BROADCAST)) {
      ctx.addIssue({ code: 'custom', path: ['addresses', 'first'], message: `${s.meters} sequential addresses from ${s.addresses.first} would reach ${BROADCAST} (broadcast)` });
    }
  });

function uniqueNames(items: readonly { name: string }[], ctx: z.RefinementCtx): void {
  const seen = new Set<string>();
  items.forEach((item, i) => {
    if (seen.has(item.name)) ctx.addIssue({ code: 'custom', path: [i, 'name'], message: `duplicate name "${item.name}"` });
    seen.add(item.name);
  });
}

export type FleetScenarioInput = z.input<typeof FleetScenarioSchema>;
type ParsedScenario = z.output<typeof FleetScenarioSchema>;

export interface FleetModel {
  readonly name: string;
  readonly share: number;
  /** Where the profile came from ("reference" or the file path as written). */
  readonly source: string;
  /** Validated once per model; meters differ only by address, load and fault (plan.ts). */
  readonly profile: SimulatorProfile;
}

/** A validated scenario with its model profiles loaded. Plain data: it can be posted to a worker. */
export interface FleetScenario extends Omit<ParsedScenario, 'models' | 'line' | 'start'> {
  readonly models: readonly FleetModel[];
  readonly line: LineSettings;
  /** Start of simulated time, ms since the epoch (undefined: the VirtualClock default). */
  readonly startMs: number | undefined;
}

/** The default bus line: 2400 8E1 (PROTOCOLS.md 1.1, GAP-10). */
const DEFAULT_BUS_LINE: LineSettings = { baudRate: 2400, dataBits: 8, parity: 'even', stopBits: 1 };

export interface LoadScenarioOptions {
  /** Named in every error: "scenario <source>: ...". */
  readonly source?: string;
  /** Folder that relative model profile paths are resolved against. Default: the working directory. */
  readonly baseDir?: string;
}

/**
 * Validates a parsed JSON scenario and loads its model profiles. Throws one ProfileError naming
 * every bad field (`scenario x.json: models[0].profile: no such file "meters/a.json"`).
 */
export function loadFleetScenario(json: unknown, options: LoadScenarioOptions = {}): FleetScenario {
  const source = `scenario${options.source ? ` ${options.source}` : ''}`;
  const r = FleetScenarioSchema.safeParse(json);
  if (!r.success) {
    throw new ProfileError(`${source}: ${r.error.issues.map((i) => `${formatIssuePath(i.path).replace('(profile)', '(scenario)')}: ${i.message}`).join('; ')}`);
  }
  const s = r.data;
  const models = s.models.map((m, i): FleetModel => {
    const at = `models[${i}].profile`;
    const named = NAMED_MODELS[m.profile];
    if (named) return { name: m.name, share: m.share, source: m.profile, profile: named };
    const path = isAbsolute(m.profile) ? m.profile : resolve(options.baseDir ?? process.cwd(), m.profile);
    let text: string;
    try {
      text = readFileSync(path, 'utf8');
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code;
      const known = Object.keys(NAMED_MODELS).join(', ');
      throw new ProfileError(`${source}: ${at}: ${code === 'ENOENT' ? `no such file "${m.profile}" (and not a model name: ${known})` : (e as Error).message}`);
    }
    let parsed: unknown;
    try {
      parsed = JSON.parse(text.replace(/^\uFEFF/, ''));
    } catch (e) {
      throw new ProfileError(`${source}: ${at}: "${m.profile}" is not valid JSON: ${(e as Error).message}`);
    }
    let profile: SimulatorProfile;
    try {
      profile = loadSimulatorProfile(parsed, `${source}: ${at} "${m.profile}"`);
    } catch (e) {
      throw e instanceof ProfileError ? e : new ProfileError(`${source}: ${at}: ${(e as Error).message}`);
    }
    return { name: m.name, share: m.share, source: m.profile, profile };
  });
  const { models: _m, line, start, ...rest } = s;
  return { ...rest, models, line: line ?? DEFAULT_BUS_LINE, startMs: start === undefined ? undefined : Date.parse(start) };
}

/** Reads, parses and validates a scenario file; model paths are relative to the file. */
export function readFleetScenarioFile(path: string): FleetScenario {
  const source = escapeControlCharacters(path);
  const json = readJsonDocument(path, 'scenario');
  return loadFleetScenario(json, { source, baseDir: dirname(resolve(path)) });
}
