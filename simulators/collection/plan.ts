/**
 * The collection plan: which concentrators a scenario has, and for each its 1376.1 address, password,
 * local ports, meter archive and faults. Pure: a concentrator's plan depends only on the scenario and
 * its index — every choice of a concentrator draws from `fork("collection:concentrator:<c>")` of the
 * seed, every choice of a household's meters from `fork("collection:household:<h>")` — so a shard
 * (`--shard i/n`, whole concentrators) plans exactly the concentrators the whole province would, in
 * O(its own meters), without planning the others.
 *
 * Layout of a concentrator's ports (376.1 port numbers, CON-07: 2..4 RS-485 1..3, 5..30 further
 * local ports as MeterLab numbers them): DL/T 645 buses first, then CJ/T 188 buses, then RS-485 buses
 * of interface converters, then M-Bus segments; meters in household order; measuring point pn =
 * archive serial = 1.. in port order.
 */
import { fromCalendar, toCalendar } from '../../harness/core/calendar.ts';
import { SeededRandom } from '../../harness/core/random.ts';
import { characterTimeMs, formatLine, type LineSettings } from '../../harness/links/link.ts';
import { WIRELESS_AIR_LINE } from '../../harness/links/wireless-hop.ts';
import { MeterType } from '../../harness/protocols/cjt188/index.ts';
import { HOP_ATTEMPTS, WAKE_UP_FACTOR } from '../../harness/protocols/mlgw/index.ts';
import type { ArchivePoint, MeterKind, PointProtocol } from '../concentrator/types.ts';
import { HOP_REPLY_TIMEOUT_MS, PROCESSING_MS } from '../converter/converter.ts';
import { FIRST_PORT, METER_KINDS, type MeterChannel, type CollectionScenario } from './scenario.ts';

/** M-Bus medium code of a heat meter (EN 13757-3 table: 04H heat, outlet). */
export const MBUS_MEDIUM_HEAT = 0x04;
/** Remote-control password (level 02 + 000000) and operator code of the reference DL/T 645 meter (its profile's passwords.02 and operatorCode). */
export const ELECTRICITY_PASSWORD = '02000000';
export const ELECTRICITY_OPERATOR = '00000000';
/** Sniff period of the simulated battery meters behind converters (MM-06: 2 s). */
export const SNIFF_PERIOD_MS = 2000;
/** Longest frames on a hop: a CJ/T 188 901F request with 4 FE is 20 bytes, its reply 43; a DL/T 645 read of 05060101 with reply about 40 (MeterLab's bound). */
const HOP_FRAME_BYTES = 64;

/** What a port carries. */
export type PortKind = 'dlt645' | 'cjt188' | 'converter' | 'mbus';

export interface PointPlan {
  /** Archive serial = measuring point pn, 1.. in port order. */
  readonly pn: number;
  readonly port: number;
  /** 0-based household index in the whole scenario. */
  readonly household: number;
  readonly kind: MeterKind;
  readonly channel: MeterChannel;
  readonly protocol: PointProtocol;
  /** DL/T 645: 12 digits; CJ/T 188: 14 digits; M-Bus: the primary address as decimal text. */
  readonly address: string;
  /** CJ/T 188 meter type T or M-Bus medium. */
  readonly meterType?: number;
  /** M-Bus: identification number (8 digits) for the secondary address. */
  readonly mbusId?: string;
  /** Index of the converter on its port (wireless meters only). */
  readonly converter?: number;
  /** A sleeping battery meter behind a converter (MM-06). */
  readonly sleeps?: boolean;
  /** The meter never answers. */
  readonly dead: boolean;
  /** Loss per radio frame of its hop when it is a lossy one (wireless only). */
  readonly lossyHop?: number;
  /** Seed of the meter's own random streams. */
  readonly seed: number;
}

export interface ConverterPlan {
  /** 0-based on its port. */
  readonly index: number;
  /** pn of the meters it reaches, in archive order. */
  readonly points: readonly number[];
}

export interface PortPlan {
  readonly port: number;
  readonly kind: PortKind;
  readonly medium: 'rs485' | 'mbus';
  readonly line: LineSettings;
  /** pn of the points on this port. */
  readonly points: readonly number[];
  /** Converters on the bus (kind 'converter'). */
  readonly converters?: readonly ConverterPlan[];
  /** Reply timeout per attempt the concentrator needs on this port (behind converters: the converter's whole hop work). */
  readonly timeoutMs?: number;
  /** A noisy RS-485 bus: per frame, either way. */
  readonly noise?: { readonly corrupt: number; readonly drop: number };
}

export interface ConcentratorFaultPlan {
  /** Power cycle at `at` (ms since the epoch), off for `offMs` (ROB-08). */
  readonly reboot?: { readonly at: number; readonly offMs: number };
  /** No uplink in [from, to) (ms since the epoch). */
  readonly uplinkDown?: { readonly from: number; readonly to: number };
}

export interface ConcentratorPlan {
  /** 0-based in the whole scenario (the order of `areas`). */
  readonly index: number;
  /** `<area>-<terminal>`, e.g. "jinan-0003". */
  readonly id: string;
  readonly area: string;
  /** 1376.1 address: A1 area code, A2 terminal. */
  readonly address: { readonly areaCode: string; readonly terminal: number };
  /** 1376.1 PW, 16 bytes, seeded. */
  readonly password: Uint8Array;
  /** Households [first, first + count) of the whole scenario. */
  readonly households: { readonly first: number; readonly count: number };
  readonly ports: readonly PortPlan[];
  /** Index pn - 1. */
  readonly points: readonly PointPlan[];
  /** The meter archive as AFN 04 F10 / F249 set it (COL-06). */
  readonly archive: readonly ArchivePoint[];
  readonly faults: ConcentratorFaultPlan;
}

interface AreaSpan {
  readonly area: number;
  /** First global concentrator index and count. */
  readonly firstConcentrator: number;
  readonly concentrators: number;
  /** First global household index. */
  readonly firstHousehold: number;
}

const spansCache = new WeakMap<CollectionScenario, AreaSpan[]>();

function spans(s: CollectionScenario): AreaSpan[] {
  let out = spansCache.get(s);
  if (out) return out;
  out = [];
  let c = 0;
  let h = 0;
  s.areas.forEach((a, area) => {
    const n = Math.ceil(a.households / a.householdsPerConcentrator);
    out!.push({ area, firstConcentrator: c, concentrators: n, firstHousehold: h });
    c += n;
    h += a.households;
  });
  spansCache.set(s, out);
  return out;
}

/** Number of concentrators in the scenario. */
/** What a planned port carries, for messages. */
const PORT_CARRIES: Readonly<Record<PortKind, string>> = {
  dlt645: 'DL/T 645 meters',
  cjt188: 'CJ/T 188 meters',
  converter: 'interface converters',
  mbus: 'M-Bus meters',
};

/** "RS-485, 2400 8E1": a planned port's medium and line. */
export function describeMediumLine(pp: Pick<PortPlan, 'medium' | 'line'>): string {
  return `${pp.medium === 'mbus' ? 'M-Bus' : 'RS-485'}, ${formatLine(pp.line)}`;
}

/** "port 2 (RS-485, 2400 8E1, DL/T 645 meters)": a planned port as a wiring message names it. */
export function describePortPlan(pp: Pick<PortPlan, 'port' | 'kind' | 'medium' | 'line'>): string {
  return `port ${pp.port} (${describeMediumLine(pp)}, ${PORT_CARRIES[pp.kind]})`;
}

export function concentratorCount(s: CollectionScenario): number {
  const last = spans(s).at(-1)!;
  return last.firstConcentrator + last.concentrators;
}

/** Every concentrator's id by global index (`<area>-<terminal, 4 digits>`), without planning its meters. */
export function concentratorIds(s: CollectionScenario): string[] {
  const out: string[] = [];
  for (const span of spans(s)) {
    const area = s.areas[span.area]!;
    for (let k = 0; k < span.concentrators; k++) out.push(concentratorId(area.name, area.firstTerminal + k));
  }
  return out;
}

/** Number of households in the scenario. */
export function householdCount(s: CollectionScenario): number {
  return s.areas.reduce((a, b) => a + b.households, 0);
}

/**
 * Concentrators of shard `i` of `n` (1-based, as `--shard i/n` and `vitest --shard`): a contiguous run
 * of global indices, shards differing by at most one concentrator, every concentrator in exactly one.
 */
export function partitionConcentrators(s: CollectionScenario, i: number, n: number): number[] {
  if (!Number.isInteger(n) || n < 1) throw new RangeError(`shard count must be a whole number ≥ 1, got ${n}`);
  if (!Number.isInteger(i) || i < 1 || i > n) throw new RangeError(`shard must be 1..${n}, got ${i}`);
  const total = concentratorCount(s);
  const from = Math.floor(((i - 1) * total) / n);
  const to = Math.floor((i * total) / n);
  const out: number[] = [];
  for (let c = from; c < to; c++) out.push(c);
  return out;
}

/** The instant of local `hh:mm` on night `night` after `startMs`: times from 12:00 are the evening before the night's midnight. */
export function nightInstant(startMs: number, night: number, hhmm: string, utcOffsetMinutes = 480): number {
  const c = toCalendar(startMs, utcOffsetMinutes);
  // The first local midnight strictly after the start, then `night` more.
  const midnight = fromCalendar({ year: c.year, month: c.month, day: c.day + 1 + night, hour: 0, minute: 0, second: 0 }, utcOffsetMinutes);
  const [hh, mm] = hhmm.split(':').map(Number) as [number, number];
  const minutes = hh * 60 + mm;
  return midnight + (minutes >= 720 ? minutes - 1440 : minutes) * 60_000;
}

/**
 * Reply timeout the concentrator needs behind an interface converter: the converter tries the hop
 * HOP_ATTEMPTS times, each a wake-up of 1.25 sniff periods (sleeping meters, MM-06), the request on
 * the air, the latency and its hop timeout; then the reply on the air, the latency and its processing.
 * Rounded up to the next second with a second of margin.
 */
export function converterPortTimeoutMs(s: CollectionScenario): number {
  const charMs = characterTimeMs(WIRELESS_AIR_LINE);
  const latency = s.channels.wireless.hopLatencyMs[1];
  const wake = WAKE_UP_FACTOR * SNIFF_PERIOD_MS;
  const hopTimeout = Math.max(HOP_REPLY_TIMEOUT_MS.cjt188, HOP_REPLY_TIMEOUT_MS.dlt645);
  const perAttempt = wake + HOP_FRAME_BYTES * charMs + latency + hopTimeout;
  const total = HOP_ATTEMPTS * perAttempt + HOP_FRAME_BYTES * charMs + latency + PROCESSING_MS;
  return Math.ceil(total / 1000) * 1000 + 1000;
}

/** `jinan-0003`. */
function concentratorId(area: string, terminal: number): string {
  return `${area}-${String(terminal).padStart(4, '0')}`;
}

function protocolOf(kind: MeterKind, channel: MeterChannel): PointProtocol {
  if (channel === 'mbus') return 'mbus';
  return kind === 'electricity' ? 'dlt645-2007' : 'cjt188';
}

function portKindOf(kind: MeterKind, channel: MeterChannel): PortKind {
  if (channel === 'mbus') return 'mbus';
  if (channel === 'wireless') return 'converter';
  return kind === 'electricity' ? 'dlt645' : 'cjt188';
}

const PORT_ORDER: readonly PortKind[] = ['dlt645', 'cjt188', 'converter', 'mbus'];

/** One meter drawn for a household, before it has a port and pn. */
interface Drawn {
  readonly household: number;
  readonly kind: MeterKind;
  readonly channel: MeterChannel;
  readonly dead: boolean;
  readonly lossy: boolean;
  readonly seed: number;
}

/** The plan of concentrator `index` (0-based, global). */
export function planConcentrator(s: CollectionScenario, index: number): ConcentratorPlan {
  const all = spans(s);
  const span = all.find((x) => index >= x.firstConcentrator && index < x.firstConcentrator + x.concentrators);
  if (!Number.isInteger(index) || !span) throw new RangeError(`concentrator ${index} does not exist (0..${concentratorCount(s) - 1})`);
  const area = s.areas[span.area]!;
  const k = index - span.firstConcentrator;
  const from = Math.floor((k * area.households) / span.concentrators);
  const to = Math.floor(((k + 1) * area.households) / span.concentrators);
  const terminal = area.firstTerminal + k;
  const root = new SeededRandom(s.seed);
  const r = root.fork(`collection:concentrator:${index}`);

  const password = new Uint8Array(16);
  for (let i = 0; i < 16; i++) password[i] = r.int(0, 255);
  const f = s.faults;
  const faults: { reboot?: ConcentratorFaultPlan['reboot']; uplinkDown?: ConcentratorFaultPlan['uplinkDown'] } = {};
  // Draws in a fixed order whether or not a fault is configured, so adding one does not move the others.
  const uReboot = r.next();
  const uUplink = r.next();
  if (f.reboots && uReboot < f.reboots.share) faults.reboot = { at: nightInstant(s.startMs, f.reboots.night, f.reboots.at), offMs: f.reboots.offMinutes * 60_000 };
  if (f.uplinkDown && uUplink < f.uplinkDown.share) {
    const a = nightInstant(s.startMs, f.uplinkDown.night, f.uplinkDown.from);
    let b = nightInstant(s.startMs, f.uplinkDown.night, f.uplinkDown.to);
    if (b <= a) b += 86_400_000;
    faults.uplinkDown = { from: a, to: b };
  }

  // Households' meters.
  const byPortKind = new Map<PortKind, Drawn[]>(PORT_ORDER.map((p) => [p, []]));
  for (let local = from; local < to; local++) {
    const household = span.firstHousehold + local;
    const h = root.fork(`collection:household:${household}`);
    for (const kind of METER_KINDS) {
      const spec = area.meters[kind];
      // Four draws per kind, always: presence, dead, lossy hop, seed.
      const present = h.next();
      const dead = h.next();
      const lossy = h.next();
      const seed = h.int(0, 2 ** 31 - 1);
      if (!spec || !(present < spec.share)) continue;
      byPortKind.get(portKindOf(kind, spec.channel))!.push({
        household,
        kind,
        channel: spec.channel,
        dead: dead < f.deadMeters,
        lossy: spec.channel === 'wireless' && f.lossyHops !== undefined && lossy < f.lossyHops.share,
        seed,
      });
    }
  }

  const ports: PortPlan[] = [];
  const points: PointPlan[] = [];
  let port = FIRST_PORT;
  const c = s.channels;
  const timeoutBehindConverter = converterPortTimeoutMs(s);
  for (const kind of PORT_ORDER) {
    const drawn = byPortKind.get(kind)!;
    const perPort = kind === 'mbus' ? c.mbus.metersPerSegment : kind === 'converter' ? c.wireless.metersPerConverter * c.wireless.convertersPerBus : c.rs485.metersPerBus;
    for (let first = 0; first < drawn.length; first += perPort) {
      const group = drawn.slice(first, first + perPort);
      const pns: number[] = [];
      const converters: { index: number; points: number[] }[] = [];
      group.forEach((d, i) => {
        const pn = points.length + 1;
        pns.push(pn);
        const protocol = protocolOf(d.kind, d.channel);
        let address: string;
        let meterType: number | undefined;
        let mbusId: string | undefined;
        if (protocol === 'dlt645-2007') address = String(d.household + 1).padStart(12, '0');
        else if (protocol === 'cjt188') {
          meterType = d.kind === 'gas' ? MeterType.Gas : MeterType.ColdWater;
          address = `${d.kind === 'gas' ? '30' : '10'}${String(d.household + 1).padStart(12, '0')}`;
        } else {
          meterType = MBUS_MEDIUM_HEAT;
          address = String(i + 1);
          mbusId = String(d.household + 1).padStart(8, '0');
        }
        let converter: number | undefined;
        if (kind === 'converter') {
          converter = Math.floor(i / c.wireless.metersPerConverter);
          if (!converters[converter]) converters[converter] = { index: converter, points: [] };
          converters[converter]!.points.push(pn);
        }
        points.push({
          pn,
          port,
          household: d.household,
          kind: d.kind,
          channel: d.channel,
          protocol,
          address,
          ...(meterType !== undefined ? { meterType } : {}),
          ...(mbusId !== undefined ? { mbusId } : {}),
          ...(converter !== undefined ? { converter, sleeps: d.kind === 'gas' ? c.wireless.sleeps.gas : d.kind === 'water' ? c.wireless.sleeps.water : false } : {}),
          dead: d.dead,
          ...(d.lossy ? { lossyHop: f.lossyHops!.lossProbability } : {}),
          seed: d.seed,
        });
      });
      const medium = kind === 'mbus' ? 'mbus' : 'rs485';
      const pr = r.fork(`port:${port}`);
      const noisy = medium === 'rs485' && f.noisyBuses !== undefined && pr.next() < f.noisyBuses.share;
      ports.push({
        port,
        kind,
        medium,
        line: kind === 'mbus' ? c.mbus.line : c.rs485.line,
        points: pns,
        ...(kind === 'converter' ? { converters, timeoutMs: timeoutBehindConverter } : {}),
        ...(noisy ? { noise: { corrupt: f.noisyBuses!.corrupt, drop: f.noisyBuses!.drop } } : {}),
      });
      port++;
    }
  }
  return {
    index,
    id: concentratorId(area.name, terminal),
    area: area.name,
    address: { areaCode: area.areaCode, terminal },
    password,
    households: { first: span.firstHousehold + from, count: to - from },
    ports,
    points,
    archive: points.map(archivePointOf),
    faults,
  };
}

/** The archive entry of a planned point. */
export function archivePointOf(p: PointPlan): ArchivePoint {
  return {
    serial: p.pn,
    pn: p.pn,
    port: p.port,
    protocol: p.protocol,
    address: p.address,
    kind: p.kind,
    ...(p.meterType !== undefined ? { meterType: p.meterType } : {}),
    ...(p.protocol === 'dlt645-2007' ? { password: ELECTRICITY_PASSWORD, operator: ELECTRICITY_OPERATOR } : {}),
  };
}

/** Counts of a set of plans: for reports and tests. */
export interface PlanSummary {
  concentrators: number;
  households: number;
  points: number;
  byKind: Record<MeterKind, number>;
  ports: Record<PortKind, number>;
  converters: number;
  dead: number;
  lossyHops: number;
  noisyBuses: number;
  reboots: number;
  uplinkDown: number;
  /** Largest archive of one concentrator. */
  maxPoints: number;
}

export function summarizePlans(plans: Iterable<ConcentratorPlan>): PlanSummary {
  const out: PlanSummary = {
    concentrators: 0,
    households: 0,
    points: 0,
    byKind: { electricity: 0, water: 0, gas: 0, heat: 0 },
    ports: { dlt645: 0, cjt188: 0, converter: 0, mbus: 0 },
    converters: 0,
    dead: 0,
    lossyHops: 0,
    noisyBuses: 0,
    reboots: 0,
    uplinkDown: 0,
    maxPoints: 0,
  };
  for (const p of plans) {
    out.concentrators++;
    out.households += p.households.count;
    out.points += p.points.length;
    out.maxPoints = Math.max(out.maxPoints, p.points.length);
    for (const x of p.points) {
      out.byKind[x.kind]++;
      if (x.dead) out.dead++;
      if (x.lossyHop !== undefined) out.lossyHops++;
    }
    for (const port of p.ports) {
      out.ports[port.kind]++;
      out.converters += port.converters?.length ?? 0;
      if (port.noise) out.noisyBuses++;
    }
    if (p.faults.reboot) out.reboots++;
    if (p.faults.uplinkDown) out.uplinkDown++;
  }
  return out;
}
