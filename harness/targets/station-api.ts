/**
 * A vendor's master station as the system under test of the system switching cases (issue 9,
 * profile `system.type: "station-api"`), in real time.
 *
 * MeterLab plays everything around the vendor's system: the prepaid world (simulators/prepaid) on
 * the real clock — its meters on simulated RS-485 buses, each bus served on a TCP port as a TCP
 * serial server in transparent mode does (harness/links/tcp-serve.ts), which the vendor's channels
 * dial; the customers, whose top-ups go to the vendor's top-up API (body from the profile's
 * template, auth from an environment variable, a payment without an answer or with a 5xx sent
 * again every `retrySeconds` until accepted, refused or the run ends; a seeded share sent twice);
 * and the SMS gateway the vendor posts its warnings to. After `durationSeconds` it reads what the
 * vendor exports (accounts, switching jobs, events, worklist; whichever the profile names) and
 * returns the same raw observations as the reference run (`SystemRun`). What the vendor does not
 * export is empty and named in `unavailable`; the cases that need it are inconclusive, never passed.
 *
 * A run too short for a billing day shows switching through accounts that start in arrears
 * (scenario `startInArrears`): the vendor loads the account list `stationApiAccounts` gives
 * (balances at or below 0, which ones are cut already) before the run. suites/switching/README.md
 * says what a short run can and cannot show.
 *
 * Before anything is served the vendor is probed (`probeStationApi`): a missing token variable, an
 * unreachable URL, refused credentials or an export that does not answer as declared is one
 * StationApiError whose message names the profile field to fix; nothing is left open.
 */
import { RealClock, VirtualClock, type Clock, type TimerHandle } from '../core/clock.ts';
import { MeterLabError } from '../core/errors.ts';
import { listenTcp, type TcpListener } from '../links/tcp.ts';
import { serveOneClientAtATime, TcpBusPort } from '../links/tcp-serve.ts';
import { startSmsFake, type ReceivedSms, type SmsFake } from '../../simulators/master-station/sms-gateway.ts';
import { formatYuan } from '../../simulators/master-station/station.ts';
import type { Account, AccountInput, StationEvent, SwitchJob } from '../../simulators/master-station/types.ts';
import { buildPrepaidWorld, type RelayChange, type StartState, type WorldTopUp } from '../../simulators/prepaid/world.ts';
import type { PrepaidScenario } from '../../simulators/prepaid/scenario.ts';
import type { StationApiDeclaration, StationApiExport } from './profile.ts';
import { sendKey, type PaymentAnswer, type SystemRun, type SystemUnavailable } from './system.ts';

/** The vendor's system could not be used at all: one line naming the profile field to fix. */
export class StationApiError extends MeterLabError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('station-api', message, options);
  }
}

/** One account as the vendor loads it before the run: the account, and how it starts. */
export interface VendorAccount extends AccountInput {
  /** normal; cut (in arrears, the relay open: disconnected before the run); due (in arrears, relay closed); keep-power (in arrears, never to be cut). */
  readonly startState: StartState;
}

/** The scenario's accounts and channels, as the vendor must load them (deterministic: from the seed only). */
export function stationApiAccounts(scenario: PrepaidScenario): { accounts: VendorAccount[]; channels: string[] } {
  const clock = new VirtualClock({ start: scenario.startMs, autoAdvance: false });
  const world = buildPrepaidWorld(scenario, clock);
  const accounts = world.accounts.map((a) => ({ ...a, startState: world.startState(a.id) }));
  const channels = world.channels.map((c) => c.id);
  void world.close();
  return { accounts, channels };
}

/** The account list as CSV (money in fen and yuan), one row per account, for a vendor's import tool. */
export function vendorAccountsCsv(accounts: readonly VendorAccount[]): string {
  const q = (v: string) => (/[",\n]/.test(v) ? `"${v.replace(/"/g, '""')}"` : v);
  const rows = ['accountId,name,phone,meterAddress,channelId,paymentMode,tariffFenPerKwh,keepPower,warningFen,balanceFen,balanceYuan,startState,relayAtStart'];
  for (const a of accounts) {
    const balance = a.balanceFen ?? 0;
    rows.push(
      [a.id, q(a.name), a.phone, a.meterAddress, a.channelId, a.paymentMode, a.tariffFenPerKwh, a.keepPower ?? '', a.warningFen, balance, formatYuan(balance), a.startState, a.startState === 'cut' ? 'open' : 'closed'].join(','),
    );
  }
  return rows.join('\n') + '\n';
}

export interface StationApiRunOptions {
  readonly system: StationApiDeclaration;
  /** Where the auth variable is read (default process.env). */
  readonly env?: Readonly<Record<string, string | undefined>>;
  /** The real clock (default a RealClock): the world's meters, the customers and the run's length. */
  readonly clock?: Clock;
  /**
   * Called once the buses are served and the SMS gateway listens, before the run's first instant
   * (MeterLab's own test loads the accounts into its stand-in vendor here). Its time counts in the run.
   */
  readonly ready?: (info: { readonly ports: ReadonlyMap<string, number>; readonly smsUrl: string; readonly accounts: readonly VendorAccount[] }) => Promise<void>;
  /** Progress lines (serving, probing, reading the exports). */
  readonly log?: (line: string) => void;
}

type Fetch = (url: string, init: { method: string; headers: Record<string, string>; body?: string }) => Promise<{ status: number; json: unknown; text: string }>;

/** fetch with the profile's timeout on `clock`; a network failure or timeout throws with a one-line reason. */
function fetcher(clock: Clock, timeoutMs: number): Fetch {
  return async (url, init) => {
    const abort = new AbortController();
    const timer: TimerHandle = clock.setTimeout(() => abort.abort(new Error(`no answer within ${timeoutMs / 1000} s`)), timeoutMs);
    try {
      const res = await fetch(url, { ...init, signal: abort.signal });
      const text = await res.text();
      let json: unknown = undefined;
      try {
        json = text === '' ? undefined : JSON.parse(text);
      } catch {
        json = undefined;
      }
      return { status: res.status, json, text };
    } catch (e) {
      const err = e as Error & { cause?: { code?: string; message?: string } };
      const reason = abort.signal.aborted ? (abort.signal.reason as Error).message : (err.cause?.code ?? err.cause?.message ?? err.message);
      throw new Error(reason);
    } finally {
      clock.clearTimeout(timer);
    }
  };
}

/** The auth header the profile asks for, from its environment variable. */
export function authHeaders(system: StationApiDeclaration, env: Readonly<Record<string, string | undefined>>): Record<string, string> {
  const auth = system.api.auth;
  if (auth.type === 'none') return {};
  const name = auth.type === 'bearer' ? auth.tokenEnv : auth.valueEnv;
  const value = env[name];
  if (value === undefined || value === '') {
    throw new StationApiError(`system.api.auth: the environment variable ${name} is not set: export it with the vendor's API ${auth.type === 'bearer' ? 'token' : 'key'} (the profile names the variable, never the secret)`);
  }
  return auth.type === 'bearer' ? { authorization: `Bearer ${value}` } : { [auth.name.toLowerCase()]: value };
}

function get(value: unknown, dotPath: string): unknown {
  let v = value;
  for (const k of dotPath.split('.')) {
    if (v === null || typeof v !== 'object') return undefined;
    v = (v as Record<string, unknown>)[k];
  }
  return v;
}

/** The top-up body: placeholders that are a whole string become the typed value, inside text they become text. */
export function fillTemplate(template: unknown, values: Record<string, string | number>): unknown {
  if (typeof template === 'string') {
    const whole = /^\{\{(\w+)\}\}$/.exec(template);
    if (whole && whole[1]! in values) return values[whole[1]!];
    return template.replace(/\{\{(\w+)\}\}/g, (m, k: string) => (k in values ? String(values[k]) : m));
  }
  if (Array.isArray(template)) return template.map((t) => fillTemplate(t, values));
  if (template !== null && typeof template === 'object') {
    return Object.fromEntries(Object.entries(template).map(([k, v]) => [k, fillTemplate(v, values)]));
  }
  return template;
}

function topUpValues(p: { paymentId: string; accountId: string; amountFen: number }, meterAddress: string): Record<string, string | number> {
  return { paymentId: p.paymentId, accountId: p.accountId, meterAddress, amountFen: p.amountFen, amountYuan: p.amountFen / 100 };
}

const EXPORT_NAMES = ['accounts', 'jobs', 'events', 'worklist'] as const;
type ExportName = (typeof EXPORT_NAMES)[number];

function authProblem(status: number, what: string, system: StationApiDeclaration): StationApiError | null {
  if (status !== 401 && status !== 403) return null;
  const auth = system.api.auth;
  const which = auth.type === 'bearer' ? `the token in ${auth.tokenEnv}` : auth.type === 'header' ? `the ${auth.name} value in ${auth.valueEnv}` : 'credentials (system.api.auth is "none")';
  return new StationApiError(`the vendor's API refused MeterLab's credentials (${status} to ${what}): check ${which} (system.api.auth)`);
}

function exportUrl(system: StationApiDeclaration, e: StationApiExport, page: { afterId?: number; offset?: number }): string {
  const u = new URL(system.api.baseUrl.replace(/\/$/, '') + e.path);
  if (e.paging === 'after-id') {
    u.searchParams.set('afterId', String(page.afterId ?? 0));
    u.searchParams.set('limit', String(e.pageSize));
  } else if (e.paging === 'offset-limit') {
    u.searchParams.set('offset', String(page.offset ?? 0));
    u.searchParams.set('limit', String(e.pageSize));
  }
  return u.href;
}

/**
 * Is the vendor there, and does it take our credentials? A GET to the top-up path (it must change
 * nothing; any answer but 401/403 shows the API is reached) and to the first page of every export
 * (200 with a list where `items` says). Throws StationApiError naming the field to fix.
 */
export async function probeStationApi(system: StationApiDeclaration, headers: Record<string, string>, f: Fetch): Promise<void> {
  const base = system.api.baseUrl.replace(/\/$/, '');
  const topUpUrl = base + system.topUp.path.replace(/\{\{\w+\}\}/g, 'meterlab-probe');
  let r;
  try {
    r = await f(topUpUrl, { method: 'GET', headers });
  } catch (e) {
    throw new StationApiError(`cannot reach the vendor's top-up API at ${topUpUrl}: ${(e as Error).message} (system.api.baseUrl, system.topUp.path)`, { cause: e });
  }
  const denied = authProblem(r.status, `GET ${topUpUrl}`, system);
  if (denied) throw denied;
  for (const name of EXPORT_NAMES) {
    const e = system.exports[name];
    if (!e) continue;
    const url = exportUrl(system, e, {});
    try {
      r = await f(url, { method: 'GET', headers });
    } catch (err) {
      throw new StationApiError(`cannot reach the vendor's ${name} export at ${url}: ${(err as Error).message} (system.exports.${name}.path)`, { cause: err });
    }
    const no = authProblem(r.status, `GET ${url}`, system);
    if (no) throw no;
    if (r.status !== 200) throw new StationApiError(`the vendor's ${name} export answered ${r.status} to GET ${url}: check system.exports.${name}.path`);
    if (!Array.isArray(get(r.json, e.items))) throw new StationApiError(`the vendor's ${name} export at ${url} has no list at "${e.items}" (system.exports.${name}.items)`);
  }
}

/** Every item of an export, with MeterLab's field names (the profile's `fields` applied). */
async function readExport(system: StationApiDeclaration, name: ExportName, e: StationApiExport, headers: Record<string, string>, f: Fetch): Promise<Record<string, unknown>[]> {
  const out: Record<string, unknown>[] = [];
  const idPath = e.fields['id'] ?? 'id';
  for (let page = 0; ; page++) {
    const last = out.at(-1);
    const url = exportUrl(system, e, { afterId: last ? Number(get(last['__raw'], idPath)) : 0, offset: out.length });
    const r = await f(url, { method: 'GET', headers });
    if (r.status !== 200) throw new Error(`GET ${url} answered ${r.status}`);
    const items = get(r.json, e.items);
    if (!Array.isArray(items)) throw new Error(`GET ${url}: no list at "${e.items}"`);
    for (const raw of items) {
      const item: Record<string, unknown> = { __raw: raw };
      if (raw !== null && typeof raw === 'object') Object.assign(item, raw);
      for (const [field, from] of Object.entries(e.fields)) item[field] = get(raw, from);
      out.push(item);
    }
    if (e.paging === 'none' || items.length < e.pageSize) break;
    if (page > 100_000) throw new Error(`GET ${url}: more than 100,000 pages`);
  }
  return out;
}

const instant = (v: unknown): number | null => (typeof v === 'number' && Number.isFinite(v) ? v : typeof v === 'string' && !Number.isNaN(Date.parse(v)) ? Date.parse(v) : null);

function need<T>(ok: boolean, value: T, name: ExportName, i: number, field: string): T {
  if (!ok) throw new Error(`item ${i} has no valid ${field} (map it in system.exports.${name}.fields)`);
  return value;
}

function toJobs(items: Record<string, unknown>[], name: ExportName): SwitchJob[] {
  return items.map((j, i) => {
    const finishedAt = j['finishedAt'] === null || j['finishedAt'] === undefined ? null : instant(j['finishedAt']);
    return {
      id: need(Number.isFinite(Number(j['id'])), Number(j['id']), name, i, 'id'),
      accountId: need(typeof j['accountId'] === 'string', String(j['accountId']), name, i, 'accountId'),
      action: need(j['action'] === 'disconnect' || j['action'] === 'reconnect', j['action'] as SwitchJob['action'], name, i, 'action ("disconnect" | "reconnect")'),
      state: need(['pending', 'done', 'failed', 'cancelled'].includes(String(j['state'])), j['state'] as SwitchJob['state'], name, i, 'state ("pending" | "done" | "failed" | "cancelled")'),
      reason: typeof j['reason'] === 'string' ? j['reason'] : '',
      forced: j['forced'] === true,
      attempts: Number.isFinite(Number(j['attempts'])) ? Number(j['attempts']) : 0,
      nextAt: instant(j['nextAt']) ?? 0,
      createdAt: instant(j['createdAt']) ?? 0,
      finishedAt: need(j['state'] === 'pending' || j['state'] === 'cancelled' || finishedAt !== null, finishedAt, name, i, 'finishedAt (a finished job says when)'),
      causeLayer: (typeof j['causeLayer'] === 'string' ? j['causeLayer'] : null) as SwitchJob['causeLayer'],
      causeDetail: typeof j['causeDetail'] === 'string' ? j['causeDetail'] : null,
    };
  });
}

function toEvents(items: Record<string, unknown>[]): StationEvent[] {
  return items.map((e, i) => ({
    id: need(Number.isFinite(Number(e['id'])), Number(e['id']), 'events', i, 'id'),
    at: need(instant(e['at']) !== null, instant(e['at'])!, 'events', i, 'at'),
    accountId: typeof e['accountId'] === 'string' ? e['accountId'] : null,
    kind: need(typeof e['kind'] === 'string', String(e['kind']), 'events', i, 'kind'),
    detail: e['detail'] !== null && typeof e['detail'] === 'object' ? (e['detail'] as Record<string, unknown>) : {},
  }));
}

function toAccounts(items: Record<string, unknown>[], atStart: readonly AccountInput[]): Account[] {
  const start = new Map(atStart.map((a) => [a.id, a]));
  return items.map((a, i) => {
    const id = need(typeof a['id'] === 'string', String(a['id']), 'accounts', i, 'id');
    const balance = Number(a['balanceFen']);
    need(Number.isSafeInteger(balance), balance, 'accounts', i, 'balanceFen (whole fen)');
    const s = start.get(id);
    return {
      id,
      name: s?.name ?? '',
      phone: s?.phone ?? '',
      meterAddress: s?.meterAddress ?? '',
      channelId: s?.channelId ?? '',
      paymentMode: s?.paymentMode ?? 'prepaid',
      tariffFenPerKwh: s?.tariffFenPerKwh ?? 0,
      keepPower: s?.keepPower ?? null,
      warningFen: s?.warningFen ?? 0,
      balanceFen: balance,
      relay: a['relay'] === 'open' || a['relay'] === 'closed' ? a['relay'] : 'unknown',
      cutReason: a['cutReason'] === 'arrears' ? 'arrears' : null,
      warned: a['warned'] === true,
      createdAt: instant(a['createdAt']) ?? 0,
    };
  });
}

/** Runs the profile's real-time scenario against the vendor's station. */
export async function runStationApiSystem(options: StationApiRunOptions): Promise<SystemRun> {
  const system = options.system;
  const clock = options.clock ?? new RealClock();
  const log = options.log ?? (() => undefined);
  const wallStart = clock.now();
  const headers = { ...authHeaders(system, options.env ?? process.env) };
  const f = fetcher(clock, system.api.timeoutSeconds * 1000);
  log(`station-api: probing ${system.api.baseUrl}`);
  await probeStationApi(system, headers, f);

  const { accounts: vendorAccounts } = stationApiAccounts(system.scenario);
  const listeners: TcpListener[] = [];
  let sms: SmsFake | null = null;
  let world: ReturnType<typeof buildPrepaidWorld> | null = null;
  const end = new AbortController();
  try {
    // The world starts now, on the real clock, for durationSeconds.
    const startMs = Math.floor(clock.now());
    const durationMs = Math.round(system.durationSeconds * 1000);
    const scenario: PrepaidScenario = { ...system.scenario, start: new Date(startMs).toISOString(), startMs, days: durationMs / 86_400_000 };
    world = buildPrepaidWorld(scenario, clock);
    const w = world;
    for (const c of w.channels) {
      const port = system.channels.ports.get(c.id)!;
      let listener: TcpListener;
      try {
        listener = await listenTcp({ host: system.channels.host, port, clock, name: c.id });
      } catch (e) {
        throw new StationApiError(`cannot serve channel ${c.id} on ${system.channels.host}:${port}: ${(e as Error).message} (system.channels)`, { cause: e });
      }
      listeners.push(listener);
      serveOneClientAtATime(listener, { what: c.id, served: new TcpBusPort(w.linkFor(c.id)), say: (l) => log(`station-api: ${c.id} ${l}`), sayError: (l) => log(l), clock });
      log(`station-api: ${c.id} served on tcp ${system.channels.host}:${listener.port}`);
    }
    const smsAt = new Map<number, number>();
    try {
      sms = await startSmsFake({ host: system.sms.host, port: system.sms.port, onMessage: (m) => smsAt.set(m.seq, clock.now()) });
    } catch (e) {
      throw new StationApiError(`cannot listen for the vendor's SMS on ${system.sms.host}:${system.sms.port}: ${(e as Error).message} (system.sms)`, { cause: e });
    }

    // The payment platform: every top-up to the vendor's API; no answer or a 5xx is sent again.
    const answers = new Map<string, PaymentAnswer[]>();
    const meterOf = new Map(w.accounts.map((a) => [a.id, a.meterAddress]));
    const base = system.api.baseUrl.replace(/\/$/, '');
    const send = async (p: WorldTopUp): Promise<'done' | 'again'> => {
      const list = answers.get(sendKey(p)) ?? [];
      answers.set(sendKey(p), list);
      const values = topUpValues(p, meterOf.get(p.accountId)!);
      const url = base + String(fillTemplate(system.topUp.path, values));
      try {
        const r = await f(url, { method: system.topUp.method, headers: { ...headers, 'content-type': 'application/json' }, body: JSON.stringify(fillTemplate(system.topUp.body, values)) });
        if (r.status >= 200 && r.status < 300) {
          const credited = system.topUp.response.credited ? get(r.json, system.topUp.response.credited) : undefined;
          const balance = system.topUp.response.balanceFen ? Number(get(r.json, system.topUp.response.balanceFen)) : Number.NaN;
          list.push({
            at: clock.now(),
            status: r.status,
            result: { ...(typeof credited === 'boolean' ? { credited } : {}), ...(Number.isSafeInteger(balance) ? { balanceFen: balance } : {}) },
          });
          return 'done';
        }
        const message = get(r.json, 'message');
        list.push({ at: clock.now(), status: r.status, error: typeof message === 'string' ? message : r.text.slice(0, 200) });
        return r.status >= 500 ? 'again' : 'done';
      } catch (e) {
        list.push({ at: clock.now(), status: 0, error: (e as Error).message });
        return 'again';
      }
    };
    w.setPayer(async (p) => {
      while (!end.signal.aborted && (await send(p)) === 'again') {
        await clock.sleep(system.topUp.retrySeconds * 1000, end.signal).catch(() => undefined);
      }
    });

    if (options.ready) await options.ready({ ports: new Map(w.channels.map((c, i) => [c.id, listeners[i]!.port])), smsUrl: sms.url, accounts: vendorAccounts });
    log(`station-api: run started, ${w.accounts.length} accounts on ${w.channels.length} channel(s), ${system.durationSeconds} s`);
    await clock.sleep(Math.max(0, w.endMs - clock.now()));

    // The end: no more payments, the truth as it stands now.
    end.abort();
    const endMs = clock.now();
    const relay = new Map<string, readonly RelayChange[]>();
    const relayOpenAtEnd = new Map<string, boolean>();
    for (const a of w.accounts) {
      relay.set(a.meterAddress, w.relayHistory(a.meterAddress).filter((c) => c.at <= endMs));
      relayOpenAtEnd.set(a.meterAddress, w.relayOpen(a.meterAddress));
    }
    const received: (ReceivedSms & { at: number })[] = sms.messages().map((m) => ({ ...m, at: smsAt.get(m.seq) ?? Number.NaN }));
    // A send in flight at the end gets its answer (within api.timeoutSeconds): it was paid before the end.
    await w.settled();
    const payments = w.payments().map((p) => ({ ...p, answers: [...(answers.get(sendKey(p)) ?? [])] }));
    await Promise.all(listeners.map((l) => l.close().catch(() => undefined)));
    listeners.length = 0;

    // What the vendor exports, read after the run.
    const unavailable: { -readonly [K in keyof SystemUnavailable]: string } = {};
    const read = async (name: ExportName): Promise<Record<string, unknown>[] | null> => {
      const e = system.exports[name];
      if (!e) {
        unavailable[name] = `the vendor's system exports no ${name === 'jobs' ? 'switching jobs' : name} (system.exports.${name} not declared)`;
        return null;
      }
      try {
        log(`station-api: reading the ${name} export`);
        return await readExport(system, name, e, headers, f);
      } catch (err) {
        unavailable[name] = `the vendor's ${name} export could not be read after the run: ${(err as Error).message}`;
        return null;
      }
    };
    const convert = <T>(name: ExportName, items: Record<string, unknown>[] | null, to: (items: Record<string, unknown>[]) => T[]): T[] => {
      if (items === null) return [];
      try {
        return to(items);
      } catch (err) {
        unavailable[name] = `the vendor's ${name} export: ${(err as Error).message}`;
        return [];
      }
    };
    const accountsAtEnd = convert('accounts', await read('accounts'), (i) => toAccounts(i, w.accounts));
    const jobs = convert('jobs', await read('jobs'), (i) => toJobs(i, 'jobs'));
    const events = convert('events', await read('events'), toEvents);
    const worklist = convert('worklist', await read('worklist'), (i) => toJobs(i, 'worklist'));

    return {
      scenario,
      startMs: w.startMs,
      endMs: w.endMs,
      accountsAtStart: w.accounts,
      accountsAtEnd,
      payments,
      relay,
      relayOpenAtEnd,
      sms: received,
      jobs,
      events,
      worklist,
      faults: { stickingRelays: w.faults.stickingRelays, lossyChannels: w.faults.lossyChannels, outages: w.faults.outages },
      crash: null,
      wallMs: clock.now() - wallStart,
      unavailable,
      time: 'real',
    };
  } finally {
    end.abort();
    await Promise.all(listeners.map((l) => l.close().catch(() => undefined)));
    await world?.close().catch(() => undefined);
    await sms?.close().catch(() => undefined);
  }
}
