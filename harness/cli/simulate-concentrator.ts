/**
 * `meterlab simulate concentrator --master <host:port> --scenario <file|name>
 *  [--concentrator <k>[,<k>...] | --shard i/n] [--speed real] [--empty-archive] [--password hex] [--redial-interval s]
 *  [--heartbeat min] [--serial <port>=<path>[,...]] [--verbose]`
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
 *
 * Heartbeat. Every `--heartbeat` minutes (AFN 04 F1 period, 1..255, default 15).
 *
 * Serial ports (`--serial 2=/dev/ttyUSB0,3=/dev/ttyUSB1`, or repeated): MeterLab's reference
 * concentrator run as if it were a vendor's box, its meter ports on real serial devices (USB-RS485
 * or M-Bus adapters, socat ptys in tests). Exactly one concentrator (`--concentrator`, or the
 * scenario's only one), and every one of its planned ports given a path, no other: otherwise one
 * UsageError listing its ports with medium, line and what they carry. No world is built — the
 * meters are the ones on the wire: the ports' settings (number, medium, line, reply timeout) come
 * from the plan (`planConcentrator`, `concentratorPortOf` as the world uses), each port opened
 * with `openSerialLink` at its own line; a device that cannot be opened is a LinkError (exit 3)
 * after the ones already open are closed. The archive starts empty (the station downloads it).
 * The plan's night faults still apply (`concentratorFaults`, the world's own), on the rebased
 * scenario; its meter-side faults (dead meters, noisy buses, lossy hops) are the world's and do
 * not. An adapter that goes away is said once; the uplink stays up.
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
import { openSerialLink, type SerialLink } from '../links/serial.ts';
import type { Shard } from '../../simulators/fleet/plan.ts';
import { describeMediumLine, describePortPlan, type ConcentratorPlan, type PortPlan, type WorldConcentrator } from '../../simulators/collection/index.ts';
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
  /** AFN 04 F1 heartbeat period, min (1..255). Default 15. */
  readonly heartbeat?: number;
  /**
   * Run one concentrator with no simulated meters, its ports on serial devices: `<port>=<path>`
   * items, comma-separated, one text per `--serial` given.
   */
  readonly serial?: readonly string[];
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
/** F1 heartbeat period default, min (simulators/concentrator DEFAULT_TERMINAL_PARAMETERS). */
const DEFAULT_HEARTBEAT_MIN = 15;

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

/** `--serial` texts as a map port → path: `<port>=<path>` items, comma-separated, each port and each path once. */
export function parseSerialPorts(texts: readonly string[]): Map<number, string> {
  const out = new Map<number, string>();
  for (const text of texts) {
    for (const raw of text.split(',')) {
      const item = raw.trim();
      if (item === '') throw new UsageError(`--serial "${text}": an empty item; give <port>=<path> items, comma-separated, e.g. 2=/dev/ttyUSB0,3=/dev/ttyUSB1`);
      const m = /^(\d{1,3})=(.+)$/.exec(item);
      if (!m) throw new UsageError(`--serial "${item}": give <port>=<path>, the concentrator's port number as the scenario numbers it and a serial device, e.g. 2=/dev/ttyUSB0`);
      const port = Number(m[1]);
      const path = m[2]!.trim();
      if (out.has(port)) throw new UsageError(`--serial: port ${port} given twice (${out.get(port)}, ${path})`);
      const other = [...out].find(([, p]) => resolve(p) === resolve(path));
      if (other) throw new UsageError(`--serial: ports ${other[0]} and ${port} both name ${path} (a serial device carries one port)`);
      out.set(port, path);
    }
  }
  return out;
}

/**
 * Checks that `--serial` names exactly the concentrator's planned ports: otherwise one UsageError
 * listing them with medium, line and what they carry, what is missing and what is not in the plan.
 */
export function checkSerialPorts(plan: ConcentratorPlan, given: ReadonlyMap<number, string>): void {
  const planned = plan.ports.map((pp) => pp.port);
  const missing = planned.filter((p) => !given.has(p));
  const unknown = [...given.keys()].filter((p) => !planned.includes(p));
  if (missing.length === 0 && unknown.length === 0) return;
  const list = plan.ports.map(describePortPlan).join(', ');
  const example = plan.ports.map((pp, i) => `${pp.port}=/dev/ttyUSB${i}`).join(',');
  const wrong = [
    ...(missing.length > 0 ? [`missing: ${missing.map((p) => `port ${p}`).join(', ')}`] : []),
    ...(unknown.length > 0 ? [`not in the scenario: ${unknown.map((p) => `port ${p}`).join(', ')}`] : []),
  ].join('; ');
  throw new UsageError(`--serial: concentrator ${plan.id} has ${list}: give each of them a serial device and no other port, e.g. --serial ${example} (${wrong})`);
}

/**
 * Opens the planned ports on their serial devices at the plan's line settings, in port order; on
 * a failure closes the ones already open and throws one LinkError naming the item.
 */
async function openSerialPorts(plan: ConcentratorPlan, given: ReadonlyMap<number, string>): Promise<{ pp: PortPlan; path: string; link: SerialLink }[]> {
  const opened: { pp: PortPlan; path: string; link: SerialLink }[] = [];
  try {
    for (const pp of plan.ports) {
      const path = given.get(pp.port)!;
      try {
        opened.push({ pp, path, link: await openSerialLink({ path, line: pp.line, name: `${plan.id}:p${pp.port} ${path}` }) });
      } catch (e) {
        if (e instanceof LinkError) throw new LinkError(`--serial ${pp.port}=${path}: ${e.message}`, { cause: e });
        throw e;
      }
    }
  } catch (e) {
    await Promise.all(opened.map((o) => o.link.close().catch(() => undefined)));
    throw e;
  }
  return opened;
}

/**
 * What one concentrator runs with: a world's (its simulated meters behind its ports, its archive
 * preloaded unless --empty-archive) or, with --serial, its plan's with the ports on serial devices.
 */
type Unit = Pick<WorldConcentrator, 'id' | 'address' | 'password' | 'ports' | 'archive' | 'faults' | 'curves' | 'uplinkUp' | 'throughUplink' | 'scheduleReboot'>;

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
  const { readCollectionScenarioFile, concentratorIds, partitionConcentrators, planConcentrator, buildCollectionWorld, concentratorFaults, concentratorPortOf } = await import(
    '../../simulators/collection/index.ts'
  );
  const serial = o.serial !== undefined ? parseSerialPorts(o.serial) : undefined;
  if (serial && o.shard !== undefined) throw new UsageError('--serial runs one concentrator: name it with --concentrator <k>, not --shard');
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
  if (serial) {
    if (indices.length !== 1) {
      throw new UsageError(
        o.concentrator !== undefined
          ? `--serial runs one concentrator; --concentrator "${o.concentrator}" names ${indices.length}`
          : `--serial runs one concentrator; the scenario has ${ids.length} (${ids[0]} .. ${ids.at(-1)}): name one with --concentrator <k>`,
      );
    }
    // The ports (number, medium, line, timeout) come from the plan: no meter is built for this check.
    checkSerialPorts(planConcentrator(scenario, indices[0]!), serial);
  }
  const redialS = o.redialInterval ?? DEFAULT_REDIAL_S;
  const heartbeatMin = o.heartbeat ?? DEFAULT_HEARTBEAT_MIN;
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
  let units: readonly Unit[] = [];
  let serialPorts: { pp: PortPlan; path: string; link: SerialLink }[] = [];
  /** The world's meters and buses, or the serial devices. */
  const closeAll = async (): Promise<void> => {
    await world?.close().catch(() => undefined);
    await Promise.all(serialPorts.map((p) => p.link.close().catch(() => undefined)));
  };
  let unreachableSaid = false;
  let stopping = false;
  /** Connects in progress: given up at once on a signal, so a master that does not answer cannot hold the exit. */
  const dialling = new Set<AbortController>();
  try {
    if (serial) {
      // No world: the meters are the ones on the wire. The plan of the rebased scenario gives the
      // ports' settings and the night faults (on the nights after now), as the world would.
      const plan = planConcentrator(live, indices[0]!);
      serialPorts = await openSerialPorts(plan, serial);
      units = [
        {
          id: plan.id,
          address: plan.address,
          password: plan.password,
          ports: serialPorts.map((p) => concentratorPortOf(p.pp, p.link)),
          archive: [],
          faults: plan.faults,
          ...(live.curves ? { curves: { intervalMinutes: live.curves.intervalMinutes } } : {}),
          ...concentratorFaults(plan, clock),
        },
      ];
      for (const p of serialPorts) {
        // An adapter unplugged while running: one line with the cause; the uplink stays up, the
        // port's reads and forwards fail (no reply) from then on.
        let cause: string | undefined;
        p.link.on('error', (e) => {
          cause = oneLine(e.message);
          // A disconnect is an error then a close in one go: said with the close. An error alone is said as it is.
          void Promise.resolve().then(() => {
            if (!stopping && p.link.isOpen) say(`${stamp()} ${plan.id}: port ${p.pp.port}: ${cause}`);
          });
        });
        p.link.on('close', () => {
          if (!stopping) say(`${stamp()} ${plan.id}: port ${p.pp.port} (${p.path}) closed${cause ? ` (${cause})` : ''}: its meters cannot be read until the command is restarted`);
        });
      }
    } else {
      world = buildCollectionWorld(live, { clock, concentrators: indices, ...(o.verbose ? { log: (l: string) => log.frame(`${stamp()} ${oneLine(l)}`) } : {}) });
      units = world.concentrators;
    }
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
    const outageSaid = (wc: Unit, label: string, connect: () => Promise<Link>) => {
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
    for (const wc of units) {
      const label = `${wc.id} ${wc.address.areaCode}/${wc.address.terminal}`;
      const concentrator = createConcentrator({
        clock,
        ports: wc.ports,
        ...(o.emptyArchive || serial ? {} : { archive: wc.archive }),
        address: wc.address,
        password: password ?? wc.password,
        connect: outageSaid(wc, label, wc.throughUplink(dial(wc.id))),
        parameters: { redialIntervalSeconds: redialS, heartbeatMinutes: heartbeatMin },
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
    stopping = true;
    await closeAll();
    throw e;
  }

  const localText = `${localTime(startMs)}:${String(toCalendar(startMs, LOCAL_OFFSET_MINUTES).second).padStart(2, '0')} UTC+8`;
  if (serial) {
    const r = running[0]!;
    const ports = serialPorts.map((p) => `port ${p.pp.port} on ${p.path} (${describeMediumLine(p.pp)})`).join(', ');
    say(
      `meterlab: scenario ${file} (seed ${scenario.seed}): concentrator ${r.label} with its ports on serial devices: ${ports}; ` +
        `no simulated meters (the meters are the ones on the wire), archive empty (the station downloads it: AFN 04 F10 / F249); dialling ${target} in real time, heartbeat every ${heartbeatMin} min`,
    );
    say(
      `meterlab: the concentrator runs on this machine's clock as UTC+8 (now ${localText}), not the scenario's start ` +
        `${new Date(scenario.startMs).toISOString()}; its nightly collection reads the meters it is given after the next 00:00 UTC+8, night faults fall on the nights after now`,
    );
  } else {
    const points = units.reduce((n, c) => n + c.archive.length, 0);
    const byKind = new Map<string, number>();
    for (const c of units) for (const p of c.archive) byKind.set(p.kind, (byKind.get(p.kind) ?? 0) + 1);
    const kinds = [...byKind].map(([k, n]) => `${n} ${k}`).join(', ');
    const which =
      o.shard !== undefined ? `shard ${o.shard.index}/${o.shard.count}: ${running.length} of ${ids.length} concentrator(s) (${running[0]!.id}..${running.at(-1)!.id})` : `${running.length} of ${ids.length} concentrator(s)`;
    say(
      `meterlab: scenario ${file} (seed ${scenario.seed}): ${which}, ${points} meter(s)${kinds ? ` (${kinds})` : ''}, ` +
        `archive ${o.emptyArchive ? 'empty (--empty-archive: the station downloads it)' : 'preloaded'}; dialling ${target} in real time, heartbeat every ${heartbeatMin} min`,
    );
    say(
      `meterlab: the meters and concentrators run on this machine's clock as UTC+8 (now ${localText}), not the scenario's start ` +
        `${new Date(scenario.startMs).toISOString()}; their registers start now, the first daily freeze is at the next 00:00 UTC+8, night faults fall on the nights after now`,
    );
  }
  for (const c of units) {
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
  await closeAll();
  say(`meterlab: concentrators stopped (${why}): ${running.length} concentrator(s), ${totals.logins} login(s), ${totals.requests} request(s) from ${target}`);
  return EXIT.ok;
}

/** "YYYY-MM-DD hh:mm" in UTC+8. */
function localTime(ms: number): string {
  const c = toCalendar(ms, LOCAL_OFFSET_MINUTES);
  const p2 = (n: number): string => String(n).padStart(2, '0');
  return `${c.year}-${p2(c.month)}-${p2(c.day)} ${p2(c.hour)}:${p2(c.minute)}`;
}
