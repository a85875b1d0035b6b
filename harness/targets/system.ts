/**
 * The system under test of the system switching cases (issue 9): a master station with its
 * prepaid customers' meters, run through a seeded scenario, observed from outside.
 *
 * For the reference (`system.type: "reference-station"`) everything runs in one process in
 * virtual time: the world (simulators/prepaid: meters on RS-485 buses, lossy and cut channels,
 * customers who pay when cut or warned), the reference station (simulators/master-station) on
 * PGlite in memory, its HTTP API (every top-up goes through it, as a payment platform's would),
 * and its SMS gateway, a real HTTP fake on loopback the station posts to. Midway the station is
 * killed (`crash()`: nothing more written, work in flight abandoned) and a new one is started on
 * the same database; payments posted while it is down are retried by the payment platform until
 * accepted, as a real platform does.
 *
 * The run returns raw observations only: relay truth per meter, every payment with the answers
 * it got, the SMS the gateway received, the station's accounts, jobs and events. The cases
 * (suites/switching/system-cases.ts) judge them.
 */
import { randomBytes } from 'node:crypto';
import { RealClock, VirtualClock } from '../core/clock.ts';
import { buildStationApi } from '../../simulators/master-station/api.ts';
import { MasterStation, type StationFaults } from '../../simulators/master-station/station.ts';
import { HttpSmsGateway, startSmsFake, type ReceivedSms } from '../../simulators/master-station/sms-gateway.ts';
import { openDatabase } from '../../simulators/master-station/storage.ts';
import type { Account, AccountInput, StationEvent, SwitchJob, TopUpResult } from '../../simulators/master-station/types.ts';
import { buildPrepaidWorld, type RelayChange, type WorldPayment, type WorldTopUp } from '../../simulators/prepaid/world.ts';
import type { PrepaidScenario } from '../../simulators/prepaid/scenario.ts';

/** Where the run kills the station, and for how long it stays down. */
export interface CrashPlan {
  /** Minutes after the scenario start. */
  readonly atMinutes: number;
  readonly downMinutes: number;
}

export interface ReferenceSystemOptions {
  readonly scenario: PrepaidScenario;
  /** Deliberate defects (broken variants only). */
  readonly faults?: StationFaults;
  /** null: no crash. */
  readonly crash: CrashPlan | null;
  /** Storage URL (default PGlite in memory). */
  readonly db?: string;
}

/** One answer the API gave a payment send (or why it was refused / not delivered). */
export interface PaymentAnswer {
  readonly at: number;
  /** HTTP status; 0 when no answer came (unreachable, timed out, the station down). */
  readonly status: number;
  /**
   * What an accepted (2xx) answer said, as far as it says it: the reference's answers carry every
   * field; a vendor's only those its profile maps (system.topUp.response), possibly none.
   */
  readonly result?: Partial<TopUpResult>;
  readonly error?: string;
}

/**
 * What the system under test does not let MeterLab see (a vendor's station without that export):
 * the profile field to set, in words. The matching `SystemRun` lists are then empty and the cases
 * that need them are inconclusive, naming it. The reference exports everything.
 */
export interface SystemUnavailable {
  readonly accounts?: string;
  readonly jobs?: string;
  readonly events?: string;
  readonly worklist?: string;
}

export interface ObservedPayment extends WorldPayment {
  /** Every send of this payment (the platform retries while the station is down), in order. */
  readonly answers: readonly PaymentAnswer[];
}

export interface SystemRun {
  readonly scenario: PrepaidScenario;
  readonly startMs: number;
  readonly endMs: number;
  readonly accountsAtStart: readonly AccountInput[];
  readonly accountsAtEnd: readonly Account[];
  readonly payments: readonly ObservedPayment[];
  /** Relay movements per meter address (the meters' truth). */
  readonly relay: ReadonlyMap<string, readonly RelayChange[]>;
  /** Relay open at the end, per meter address (truth). */
  readonly relayOpenAtEnd: ReadonlyMap<string, boolean>;
  readonly sms: readonly (ReceivedSms & { readonly at: number })[];
  readonly jobs: readonly SwitchJob[];
  readonly events: readonly StationEvent[];
  readonly worklist: readonly SwitchJob[];
  readonly faults: { readonly stickingRelays: readonly string[]; readonly lossyChannels: readonly string[]; readonly outages: readonly { channel: string; from: number; to: number }[] };
  /** The crash, when there was one: when the station was killed and when the new one started. */
  readonly crash: { readonly at: number; readonly restartedAt: number } | null;
  /** Wall time of the run, ms. */
  readonly wallMs: number;
  /** Exports the system under test does not offer (absent for the reference). */
  readonly unavailable?: SystemUnavailable;
  /** 'virtual' (the reference in simulated days) or 'real' (a vendor's station, wall time). */
  readonly time?: 'virtual' | 'real';
}

/** How often the payment platform retries a payment the station did not accept (MeterLab's choice). */
export const PAYMENT_RETRY_MS = 60_000;

/** A payment's first send and its duplicate share the payment id: their answers are kept apart. */
export function sendKey(p: { paymentId: string; duplicate: boolean }): string {
  return `${p.paymentId}|${p.duplicate ? 'again' : 'first'}`;
}

/** Runs the scenario against the reference station in virtual time. */
export async function runReferenceSystem(options: ReferenceSystemOptions): Promise<SystemRun> {
  const wall = new RealClock();
  const wallStart = wall.now();
  const { scenario } = options;
  // Time moves only inside clock.run(), which waits while the database or HTTP holds the clock.
  const clock = new VirtualClock({ start: scenario.startMs, autoAdvance: false });
  const world = buildPrepaidWorld(scenario, clock);
  const db = await openDatabase(options.db ?? 'memory');
  const smsFake = await startSmsFake();
  const smsAt = new Map<number, number>();
  const gateway = new HttpSmsGateway({ url: smsFake.url });
  const token = randomBytes(24).toString('hex');
  const answers = new Map<string, PaymentAnswer[]>();

  let station = null as MasterStation | null;
  let api = null as ReturnType<typeof buildStationApi> | null;
  const newStation = () =>
    new MasterStation({
      db,
      clock,
      links: (c) => world.linkFor(c.id),
      sms: {
        async send(m) {
          await gateway.send(m);
          const received = smsFake.messages();
          smsAt.set(received.length, clock.now());
          world.notifySms(m.accountId);
        },
      },
      remoteControl: { password: world.remoteControl.password, operator: world.remoteControl.operatorCode },
      master: { line: world.line },
      ...(options.faults ? { faults: options.faults } : {}),
    });

  /** One send through the HTTP API; false when the station is down (the platform retries). */
  const send = async (p: WorldTopUp): Promise<boolean> => {
    const key = sendKey(p);
    const list = answers.get(key) ?? [];
    answers.set(key, list);
    if (!api) {
      list.push({ at: clock.now(), status: 0, error: 'the station is down (connection refused)' });
      return false;
    }
    const release = clock.hold();
    try {
      const r = await api.inject({
        method: 'POST',
        url: '/api/v1/top-ups',
        headers: { authorization: `Bearer ${token}` },
        payload: { paymentId: p.paymentId, accountId: p.accountId, amountFen: p.amountFen },
      });
      const body = r.json() as TopUpResult & { message?: string };
      list.push(r.statusCode === 200 ? { at: clock.now(), status: 200, result: body } : { at: clock.now(), status: r.statusCode, error: body.message ?? r.body });
      return r.statusCode < 500;
    } catch (e) {
      list.push({ at: clock.now(), status: 0, error: (e as Error).message });
      return false;
    } finally {
      release();
    }
  };
  world.setPayer(async (p) => {
    while (!(await send(p))) await clock.sleep(PAYMENT_RETRY_MS);
  });

  const start = async () => {
    station = newStation();
    await station.start();
    api = buildStationApi({ service: station, token });
    await api.ready();
  };

  let crash = null as SystemRun['crash'];
  try {
    await clock.run(async () => {
      // Accounts go in through the API's service, before the first day.
      const setup = newStation();
      for (const c of world.channels) await setup.addChannel(c);
      // The installer's opening reading (装表示数) of each meter, so the first day is billed too.
      for (const a of world.accounts) {
        const wh = Math.round(world.meter(a.meterAddress).meter.backchannel.snapshot().forwardActiveTotal * 1000);
        await setup.createAccount({ ...a, openingEnergyWh: wh });
      }
      await start();
      if (options.crash) {
        const plan = options.crash;
        clock.setTimeout(() => {
          const at = clock.now();
          station!.crash();
          const dead = api;
          api = null;
          void dead?.close();
          clock.setTimeout(() => {
            void start().then(() => {
              crash = { at, restartedAt: clock.now() };
            });
          }, plan.downMinutes * 60_000);
        }, plan.atMinutes * 60_000);
      }
      await clock.sleep(world.endMs - clock.now());
      // The run ends here: the station stops scheduling (a billing run due later does not start).
      await station!.stop();
      await world.settled();
    });
    const s = station!;
    const finalAccounts = await clock.run(async () => {
      const all: Account[] = [];
      for (let offset = 0; ; offset += 1000) {
        const page = await s.listAccounts({ offset, limit: 1000 });
        all.push(...page);
        if (page.length < 1000) break;
      }
      return all;
    });
    const [jobs, worklist] = await clock.run(Promise.all([s.jobs(), s.worklist()]));
    const events: StationEvent[] = [];
    for (let after = 0; ; ) {
      const page = await clock.run(s.events({ afterId: after, limit: 5000 }));
      events.push(...page);
      if (page.length < 5000) break;
      after = page.at(-1)!.id;
    }
    const relay = new Map<string, readonly RelayChange[]>();
    const relayOpenAtEnd = new Map<string, boolean>();
    for (const a of world.accounts) {
      relay.set(a.meterAddress, [...world.relayHistory(a.meterAddress)]);
      relayOpenAtEnd.set(a.meterAddress, world.relayOpen(a.meterAddress));
    }
    const sms = smsFake.messages().map((m) => ({ ...m, at: smsAt.get(m.seq) ?? Number.NaN }));
    return {
      scenario,
      startMs: world.startMs,
      endMs: world.endMs,
      accountsAtStart: world.accounts,
      accountsAtEnd: finalAccounts,
      payments: world.payments().map((p) => ({ ...p, answers: answers.get(sendKey(p)) ?? [] })),
      relay,
      relayOpenAtEnd,
      sms,
      jobs,
      events,
      worklist,
      faults: { stickingRelays: world.faults.stickingRelays, lossyChannels: world.faults.lossyChannels, outages: world.faults.outages },
      crash,
      wallMs: wall.now() - wallStart,
      time: 'virtual',
    };
  } finally {
    station?.crash();
    await api?.close().catch(() => undefined);
    await world.close().catch(() => undefined);
    await smsFake.close().catch(() => undefined);
    await db.close().catch(() => undefined);
  }
}
