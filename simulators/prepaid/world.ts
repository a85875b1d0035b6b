/**
 * The simulated world of a prepaid switching scenario (issue 9): prepaid customers with their
 * accounts, their meters on RS-485 buses (built with simulators/fleet), the channels a master
 * station reaches them by (with seeded loss and outage windows), the relay truth of every meter,
 * and customers who top up when warned or cut off. Everything but the station and the
 * measurements: the system switching suite runs a station against it in virtual time.
 */
import { toCalendar } from '../../harness/core/calendar.ts';
import type { Clock, TimerHandle } from '../../harness/core/clock.ts';
import { RemoteControlCommand } from '../../harness/protocols/dlt645/index.ts';
import { LinkError } from '../../harness/core/errors.ts';
import { SeededRandom } from '../../harness/core/random.ts';
import { FaultInjectingLink } from '../../harness/links/fault.ts';
import { LinkBase, type ChunkTiming, type Link, type LineSettings } from '../../harness/links/link.ts';
import type { Password } from '../../harness/protocols/dlt645/types.ts';
import {
  createBehaviour,
  loadSimulatorProfile,
  REFERENCE_METER_PROFILE_INPUT,
  type ElectricityMeter,
  type ElectricityMeterModel,
  type RelayChangeObserver,
  type RelayEventRecord,
  type SimulatorProfile,
} from '../electricity-meter/index.ts';
import { buildBus, type FleetBus } from '../fleet/fleet.ts';
import { busCount, busName } from '../fleet/plan.ts';
import { loadFleetScenario, type FleetScenario } from '../fleet/scenario.ts';
import { KEEP_POWER_CLASSES, type AccountInput, type Channel, type KeepPowerClass, type TopUpInput } from '../master-station/types.ts';
import type { PrepaidScenario, Range } from './scenario.ts';

const MINUTE = 60_000;
/** The valid-until of the trip that cuts a 'cut' account at the start: 10 minutes ahead, as the station's (DEFAULT_VALID_FOR_MS). */
const START_TRIP_VALID_MS = 10 * MINUTE;
const DAY = 86_400_000;

/**
 * The meter of the world: the reference meter (1CH trip 1A and direct close 1C, keep-power 3A/3B,
 * internal relay, trip delay 0) under REMOTE cost control: the station holds the balance, the meter
 * never trips on its own money (FEE-01), as in the Qingyuan pilot of issue 9.
 */
export const PREPAID_METER_PROFILE: SimulatorProfile = loadSimulatorProfile(
  {
    ...REFERENCE_METER_PROFILE_INPUT,
    description: 'MeterLab reference meter under remote cost control (the prepaid switching world, simulators/prepaid)',
    meter: { ...REFERENCE_METER_PROFILE_INPUT.meter, capabilities: { ...REFERENCE_METER_PROFILE_INPUT.meter.capabilities, localCostControl: false } },
    simulation: { ...REFERENCE_METER_PROFILE_INPUT.simulation, costControl: 'remote' },
  },
  'PREPAID_METER_PROFILE',
);

/** One actual relay movement of a meter. */
export interface RelayChange {
  readonly open: boolean;
  /** Virtual instant (ms since the epoch) the relay moved. */
  readonly at: number;
  readonly cause: RelayEventRecord['cause'];
}

/** What the world hands the suite's payer: a top-up, and whether it is the second send of one. */
export type WorldTopUp = TopUpInput & { readonly duplicate: boolean };
/** Posts a top-up to the system under test (set by the suite). A rejection is recorded with the payment. */
export type Payer = (payment: WorldTopUp) => void | Promise<unknown>;

export interface WorldPayment extends WorldTopUp {
  /** Virtual instant the world called the payer. */
  readonly at: number;
  /** What made the customer pay: a cut (relay opened) or the warning SMS. */
  readonly trigger: 'cut' | 'warning';
  /** The payer threw or rejected (or none was set): its message. */
  error?: string;
}

export interface OutageWindow {
  readonly channel: string;
  /** [from, to) in virtual ms since the epoch. */
  readonly from: number;
  readonly to: number;
}

export interface ChannelStats {
  readonly lossy: boolean;
  readonly dropRate: number;
  /** Frames the seeded loss dropped: 'tx' master → meters, 'rx' meters → master. */
  readonly lost: { readonly tx: number; readonly rx: number };
  /** Chunks swallowed by an outage window. */
  readonly outage: { readonly tx: number; readonly rx: number };
}

export interface PrepaidMeter {
  readonly account: AccountInput;
  readonly meter: ElectricityMeter;
  /** kWh a day (the meter's load is this / 24 kW). */
  readonly dailyKwh: number;
  readonly slow: boolean;
  readonly stickingRelay: boolean;
  /** How the account starts the run (scenario `startInArrears`). */
  readonly startState: StartState;
}

export interface PrepaidWorld {
  readonly scenario: PrepaidScenario;
  readonly clock: Clock;
  /** Start and end of the run (start + days), virtual ms since the epoch. */
  readonly startMs: number;
  readonly endMs: number;
  /** The bus line (what a master on `linkFor` should be told). */
  readonly line: LineSettings;
  /** One per bus: id = bus name, kind 'rs485'. */
  readonly channels: readonly Channel[];
  /** One per meter, in meter order. */
  readonly accounts: readonly AccountInput[];
  /** What 1CH needs, from the meter profile (meter.passwordLevels.remoteControl, meter.passwords, meter.operatorCode). */
  readonly remoteControl: { readonly password: Password; readonly operatorCode: string };
  /** Which meters and channels are faulty, and the outage windows (for the suite's report). */
  readonly faults: { readonly lossyChannels: readonly string[]; readonly slowMeters: readonly string[]; readonly stickingRelays: readonly string[]; readonly outages: readonly OutageWindow[] };
  /** The master's side of a channel (the same Link on every call). Throws RangeError for an unknown id. */
  linkFor(channelId: string): Link;
  channelStats(channelId: string): ChannelStats;
  /** The simulated meter at an address (as in the accounts). */
  meter(address: string): PrepaidMeter;
  /** How an account starts the run (scenario `startInArrears`). Throws RangeError for an unknown id. */
  startState(accountId: string): StartState;
  /** Every actual relay movement of the meter, oldest first. */
  relayHistory(address: string): readonly RelayChange[];
  /** The relay is actually open now (status word 3 bit 4 of the model, whatever the meter reports). */
  relayOpen(address: string): boolean;
  setPayer(payer: Payer): void;
  /** The SMS gateway received a warning for the account: a seeded share of customers then tops up early. */
  notifySms(accountId: string): void;
  /** Every payment the world made, in the order made. */
  payments(): readonly WorldPayment[];
  /** Resolves when every payer call made so far has settled. */
  settled(): Promise<void>;
  /** Cancels pending customer payments, stops the meters and closes every bus. */
  close(): Promise<void>;
}

/** Surnames and given-name characters for fake customer names (common ones). */
const SURNAMES = ['王', '李', '张', '刘', '陈', '杨', '黄', '赵', '吴', '周', '徐', '孙', '马', '朱', '胡', '郭', '何', '林', '罗', '高'];
const GIVEN = ['伟', '芳', '娜', '敏', '静', '丽', '强', '磊', '军', '洋', '勇', '艳', '杰', '娟', '涛', '明', '超', '秀', '霞', '平', '刚', '桂', '英', '华'];
/** Second digit of Chinese mobile numbers (13x, 15x, 17x, 18x, 19x). */
const MOBILE_SECOND_DIGITS = ['3', '5', '7', '8', '9'];

function uniform(r: SeededRandom, { min, max }: Range): number {
  return min + r.next() * (max - min);
}

/** Log-uniform in [min, max] (shifted by 1 so a range from 0 works): most draws near min, a tail to max. */
function logUniform(r: SeededRandom, { min, max }: Range): number {
  const a = Math.log(min + 1);
  const b = Math.log(max + 1);
  return Math.exp(a + r.next() * (b - a)) - 1;
}

/** Seeded permutation of 0..n-1 (Fisher-Yates). */
function shuffled(r: SeededRandom, n: number): number[] {
  const out = Array.from({ length: n }, (_, i) => i);
  for (let i = n - 1; i > 0; i--) {
    const j = r.int(0, i);
    [out[i], out[j]] = [out[j]!, out[i]!];
  }
  return out;
}

/** The fleet scenario the buses are built from: one model (PREPAID_METER_PROFILE), sequential addresses, the slow share. */
function fleetScenarioOf(s: PrepaidScenario): FleetScenario {
  const fleet = loadFleetScenario({
    seed: s.seed,
    meters: s.meters,
    metersPerBus: s.metersPerBus,
    line: s.line,
    models: [{ name: 'prepaid', profile: 'reference' }],
    addresses: { mode: 'sequential', first: '000000000001' },
    faults: { dead: 0, slow: { share: s.slow.share, delayMs: s.slow.delayMs } },
  });
  return { ...fleet, models: [{ ...fleet.models[0]!, source: 'PREPAID_METER_PROFILE', profile: PREPAID_METER_PROFILE }] };
}

interface AccountDraw {
  readonly account: AccountInput;
  readonly dailyKwh: number;
  readonly openingDays: number;
}

function drawAccount(s: PrepaidScenario, root: SeededRandom, k: number, address: string, channelId: string): AccountDraw {
  const r = root.fork(`prepaid:account:${k}`);
  const tariff = r.int(s.tariffFenPerKwh.min, s.tariffFenPerKwh.max);
  const dailyKwh = Math.round(uniform(r, s.dailyKwh) * 100) / 100;
  const openingDays = uniform(r, s.openingBalanceDays);
  const warningFen = r.int(s.warningFen.min, s.warningFen.max);
  const keepPower: KeepPowerClass | null = r.chance(s.keepPowerShare) ? r.pick(KEEP_POWER_CLASSES) : null;
  const name = r.pick(SURNAMES) + r.pick(GIVEN) + r.pick(GIVEN);
  // 1 + operator digit + 9 digits, distinct per account (7919 is prime to 10^9).
  const phone = `1${r.pick(MOBILE_SECOND_DIGITS)}${String((k * 7919 + r.int(0, 999_999_999)) % 1_000_000_000).padStart(9, '0')}`;
  return {
    dailyKwh,
    openingDays,
    account: {
      id: `PP${String(k + 1).padStart(5, '0')}`,
      name,
      phone,
      meterAddress: address,
      channelId,
      paymentMode: 'prepaid',
      tariffFenPerKwh: tariff,
      keepPower,
      warningFen,
      balanceFen: Math.round(openingDays * dailyKwh * tariff),
    },
  };
}

/**
 * The master's side of a channel: the bus adapter (through the loss, for a lossy channel), cut off
 * in both directions during the channel's outage windows: a write then resolves and goes nowhere,
 * received chunks are dropped.
 */
class ChannelLink extends LinkBase {
  readonly outageDropped = { tx: 0, rx: 0 };
  private closed = false;

  constructor(
    readonly name: string,
    readonly inner: Link,
    private readonly clock: Clock,
    private readonly windows: readonly OutageWindow[],
  ) {
    super();
    inner.on('data', (chunk: Uint8Array, timing?: ChunkTiming) => {
      if (this.closed) return;
      if (this.out()) {
        this.outageDropped.rx++;
        return;
      }
      this.emit('data', chunk, timing);
    });
    inner.on('error', (e) => {
      if (this.listenerCount('error') > 0) this.emit('error', e);
    });
    inner.on('close', () => {
      if (this.closed) return;
      this.closed = true;
      this.emit('close');
    });
  }

  get isOpen(): boolean {
    return !this.closed && this.inner.isOpen;
  }

  /** True during an outage window of this channel. */
  out(): boolean {
    const now = this.clock.now();
    for (const w of this.windows) if (now >= w.from && now < w.to) return true;
    return false;
  }

  write(bytes: Uint8Array): Promise<void> {
    if (!this.isOpen) return Promise.reject(new LinkError(`${this.name} is closed`));
    if (this.out()) {
      this.outageDropped.tx++;
      return Promise.resolve();
    }
    return this.inner.write(bytes);
  }

  close(): Promise<void> {
    return this.inner.close();
  }
}

/**
 * How an account starts the run (scenario `startInArrears`): 'normal'; 'cut' in arrears with the
 * relay open (cut before the run); 'due' in arrears with the relay closed (the station must cut
 * it); 'keep-power' a keep-power account in arrears with the relay closed (never to be cut).
 */
export type StartState = 'normal' | 'cut' | 'due' | 'keep-power';

/**
 * A world on a real clock (a vendor's station in real time) is built a moment after its start
 * was read from that clock: up to this much later is accepted (MeterLab's choice).
 */
export const REAL_START_SLACK_MS = 1000;

interface MeterEntry extends PrepaidMeter {
  readonly history: RelayChange[];
  cuts: number;
  warnings: number;
  /** A payment the customer has decided on and not yet made. */
  pending: TimerHandle | null;
}

/**
 * Builds the world of `scenario` on `clock`, which must stand at the scenario's start (the suite
 * makes it: `new VirtualClock({ start: scenario.startMs })`).
 */
export function buildPrepaidWorld(scenario: PrepaidScenario, clock: Clock): PrepaidWorld {
  const late = clock.now() - scenario.startMs;
  if (clock.virtual ? late !== 0 : late < 0 || late > REAL_START_SLACK_MS) {
    throw new RangeError(`buildPrepaidWorld: the clock stands at ${new Date(clock.now()).toISOString()}, the scenario starts at ${new Date(scenario.startMs).toISOString()}`);
  }
  const s = scenario;
  const root = new SeededRandom(s.seed);
  const fleet = fleetScenarioOf(s);
  const startMs = s.startMs;
  const endMs = startMs + s.days * DAY;

  // Buses and accounts.
  const buses: FleetBus[] = [];
  const entries: MeterEntry[] = [];
  const byAddress = new Map<string, MeterEntry>();
  const byModel = new Map<ElectricityMeterModel, MeterEntry>();
  const byAccount = new Map<string, MeterEntry>();
  const draws: AccountDraw[] = [];
  const nBuses = busCount(s);
  for (let b = 0; b < nBuses; b++) {
    const bus = buildBus(fleet, b, clock);
    buses.push(bus);
    for (const m of bus.meters) draws.push(drawAccount(s, root, m.plan.index, m.plan.address, bus.plan.name));
  }

  // Accounts in arrears at the start (a real-time run): seeded, never the same account twice.
  const arrears = s.startInArrears;
  const startStates = new Map<number, StartState>();
  const arrearsOrder = shuffled(root.fork('prepaid:arrears'), s.meters);
  let next = 0;
  for (const [state, n] of [['cut', arrears.cut], ['due', arrears.due], ['keep-power', arrears.keepPower]] as const) {
    for (let i = 0; i < n; i++) startStates.set(arrearsOrder[next++]!, state);
  }
  for (const [k, state] of startStates) {
    const r = root.fork(`prepaid:arrears:${k}`);
    const d = draws[k]!;
    const keepPower: KeepPowerClass | null = state === 'keep-power' ? (d.account.keepPower ?? r.pick(KEEP_POWER_CLASSES)) : null;
    draws[k] = { ...d, openingDays: 0, account: { ...d.account, balanceFen: r.int(arrears.balanceFen.min, arrears.balanceFen.max), keepPower } };
  }

  // Sticking relays: exactly `stickingRelays` meters, not keep-power (a keep-power meter is never
  // tripped, so its relay fault would never show), those that run into arrears during the run first.
  const order = shuffled(root.fork('prepaid:sticking'), s.meters);
  // Not an account cut at the start either: its relay is opened by the world, not by a command.
  const free = (k: number) => draws[k]!.account.keepPower === null && startStates.get(k) !== 'cut';
  const candidates = [...order.filter((k) => free(k) && draws[k]!.openingDays < s.days), ...order.filter((k) => free(k) && draws[k]!.openingDays >= s.days)];
  if (candidates.length < s.stickingRelays) {
    throw new RangeError(`buildPrepaidWorld: ${s.stickingRelays} sticking relays asked for, only ${candidates.length} meters are not keep-power`);
  }
  const sticking = new Set(candidates.slice(0, s.stickingRelays));

  const observer: RelayChangeObserver = (model, open, at, cause) => {
    const e = byModel.get(model);
    if (!e) return;
    e.history.push({ open, at, cause });
    if (open) customerCut(e);
  };

  let k = 0;
  for (const bus of buses) {
    for (const fm of bus.meters) {
      const d = draws[k]!;
      const stuck = sticking.has(k);
      fm.meter.backchannel.setLoad(d.dailyKwh / 24);
      if (stuck) fm.meter.server.pushBehaviour(createBehaviour({ name: 'relay-stuck' }));
      fm.meter.model.onRelayChange = observer;
      const e: MeterEntry = {
        account: d.account,
        meter: fm.meter,
        dailyKwh: d.dailyKwh,
        slow: fm.plan.fault.kind === 'slow',
        stickingRelay: stuck,
        startState: startStates.get(k) ?? 'normal',
        history: [],
        cuts: 0,
        warnings: 0,
        pending: null,
      };
      entries.push(e);
      byAddress.set(d.account.meterAddress, e);
      byModel.set(fm.meter.model, e);
      byAccount.set(d.account.id, e);
      k++;
    }
  }

  // Channels: loss on an exact seeded share of them, outage windows.
  const channels: Channel[] = buses.map((b) => ({ id: b.plan.name, kind: 'rs485', description: `RS-485 bus ${b.plan.name}: ${b.meters.length} meters, ${b.plan.meters[0]!.address}..${b.plan.meters.at(-1)!.address}` }));
  const lossyCount = Math.round(s.lossy.share * nBuses);
  const lossy = new Set(shuffled(root.fork('prepaid:lossy'), nBuses).slice(0, lossyCount));
  const outages: OutageWindow[] = s.outages.map((o) => ({ channel: o.channel, from: startMs + Math.round(o.startMinutes * MINUTE), to: startMs + Math.round((o.startMinutes + o.durationMinutes) * MINUTE) }));
  const ro = root.fork('prepaid:outages');
  for (let i = 0; i < s.randomOutages.count; i++) {
    const channel = busName(s, ro.int(0, nBuses - 1));
    // Whole minutes, so a report reads them at a glance.
    const duration = Math.round(uniform(ro, s.randomOutages.durationMinutes)) * MINUTE;
    const from = startMs + Math.floor((ro.next() * Math.max(0, s.days * DAY - duration)) / MINUTE) * MINUTE;
    outages.push({ channel, from, to: from + duration });
  }
  outages.sort((a, b) => a.from - b.from || a.channel.localeCompare(b.channel));

  const links = new Map<string, { link: ChannelLink; fault: FaultInjectingLink | null; lossy: boolean }>();
  buses.forEach((bus, b) => {
    const id = bus.plan.name;
    const isLossy = lossy.has(b) && s.lossy.dropRate > 0;
    const fault = isLossy
      ? new FaultInjectingLink({ link: bus.adapter, random: root.fork(`prepaid:loss:${id}`), clock, tx: { drop: s.lossy.dropRate }, rx: { drop: s.lossy.dropRate } })
      : null;
    const windows = outages.filter((o) => o.channel === id);
    links.set(id, { link: new ChannelLink(`channel:${id}`, fault ?? bus.adapter, clock, windows), fault, lossy: isLossy });
  });

  // Customers.
  let payer: Payer | null = null;
  const made: WorldPayment[] = [];
  const inFlight = new Set<Promise<unknown>>();
  /** Second sends of duplicated top-ups not yet made. */
  const duplicatesDue = new Set<TimerHandle>();
  const cust = s.customers;

  function pay(e: MeterEntry, paymentId: string, amountFen: number, trigger: WorldPayment['trigger'], duplicate: boolean): void {
    const p: WorldPayment = { paymentId, accountId: e.account.id, amountFen, duplicate, at: clock.now(), trigger };
    made.push(p);
    if (!payer) {
      p.error = 'no payer set (world.setPayer)';
      return;
    }
    try {
      const r = payer({ paymentId, accountId: p.accountId, amountFen, duplicate });
      if (r && typeof (r as Promise<unknown>).then === 'function') {
        const t = (r as Promise<unknown>).then(
          () => undefined,
          (err: unknown) => {
            p.error = err instanceof Error ? err.message : String(err);
          },
        );
        inFlight.add(t);
        void t.finally(() => inFlight.delete(t));
      }
    } catch (err) {
      p.error = err instanceof Error ? err.message : String(err);
    }
  }

  /** The customer decided to pay `paymentId` after `delayMs`; a duplicate follows `gapMs` later. */
  function schedule(e: MeterEntry, r: SeededRandom, trigger: WorldPayment['trigger'], n: number): void {
    const delayMs = Math.round(logUniform(r, cust.delayMinutes) * MINUTE);
    const days = uniform(r, cust.amountDays);
    const amountFen = Math.max(1, Math.round(days * e.dailyKwh * e.account.tariffFenPerKwh));
    const duplicate = r.chance(cust.duplicateShare);
    const gapMs = Math.round(uniform(r, cust.duplicateGapSeconds) * 1000);
    const paymentId = `${e.account.id}-${trigger}-${n}`;
    e.pending = clock.setTimeout(() => {
      e.pending = null;
      pay(e, paymentId, amountFen, trigger, false);
      if (!duplicate) return;
      const second = clock.setTimeout(() => {
        duplicatesDue.delete(second);
        pay(e, paymentId, amountFen, trigger, true);
      }, gapMs);
      duplicatesDue.add(second);
    }, delayMs);
  }

  function customerCut(e: MeterEntry): void {
    const n = ++e.cuts;
    // One stream per (customer, cut): a decision does not depend on when or in which order cuts happen.
    const r = root.fork(`prepaid:cut:${e.account.id}:${n}`);
    if (e.pending !== null) return; // already paying
    if (!r.chance(cust.topUpProbability)) return;
    schedule(e, r, 'cut', n);
  }

  // Accounts cut before the run: their relays open now (a remote trip at the start, dated now);
  // the customers react as to any cut.
  for (const e of entries) {
    if (e.startState !== 'cut') continue;
    const c = toCalendar(e.meter.model.meterNow() + START_TRIP_VALID_MS);
    const r = e.meter.model.remoteControl(RemoteControlCommand.Trip, remoteControlOf(PREPAID_METER_PROFILE).operatorCode, { year: c.year, month: c.month, day: c.day, hour: c.hour, minute: c.minute, second: c.second });
    if (!r.ok) throw new Error(`buildPrepaidWorld: the meter of ${e.account.id} refused the trip that cuts it at the start (${r.error})`);
  }

  function entryOf(address: string): MeterEntry {
    const e = byAddress.get(address);
    if (!e) throw new RangeError(`no meter at address ${address} in this world`);
    return e;
  }

  return {
    scenario: s,
    clock,
    startMs,
    endMs,
    line: s.line,
    channels,
    accounts: entries.map((e) => e.account),
    remoteControl: remoteControlOf(PREPAID_METER_PROFILE),
    faults: {
      lossyChannels: [...links].filter(([, l]) => l.lossy).map(([id]) => id),
      slowMeters: entries.filter((e) => e.slow).map((e) => e.account.meterAddress),
      stickingRelays: entries.filter((e) => e.stickingRelay).map((e) => e.account.meterAddress),
      outages,
    },
    linkFor(channelId) {
      const l = links.get(channelId);
      if (!l) throw new RangeError(`no channel "${channelId}" in this world`);
      return l.link;
    },
    channelStats(channelId) {
      const l = links.get(channelId);
      if (!l) throw new RangeError(`no channel "${channelId}" in this world`);
      return {
        lossy: l.lossy,
        dropRate: l.lossy ? s.lossy.dropRate : 0,
        lost: { tx: l.fault?.stats.tx.dropped ?? 0, rx: l.fault?.stats.rx.dropped ?? 0 },
        outage: { ...l.link.outageDropped },
      };
    },
    meter: (address) => entryOf(address),
    startState: (accountId) => {
      const e = byAccount.get(accountId);
      if (!e) throw new RangeError(`no account "${accountId}" in this world`);
      return e.startState;
    },
    relayHistory: (address) => entryOf(address).history,
    relayOpen: (address) => entryOf(address).meter.model.relay.open,
    setPayer(fn) {
      payer = fn;
    },
    notifySms(accountId) {
      const e = byAccount.get(accountId);
      if (!e) throw new RangeError(`no account "${accountId}" in this world`);
      const n = ++e.warnings;
      const r = root.fork(`prepaid:warning:${accountId}:${n}`);
      if (e.pending !== null) return;
      if (!r.chance(cust.earlyOnWarningShare)) return;
      schedule(e, r, 'warning', n);
    },
    payments: () => made,
    async settled() {
      while (inFlight.size > 0) await Promise.all([...inFlight]);
    },
    async close() {
      for (const e of entries) {
        clock.clearTimeout(e.pending ?? undefined);
        e.pending = null;
        e.meter.model.onRelayChange = undefined;
      }
      for (const t of duplicatesDue) clock.clearTimeout(t);
      duplicatesDue.clear();
      for (const bus of buses) await bus.close();
    },
  };
}

/** The 1CH password (the level `meter.passwordLevels.remoteControl` names, from `meter.passwords`) and operator code of a profile. */
export function remoteControlOf(profile: SimulatorProfile): { password: Password; operatorCode: string } {
  const level = profile.meter.passwordLevels.remoteControl;
  const value = profile.meter.passwords[level];
  if (value === undefined) throw new RangeError(`the profile declares no level-${level} password (meter.passwordLevels.remoteControl)`);
  return { password: { level: parseInt(level, 16), value: value.toUpperCase() }, operatorCode: profile.meter.operatorCode };
}
