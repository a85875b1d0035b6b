/**
 * `meterlab simulate concentrator --master <host:port> --scenario <file|name>
 *  [--concentrator <k>[,<k>...] | --shard i/n] [--speed real] [--empty-archive] [--password hex] [--redial-interval s] [--verbose]`
 *
 * Runs, in real time, the chosen concentrators of a collection scenario (simulators/collection) with
 * the meters behind them, each a reference concentrator (simulators/concentrator `createConcentrator`:
 * core over the world's ports, Q/GDW 1376.1 terminal) that dials a vendor's master station over TCP,
 * logs in, sends heartbeats, answers it, and redials with backoff when the link drops, as a
 * concentrator on GPRS does. The scenario's night faults apply: an uplink outage goes through
 * `throughUplink`, a power cycle through `scheduleReboot`.
 *
 * Time. A real clock cannot stand at the scenario's `start` (buildCollectionWorld checks that only of
 * a virtual clock), so the scenario is rebased to the moment the command starts: the meters' models
 * start there (their registers at their seeded start values, no daily freeze yet), every clock —
 * the meters' and the concentrators' — is this machine's, read as UTC+8 local time (the meters'
 * and the terminal's fixed offset), and a night fault planned for night N falls on the N-th
 * midnight (UTC+8) after the start. The first daily data (the day the command started) is frozen
 * by the DL/T 645 meters at the next 00:00 and collected by the concentrators from 00:05.
 *
 * Archive. Preloaded with the scenario's archive (a vendor's station may not download MeterLab's
 * F249 four-meter extension), unless `--empty-archive`: then the station downloads it (AFN 04 F10 /
 * F249).
 *
 * Password. Each concentrator checks the PW of its plan (seeded, `planConcentrator(s, c).password`;
 * `--verbose` prints it), or the one `--password` gives them all.
 */
import { readdirSync, existsSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { lookup } from 'node:dns/promises';
import { RealClock, type Clock } from '../core/clock.ts';
import { LinkError, UsageError } from '../core/errors.ts';
import { toCalendar } from '../core/calendar.ts';
import { toHex } from '../core/bytes.ts';
import type { Link } from '../links/link.ts';
import { connectTcpLink } from '../links/tcp.ts';
import type { Shard } from '../../simulators/fleet/plan.ts';
import type { WorldConcentrator } from '../../simulators/collection/index.ts';
import { EXIT, oneLine, type ExitCode } from './exit.ts';
import type { CliIo } from './program.ts';
import { parseHostPort, stderrLog } from './simulate.ts';
import { waitForSignal } from './signals.ts';

export interface SimulateConcentratorOptions {
  /** The vendor's master station, host:port. */
  readonly master: string;
  /** A scenario file, or the name of a checked-in one (simulators/collection/scenarios/<name>.json). */
  readonly scenario: string;
  /** Concentrators to run: 1-based numbers in scenario order or ids ("heat-city-0002"), comma-separated. */
  readonly concentrator?: string;
  readonly shard?: Shard;
  /** Only "real" (the default): the world runs on this machine's clock. */
  readonly speed?: string;
  /** Leave each concentrator's archive empty, for a station that downloads it. */
  readonly emptyArchive?: boolean;
  /** F8 redial interval, s (CON-03): the first wait after a failed dial or a drop, doubling up to 30 min. Default 60. */
  readonly redialInterval?: number;
  /** The 16-byte PW (32 hex digits) every concentrator checks, instead of each one's seeded own. */
  readonly password?: string;
  /** Log every uplink frame (decoded) and the terminals' and cores' own lines. */
  readonly verbose?: boolean;
}

/** Local time of the concentrators and meters: UTC+8 (simulators/electricity-meter, simulators/concentrator). */
const LOCAL_OFFSET_MINUTES = 480;
/**
 * Give up a TCP connect after this long, so a master that does not answer SYNs costs one redial
 * interval, not the kernel's ~2 min of SYN retries. MeterLab's choice [BK]: a GPRS terminal's TCP
 * connect takes seconds.
 */
export const CONNECT_TIMEOUT_MS = 30_000;
/** F8 redial interval default, s (CON-03; simulators/concentrator DEFAULT_TERMINAL_PARAMETERS). */
const DEFAULT_REDIAL_S = 60;

/**
 * What `--scenario` names: a bare name (lower-case letters, digits, '-') is a checked-in scenario
 * (as a profile's `meters.scenario`, harness/targets/gw1376-protocol.ts), else a path; a bare name
 * that is no scenario is read as a file of that name.
 */
export async function collectionScenarioPath(text: string): Promise<string> {
  const { COLLECTION_SCENARIOS_DIR } = await import('../targets/gw1376-protocol.ts');
  if (/^[a-z0-9-]+$/.test(text)) {
    const path = join(COLLECTION_SCENARIOS_DIR, `${text}.json`);
    if (existsSync(path)) return path;
    if (!existsSync(text)) {
      const names = readdirSync(COLLECTION_SCENARIOS_DIR)
        .filter((f) => f.endsWith('.json'))
        .map((f) => f.slice(0, -5))
        .sort();
      throw new UsageError(`--scenario ${text}: no such file, nor a scenario of that name (named scenarios: ${names.join(', ')})`);
    }
  }
  return resolve(text);
}

/** The global indices `--concentrator` names, in the order given. */
export function selectConcentrators(text: string, ids: readonly string[]): number[] {
  const out: number[] = [];
  const range = `1..${ids.length}${ids.length > 0 ? ` (${ids[0]}${ids.length > 1 ? ` .. ${ids.at(-1)}` : ''})` : ''}`;
  for (const raw of text.split(',')) {
    const k = raw.trim();
    if (k === '') throw new UsageError(`--concentrator "${text}": an empty item; give numbers 1..${ids.length} or ids, comma-separated`);
    let index: number;
    if (/^\d+$/.test(k)) {
      const n = Number(k);
      if (n < 1 || n > ids.length) throw new UsageError(`--concentrator ${k}: the scenario has ${ids.length} concentrator(s), ${range}`);
      index = n - 1;
    } else {
      index = ids.indexOf(k);
      if (index < 0) throw new UsageError(`--concentrator ${k}: no concentrator of that id; the scenario has ${range}`);
    }
    if (out.includes(index)) throw new UsageError(`--concentrator "${text}": concentrator ${ids[index]} given twice`);
    out.push(index);
  }
  return out;
}

interface Running {
  readonly id: string;
  readonly label: string;
  readonly concentrator: import('../../simulators/concentrator/index.ts').Concentrator;
  readonly cancelReboot: () => void;
  logins: number;
}

export async function simulateConcentratorCommand(o: SimulateConcentratorOptions, io: CliIo, clock: Clock = new RealClock()): Promise<ExitCode> {
  // ---- everything checked before anything is built or dialled ----
  if (o.speed !== undefined && o.speed !== 'real') throw new UsageError(`--speed ${o.speed}: only "real" is supported (a vendor's master station runs on real time)`);
  if (o.concentrator !== undefined && o.shard !== undefined) throw new UsageError('give --concentrator or --shard, not both');
  const master = parseHostPort(o.master, '--master');
  if (master.port === 0) throw new UsageError(`--master ${o.master}: port 0 is no master station's port`);
  const target = `${master.host.includes(':') ? `[${master.host}]` : master.host}:${master.port}`;
  const { readCollectionScenarioFile, concentratorIds, partitionConcentrators, buildCollectionWorld } = await import('../../simulators/collection/index.ts');
  const file = await collectionScenarioPath(o.scenario);
  const scenario = readCollectionScenarioFile(file);
  const ids = concentratorIds(scenario);
  let indices: number[];
  if (o.concentrator !== undefined) indices = selectConcentrators(o.concentrator, ids);
  else if (o.shard !== undefined) {
    if (o.shard.count > ids.length) {
      throw new UsageError(`--shard ${o.shard.index}/${o.shard.count}: the scenario has ${ids.length} concentrator(s), fewer than ${o.shard.count} shards (a shard would hold none)`);
    }
    indices = partitionConcentrators(scenario, o.shard.index, o.shard.count);
  } else indices = ids.map((_, i) => i);
  const redialS = o.redialInterval ?? DEFAULT_REDIAL_S;
  let password: Uint8Array | undefined;
  if (o.password !== undefined) {
    const digits = o.password.replace(/\s+/g, '');
    if (!/^[0-9A-Fa-f]{32}$/.test(digits)) throw new UsageError(`--password must be 32 hex digits (the 16-byte PW of Q/GDW 1376.1), got "${o.password}"`);
    password = Uint8Array.from(digits.match(/../g)!, (h) => parseInt(h, 16));
  }
  // A master whose name does not resolve will never be reached: one line, exit 3, nothing built.
  try {
    await lookup(master.host);
  } catch (e) {
    throw new LinkError(`--master ${o.master}: cannot resolve ${master.host} (${(e as NodeJS.ErrnoException).code ?? (e as Error).message})`, { cause: e });
  }

  const log = stderrLog(io.stderr);
  const say = (line: string): void => log.say(line);
  const stamp = (): string => new Date(clock.now()).toISOString();
  const signal = waitForSignal();

  // ---- the world, rebased to now (see the file header) ----
  const startMs = clock.now();
  const live = { ...scenario, startMs };
  const { createConcentrator } = await import('../../simulators/concentrator/index.ts');
  const { describeGw1376 } = await import('../targets/gw1376-protocol.ts');
  const running: Running[] = [];
  let world: Awaited<ReturnType<typeof buildCollectionWorld>> | undefined;
  let unreachableSaid = false;
  let stopping = false;
  /** Connects in progress: given up at once on a signal, so a master that does not answer cannot hold the exit. */
  const dialling = new Set<AbortController>();
  try {
    world = buildCollectionWorld(live, { clock, concentrators: indices, ...(o.verbose ? { log: (l: string) => log.frame(`${stamp()} ${oneLine(l)}`) } : {}) });
    const dial = (id: string) => async (): Promise<Link> => {
      const controller = new AbortController();
      dialling.add(controller);
      const timer = clock.setTimeout(() => controller.abort(new Error(`no answer within ${CONNECT_TIMEOUT_MS / 1000} s`)), CONNECT_TIMEOUT_MS);
      try {
        return await connectTcpLink({ host: master.host, port: master.port, name: `${id}→${target}`, signal: controller.signal });
      } catch (e) {
        if (!unreachableSaid && !stopping) {
          unreachableSaid = true;
          say(
            `meterlab: master station ${target} not reachable (${oneLine((e as Error).message)}): ` +
              `the concentrators keep redialling (every ${redialS} s at first, doubling up to 30 min) until it answers`,
          );
        }
        throw e;
      } finally {
        clock.clearTimeout(timer);
        dialling.delete(controller);
      }
    };
    /** A dial refused by the scenario's uplink outage is said once per outage. */
    const outageSaid = (wc: WorldConcentrator, label: string, connect: () => Promise<Link>) => {
      let said = false;
      return async (): Promise<Link> => {
        if (wc.uplinkUp(clock.now())) said = false;
        else if (!said) {
          said = true;
          say(`${stamp()} ${label}: uplink down (scenario fault) until ${localTime(wc.faults.uplinkDown!.to)} UTC+8: its dials fail until then`);
        }
        return connect();
      };
    };
    for (const wc of world.concentrators) {
      const label = `${wc.id} ${wc.address.areaCode}/${wc.address.terminal}`;
      const concentrator = createConcentrator({
        clock,
        ports: wc.ports,
        ...(o.emptyArchive ? {} : { archive: wc.archive }),
        address: wc.address,
        password: password ?? wc.password,
        connect: outageSaid(wc, label, wc.throughUplink(dial(wc.id))),
        parameters: { redialIntervalSeconds: redialS },
        utcOffsetMinutes: LOCAL_OFFSET_MINUTES,
        ...(wc.curves ? { curves: wc.curves } : {}),
        ...(o.verbose
          ? {
              logger: { debug: (l: string) => log.frame(`${stamp()} ${wc.id} ${oneLine(l)}`) },
              log: (l: string) => log.frame(`${stamp()} ${wc.id} core: ${oneLine(l)}`),
            }
          : {}),
      });
      // A power cycle of the whole concentrator (ROB-08): the link drops while it is off, it dials again when on.
      const cancelReboot = wc.scheduleReboot((offMs) => {
        say(`${stamp()} ${label}: power cycle (scenario fault), off for ${offMs / 60_000} min`);
        return concentrator.powerCycle(offMs);
      });
      const r: Running = { id: wc.id, label, concentrator, cancelReboot, logins: 0 };
      let previous = concentrator.terminal.state;
      concentrator.terminal.on('state', (s) => {
        const was = previous;
        previous = s;
        if (s === 'online') {
          r.logins++;
          say(r.logins === 1 ? `meterlab: serving ${label} → ${target}` : `${stamp()} meterlab: serving ${label} → ${target} again (login ${r.logins})`);
        } else if (s === 'waiting' && was === 'online') {
          const down = wc.uplinkUp(clock.now()) ? '' : ` (scenario fault: uplink down until ${localTime(wc.faults.uplinkDown!.to)} UTC+8)`;
          say(`${stamp()} ${label}: link to ${target} dropped${down}; redialling`);
        } else if (s === 'waiting' && was === 'login') {
          say(`${stamp()} ${label}: login not confirmed by ${target}; redialling`);
        }
      });
      if (o.verbose) {
        concentrator.terminal.on('frame', (dir, bytes) => log.frame(`${stamp()} ${wc.id} ${dir === 'in' ? '<-' : '->'} ${describeGw1376(bytes, 'rx') ?? `${bytes.length} byte(s)`}`));
      }
      running.push(r);
    }
  } catch (e) {
    signal.dispose();
    for (const r of running) r.cancelReboot();
    await world?.close().catch(() => undefined);
    throw e;
  }

  const points = world.concentrators.reduce((n, c) => n + c.archive.length, 0);
  const byKind = new Map<string, number>();
  for (const c of world.concentrators) for (const p of c.archive) byKind.set(p.kind, (byKind.get(p.kind) ?? 0) + 1);
  const kinds = [...byKind].map(([k, n]) => `${n} ${k}`).join(', ');
  const which =
    o.shard !== undefined ? `shard ${o.shard.index}/${o.shard.count}: ${running.length} of ${ids.length} concentrator(s) (${running[0]!.id}..${running.at(-1)!.id})` : `${running.length} of ${ids.length} concentrator(s)`;
  const localText = `${localTime(startMs)}:${String(toCalendar(startMs, LOCAL_OFFSET_MINUTES).second).padStart(2, '0')} UTC+8`;
  say(
    `meterlab: scenario ${file} (seed ${scenario.seed}): ${which}, ${points} meter(s)${kinds ? ` (${kinds})` : ''}, ` +
      `archive ${o.emptyArchive ? 'empty (--empty-archive: the station downloads it)' : 'preloaded'}; dialling ${target} in real time`,
  );
  say(
    `meterlab: the meters and concentrators run on this machine's clock as UTC+8 (now ${localText}), not the scenario's start ` +
      `${new Date(scenario.startMs).toISOString()}; their registers start now, the first daily freeze is at the next 00:00 UTC+8, night faults fall on the nights after now`,
  );
  for (const c of world.concentrators) {
    const f = c.faults;
    const parts = [
      ...(f.reboot ? [`power cycle at ${localTime(f.reboot.at)} for ${f.reboot.offMs / 60_000} min`] : []),
      ...(f.uplinkDown ? [`uplink down ${localTime(f.uplinkDown.from)} .. ${localTime(f.uplinkDown.to)}`] : []),
    ];
    if (o.verbose) say(`meterlab: ${c.id} ${c.address.areaCode}/${c.address.terminal}: PW ${toHex(password ?? c.password, '')}`);
    if (parts.length > 0) say(`meterlab: ${c.id} ${c.address.areaCode}/${c.address.terminal}: scenario faults (UTC+8): ${parts.join('; ')}`);
  }
  for (const r of running) r.concentrator.start();

  const why = await signal.promise;
  signal.dispose();
  stopping = true;
  for (const d of dialling) d.abort(new Error(`stopped (${why})`));
  for (const r of running) r.cancelReboot();
  await Promise.all(running.map((r) => r.concentrator.stop().catch(() => undefined)));
  const totals = { logins: 0, requests: 0 };
  for (const r of running) {
    const u = r.concentrator.terminal.uplinkStats;
    const t = r.concentrator.terminal.stats;
    const runs = r.concentrator.core.collectionRuns();
    const read = runs.reduce((n, x) => n + x.read, 0);
    totals.logins += u.logins;
    totals.requests += t.requests;
    say(
      `meterlab: ${r.label}: ${u.logins} login(s), ${u.dials} dial(s) (${u.failedDials} failed), ${u.heartbeats} heartbeat(s), ` +
        `${t.requests} request(s) (${t.denied} denied, ${t.silent} unanswered), ${u.reportsConfirmed} event report(s) confirmed; ` +
        `${runs.length} collection run(s), ${read} daily reading(s) stored`,
    );
  }
  await world.close().catch(() => undefined);
  say(`meterlab: concentrators stopped (${why}): ${running.length} concentrator(s), ${totals.logins} login(s), ${totals.requests} request(s) from ${target}`);
  return EXIT.ok;
}

/** "YYYY-MM-DD hh:mm" in UTC+8. */
function localTime(ms: number): string {
  const c = toCalendar(ms, LOCAL_OFFSET_MINUTES);
  const p2 = (n: number): string => String(n).padStart(2, '0');
  return `${c.year}-${p2(c.month)}-${p2(c.day)} ${p2(c.hour)}:${p2(c.minute)}`;
}
