/**
 * `meterlab serve master-station`: the reference master station (simulators/master-station) as a
 * real service — storage from --db, the HTTP API on --host:--port, channels reached as the
 * config file says (a TCP serial server, a serial port, or a port of a concentrator), and with
 * --uplink its collection from concentrators over Q/GDW 1376.1 (serve-master-station-collection.ts),
 * time from the real clock — until SIGINT/SIGTERM.
 *
 * Everything the user gave is checked before anything is created (no data directory for a bad
 * config): a bad argument, config file or database URL is one line and exit 2. A database that
 * cannot be opened, or a port that cannot be listened on, is exit 3. A signal stops the API,
 * lets the station finish what it is doing, closes the links and the database, and exits 0.
 */
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { z } from 'zod';
import { RealClock, type Clock } from '../core/clock.ts';
import { LinkError, MeterLabError, UsageError } from '../core/errors.ts';
import { DLT645_DEFAULT_LINE, LinkBase, type LineSettings, type Link } from '../links/link.ts';
import type { Channel } from '../../simulators/master-station/types.ts';
import { EXIT, oneLine, type ExitCode } from './exit.ts';
import type { CliIo } from './program.ts';
import { waitForSignal } from './signals.ts';
import { collectionConfigSchema, concentratorChannelSchema, CONCENTRATOR_CHANNEL_TIMEOUT_MS, ConcentratorChannelLink, terminalLabel, type ResolvedCollection } from './serve-master-station-collection.ts';

/** The API's default port: MeterLab's choice (the number of the standard it speaks, DL/T 645). */
export const DEFAULT_STATION_PORT = 8645;
export const DEFAULT_STATION_HOST = '127.0.0.1';
/** Default --db: a PGlite data directory in the working directory. */
export const DEFAULT_STATION_DB = './master-station-data';
export const TOKEN_ENV = 'METERLAB_STATION_TOKEN';
/** The remote-control password and operator of the reference meter (simulators/electricity-meter), used when the config gives none. */
export const DEFAULT_REMOTE_CONTROL = { password: { level: 2, value: '000000' }, operator: '00000000' } as const;

export interface ServeMasterStationOptions {
  readonly db?: string;
  readonly port?: number;
  readonly host?: string;
  readonly token?: string;
  readonly smsUrl?: string;
  readonly smsToken?: string;
  readonly config?: string;
  /** `[host:]port` of the 1376.1 listener for concentrators (host default 127.0.0.1); off when absent. */
  readonly uplink?: string;
}

// ---------------------------------------------------------------------------------------------
// Config file

/** Same rule as the API's channel ids (api-schemas.ts), so every configured channel can be named in an account. */
const CHANNEL_ID = /^[A-Za-z0-9_-]{1,32}$/;
const HOST_PORT = /^(?<host>\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9.-]+):(?<port>\d{1,5})$/;

const lineSchema = z.strictObject({
  baudRate: z.number().int().min(300).max(115_200),
  dataBits: z.union([z.literal(7), z.literal(8)]),
  parity: z.enum(['none', 'even', 'odd']),
  stopBits: z.union([z.literal(1), z.literal(2)]),
});

const channelSchema = z
  .strictObject({
    id: z.string().regex(CHANNEL_ID, 'must be 1-32 letters, digits, "-" or "_"'),
    description: z.string().max(200).optional(),
    tcp: z
      .string()
      .regex(HOST_PORT, 'must be "host:port", e.g. "127.0.0.1:4001"')
      .refine((s) => {
        const port = Number(HOST_PORT.exec(s)?.groups?.port);
        return port >= 1 && port <= 65535;
      }, 'port must be between 1 and 65535')
      .optional(),
    serial: z.string().min(1, 'must be a serial device path, e.g. "/dev/ttyUSB0"').optional(),
    line: lineSchema.optional(),
    /** A port of a concentrator the station collects (collection.concentrators), reached by AFN 10 F1 forwarding. */
    concentrator: concentratorChannelSchema.optional(),
  })
  .superRefine((c, ctx) => {
    if ([c.tcp, c.serial, c.concentrator].filter((x) => x !== undefined).length !== 1) {
      ctx.addIssue({ code: 'custom', message: 'give exactly one of "tcp", "serial" or "concentrator"', path: [] });
    }
    if (c.concentrator !== undefined && c.line !== undefined) {
      ctx.addIssue({ code: 'custom', message: 'applies to a "serial" channel only (the concentrator sets its port\'s line)', path: ['line'] });
    }
    if (c.tcp !== undefined && c.line !== undefined) {
      ctx.addIssue({ code: 'custom', message: 'applies to a "serial" channel only (a TCP serial server has its own line settings)', path: ['line'] });
    }
  });

export const stationConfigSchema = z.strictObject({
  channels: z.array(channelSchema).max(10_000).default([]),
  remoteControl: z
    .strictObject({
      password: z.strictObject({
        level: z.number().int().min(0).max(9),
        value: z.string().regex(/^[0-9A-Fa-f]{6}$/, 'must be 6 hex digits'),
      }),
      operator: z.string().regex(/^[0-9A-Fa-f]{8}$/, 'must be 8 hex digits'),
    })
    .optional(),
  /**
   * Deliberate defects (StationFaults, simulators/master-station/station.ts): only for MeterLab's
   * own tests, where this station plays a broken vendor's system (harness/targets/station-api.test.ts).
   */
  faults: z
    .strictObject({
      reconnectDelayMs: z.number().int().min(0).max(86_400_000).optional(),
      ignoreKeepPower: z.boolean().optional(),
      creditDuplicates: z.boolean().optional(),
      volatileTopUps: z.boolean().optional(),
    })
    .optional(),
  /** The concentrators the station collects over Q/GDW 1376.1 (serve-master-station-collection.ts; needs --uplink). */
  collection: collectionConfigSchema.optional(),
});

export type StationConfig = z.infer<typeof stationConfigSchema>;
export type ChannelConfig = StationConfig['channels'][number];

function issuePath(path: readonly PropertyKey[]): string {
  let out = '';
  for (const p of path) out += typeof p === 'number' ? `[${p}]` : out === '' ? String(p) : `.${String(p)}`;
  return out === '' ? '(top level)' : out;
}

/** Parses and validates a config file's text; one UsageError line naming the file and the field. */
export function parseStationConfig(text: string, file: string): StationConfig {
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (e) {
    throw new UsageError(`config ${file}: not valid JSON: ${oneLine((e as Error).message)}`);
  }
  const r = stationConfigSchema.safeParse(raw);
  if (!r.success) {
    const issue = r.error.issues[0]!;
    const message = issue.code === 'unrecognized_keys' ? `unknown field${issue.keys.length > 1 ? 's' : ''} ${issue.keys.map((k) => `"${k}"`).join(', ')}` : issue.message;
    throw new UsageError(`config ${file}: ${issuePath(issue.path)}: ${oneLine(message)}`);
  }
  const seen = new Set<string>();
  r.data.channels.forEach((c, i) => {
    if (seen.has(c.id)) throw new UsageError(`config ${file}: channels[${i}].id: channel "${c.id}" is given twice`);
    seen.add(c.id);
    if (c.concentrator !== undefined && !r.data.collection) {
      throw new UsageError(`config ${file}: channels[${i}].concentrator: terminal ${terminalLabel(c.concentrator.areaCode, c.concentrator.terminal)} is not collected: add it to collection.concentrators`);
    }
  });
  return r.data;
}

export function loadStationConfig(file: string): StationConfig {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (e) {
    throw new UsageError(`config ${file} cannot be read: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
  }
  return parseStationConfig(text, file);
}

// ---------------------------------------------------------------------------------------------
// Links opened on first use

/**
 * A Link that opens its transport on the first write and opens it again on the next write after
 * the transport closed (a TCP serial server that dropped the connection, an adapter unplugged).
 * A transport that cannot be opened fails that write with a LinkError (the station records a
 * 'channel' failure and retries later). Transport errors and closes are not passed on: the
 * master above keeps working, and a request that was in flight times out.
 */
export class ReopeningLink extends LinkBase {
  private link: Link | null = null;
  private opening: Promise<Link> | null = null;
  private closed = false;

  constructor(
    readonly name: string,
    private readonly open: () => Promise<Link>,
    private readonly log: (line: string) => void = () => undefined,
  ) {
    super();
  }

  get isOpen(): boolean {
    return !this.closed;
  }

  async write(bytes: Uint8Array): Promise<void> {
    if (this.closed) throw new LinkError(`${this.name} is closed`);
    const link = this.link ?? (await this.connect());
    await link.write(bytes);
  }

  private connect(): Promise<Link> {
    this.opening ??= this.open()
      .then((link) => {
        if (this.closed) {
          void link.close();
          throw new LinkError(`${this.name} is closed`);
        }
        const onData = (chunk: Uint8Array, timing?: import('../links/link.ts').ChunkTiming): void => void this.emit('data', chunk, timing);
        const onError = (e: Error): void => this.log(`${this.name}: ${oneLine(e.message)}`);
        link.on('data', onData);
        link.on('error', onError);
        link.once('close', () => {
          link.off('data', onData);
          link.off('error', onError);
          if (this.link === link) this.link = null;
          if (!this.closed) this.log(`${this.name}: closed; it is opened again on the next request`);
        });
        this.link = link;
        return link;
      })
      .finally(() => {
        this.opening = null;
      });
    return this.opening;
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    const link = this.link ?? (await this.opening?.catch(() => null)) ?? null;
    this.link = null;
    if (link) await link.close().catch(() => undefined);
    this.emit('close');
  }
}

function channelLink(c: ChannelConfig, log: (line: string) => void): ReopeningLink {
  if (c.concentrator !== undefined) throw new Error(`channel ${c.id} is reached through a concentrator`);
  if (c.tcp !== undefined) {
    const m = HOST_PORT.exec(c.tcp)!.groups!;
    const host = m.host!.replace(/^\[|\]$/g, '');
    const port = Number(m.port);
    return new ReopeningLink(`tcp:${c.tcp}`, async () => (await import('../links/tcp.ts')).connectTcpLink({ host, port }), log);
  }
  const line: LineSettings = c.line ?? DLT645_DEFAULT_LINE;
  const path = c.serial!;
  return new ReopeningLink(`serial:${path}`, async () => (await import('../links/serial.ts')).openSerialLink({ path, line }), log);
}

// ---------------------------------------------------------------------------------------------
// The command

class EnvironmentError extends MeterLabError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('environment', message, options);
  }
}

/** `--uplink [host:]port`: host default loopback (as the API); port 0 = a free one. */
export function parseUplink(text: string): { host: string; port: number } {
  const m = /^(?:(?<host>\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9.-]+):)?(?<port>\d{1,5})$/.exec(text.trim());
  const port = Number(m?.groups?.port);
  if (!m || !(port >= 0 && port <= 65535)) throw new UsageError(`--uplink "${text}" is not [host:]port with a port 0..65535 (e.g. 127.0.0.1:4000, or 4000)`);
  return { host: (m.groups!.host ?? DEFAULT_STATION_HOST).replace(/^\[|\]$/g, ''), port };
}

export async function serveMasterStationCommand(opts: ServeMasterStationOptions, io: CliIo, clock: Clock = new RealClock()): Promise<ExitCode> {
  const say = (line: string): void => void io.stderr.write(`${line}\n`);

  // ---- everything checked before anything is created ----
  const host = opts.host ?? DEFAULT_STATION_HOST;
  const port = opts.port ?? DEFAULT_STATION_PORT;
  const { isLoopbackHost, MIN_REMOTE_TOKEN_LENGTH } = await import('../../simulators/master-station/api.ts');
  const loopback = isLoopbackHost(host);
  const givenToken = opts.token ?? (process.env[TOKEN_ENV] !== undefined && process.env[TOKEN_ENV] !== '' ? process.env[TOKEN_ENV] : undefined);
  if (givenToken !== undefined && !/^[\x21-\x7e]+$/.test(givenToken)) throw new UsageError('--token must be printable ASCII without spaces');
  if (!loopback && (givenToken === undefined || givenToken.length < MIN_REMOTE_TOKEN_LENGTH)) {
    throw new UsageError(`--host ${host} is not loopback: give --token (or ${TOKEN_ENV}) of at least ${MIN_REMOTE_TOKEN_LENGTH} characters`);
  }
  let smsUrl: URL | undefined;
  if (opts.smsUrl !== undefined) {
    try {
      smsUrl = new URL(opts.smsUrl);
    } catch {
      throw new UsageError(`--sms-url "${opts.smsUrl}" is not a URL (e.g. http://127.0.0.1:9000/sms)`);
    }
    if (smsUrl.protocol !== 'http:' && smsUrl.protocol !== 'https:') throw new UsageError(`--sms-url must be http: or https:, got ${smsUrl.protocol}`);
  } else if (opts.smsToken !== undefined) {
    throw new UsageError('--sms-token needs --sms-url');
  }
  const config: StationConfig = opts.config !== undefined ? loadStationConfig(opts.config) : { channels: [] };
  const uplink = opts.uplink !== undefined ? parseUplink(opts.uplink) : undefined;
  let collection: ResolvedCollection | undefined;
  if (config.collection) {
    if (!uplink) throw new UsageError(`config ${opts.config}: collection: its concentrators log in to the station's 1376.1 listener: give --uplink [host:]port`);
    const { resolveCollection } = await import('./serve-master-station-collection.ts');
    collection = await resolveCollection(config.collection, opts.config!);
    const known = new Set(collection.concentrators.map((c) => terminalLabel(c.areaCode, c.terminal)));
    config.channels.forEach((c, i) => {
      if (c.concentrator && !known.has(terminalLabel(c.concentrator.areaCode, c.concentrator.terminal))) {
        throw new UsageError(`config ${opts.config}: channels[${i}].concentrator: terminal ${terminalLabel(c.concentrator.areaCode, c.concentrator.terminal)} is not in collection.concentrators`);
      }
    });
  } else if (uplink) {
    throw new UsageError('--uplink: the station collects from no concentrator: give collection.concentrators in --config');
  }
  const { parseDatabaseUrl, openDatabase, maskPassword, StorageError } = await import('../../simulators/master-station/storage.ts');
  const dbUrl = opts.db ?? DEFAULT_STATION_DB;
  try {
    parseDatabaseUrl(dbUrl);
  } catch (e) {
    throw new UsageError(`--db: ${(e as Error).message}`);
  }

  // ---- open ----
  let token = givenToken;
  if (token === undefined) {
    token = randomBytes(24).toString('base64url');
    say(`meterlab: no --token (or ${TOKEN_ENV}) given: this run's API token is ${token}`);
  }
  const signal = waitForSignal();
  const { HttpSmsGateway } = await import('../../simulators/master-station/sms-gateway.ts');
  const { MasterStation } = await import('../../simulators/master-station/station.ts');
  const { startStationApi } = await import('../../simulators/master-station/api.ts');

  let db: Awaited<ReturnType<typeof openDatabase>>;
  try {
    db = await openDatabase(dbUrl, { clock });
  } catch (e) {
    signal.dispose();
    const message = e instanceof StorageError || e instanceof Error ? e.message : String(e);
    throw new EnvironmentError(`cannot open the database ${maskPassword(dbUrl)}: ${message}`, { cause: e });
  }

  // The 1376.1 side: the station of the terminals with each one's PW. Its TCP listener opens once
  // the collection has started, so no login comes before the collection listens for it.
  let gw: import('../masters/gw1376-station.ts').Gw1376Station | undefined;
  let uplinkListener: import('../links/tcp.ts').TcpListener | undefined;
  if (collection && uplink) {
    const { Gw1376Station } = await import('../masters/gw1376-station.ts');
    gw = new Gw1376Station({ clock, master: { msa: collection.msa, utcOffsetMinutes: collection.utcOffsetMinutes }, passwords: collection.concentrators });
    const label = new Map(collection.concentrators.map((c) => [terminalLabel(c.areaCode, c.terminal), c.label]));
    const named = (a: { areaCode: string; terminal: number }): string => label.get(terminalLabel(a.areaCode, a.terminal)) ?? `${terminalLabel(a.areaCode, a.terminal)} (not in the config: not collected)`;
    gw.on('terminal', (m) => {
      if (m.terminal) say(`meterlab: concentrator ${named(m.terminal)} logged in`);
    });
    gw.on('offline', (a) => say(`meterlab: concentrator ${named(a)} offline (its connection closed)`));
  }

  const links = new Map<string, Link>();
  for (const c of config.channels) {
    links.set(c.id, c.concentrator !== undefined ? new ConcentratorChannelLink(`concentrator:${terminalLabel(c.concentrator.areaCode, c.concentrator.terminal)}`, gw!, c.concentrator) : channelLink(c, (line) => say(`meterlab: ${line}`)));
  }
  const throughConcentrator = new Set(config.channels.filter((c) => c.concentrator !== undefined).map((c) => c.id));
  const sms = smsUrl
    ? new HttpSmsGateway({ url: smsUrl.href, ...(opts.smsToken !== undefined ? { token: opts.smsToken } : {}) })
    : {
        send: async (): Promise<void> => {
          throw new Error('no SMS gateway configured (meterlab serve master-station --sms-url): the message stays in the outbox');
        },
      };
  const station = new MasterStation({
    db,
    clock,
    links: (channel: Channel) => links.get(channel.id),
    sms,
    remoteControl: config.remoteControl ?? DEFAULT_REMOTE_CONTROL,
    // A reply through a concentrator comes after the whole 1376.1 round trip (AFN 10 F1).
    channelMaster: (channel: Channel) => (throughConcentrator.has(channel.id) ? { timeoutMs: CONCENTRATOR_CHANNEL_TIMEOUT_MS, attempts: 2 } : undefined),
    ...(config.faults ? { faults: config.faults } : {}),
    logger: (line) => say(`meterlab: ${oneLine(line)}`),
  });

  let collector: import('../../simulators/master-station/collection.ts').CollectionStation | undefined;
  if (collection && gw) {
    const { CollectionStation } = await import('../../simulators/master-station/collection.ts');
    const { gw1376CollectionLink } = await import('../../simulators/master-station/collection-gw1376.ts');
    collector = new CollectionStation({
      db,
      clock,
      link: gw1376CollectionLink(gw),
      concentrators: collection.concentrators,
      schedule: collection.schedule,
      utcOffsetMinutes: collection.utcOffsetMinutes,
      ...(collection.faults ? { faults: collection.faults } : {}),
      ...(collection.leak ? { leak: collection.leak } : {}),
      ...(collection.usageReminders ? { usageReminders: collection.usageReminders } : {}),
      ...(collection.endpoints.length > 0
        ? { delivery: { endpoints: collection.endpoints, ...(collection.batchSize !== undefined ? { batchSize: collection.batchSize } : {}), ...(collection.retryMs !== undefined ? { retryMs: collection.retryMs } : {}) } }
        : {}),
      logger: (line) => say(`meterlab: ${oneLine(line)}`),
    });
  }

  let api: Awaited<ReturnType<typeof startStationApi>> | undefined;
  const shutDown = async (): Promise<void> => {
    await api?.close().catch(() => undefined);
    // The switching jobs finish first (a concentrator channel needs its terminal's connection);
    // then the concentrators' connections close, so a collection request in flight fails at once.
    await station.stop().catch((e: unknown) => say(`meterlab: stopping the station: ${oneLine((e as Error).message)}`));
    await uplinkListener?.close().catch(() => undefined);
    await gw?.close().catch(() => undefined);
    await collector?.stop().catch((e: unknown) => say(`meterlab: stopping the collection: ${oneLine((e as Error).message)}`));
    await Promise.allSettled([...links.values()].map((l) => l.close()));
    await db.close().catch(() => undefined);
  };
  try {
    for (const c of config.channels) {
      const description =
        c.description ??
        (c.tcp !== undefined ? `TCP serial server ${c.tcp}`
        : c.concentrator !== undefined ? `port ${c.concentrator.port} of concentrator ${terminalLabel(c.concentrator.areaCode, c.concentrator.terminal)}`
        : `serial ${c.serial}`);
      await station.addChannel({ id: c.id, kind: c.tcp !== undefined ? 'tcp' : c.concentrator !== undefined ? 'concentrator' : 'rs485', description });
    }
    await station.start();
    await collector?.start();
    if (gw && collection && uplink) {
      const station1376 = gw;
      const { listenTcp } = await import('../links/tcp.ts');
      try {
        uplinkListener = await listenTcp({
          host: uplink.host,
          port: uplink.port,
          name: 'gw1376',
          ...(collection.idleTimeoutMs > 0 ? { idleTimeoutMs: collection.idleTimeoutMs, clock } : {}),
        });
      } catch (e) {
        // listenTcp wraps the system error (a LinkError whose cause has the code).
        const code = ((e as Error).cause as NodeJS.ErrnoException | undefined)?.code ?? oneLine((e as Error).message);
        throw new EnvironmentError(`cannot listen for concentrators on ${uplink.host}:${uplink.port}: ${code}`, { cause: e });
      }
      uplinkListener.on('connection', (link) => {
        try {
          station1376.accept(link);
        } catch {
          void link.close(); // the station is stopping
        }
      });
      uplinkListener.on('error', (e: Error) => say(`meterlab: concentrator listener: ${oneLine(e.message)}`));
    }
    const exportOf = collector && collection ? collector : undefined;
    const { collectionExport } = await import('./serve-master-station-collection.ts');
    api = await startStationApi({
      service: station,
      token,
      host,
      port,
      logger: { level: 'info', stream: { write: (msg: string) => void io.stderr.write(msg) } },
      ...(exportOf && collection ? { collectionExport: (day: string | undefined) => collectionExport(exportOf, collection.concentrators, clock, collection.utcOffsetMinutes, day) } : {}),
    });
  } catch (e) {
    signal.dispose();
    await shutDown();
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'EADDRINUSE' || code === 'EACCES' || code === 'EADDRNOTAVAIL') {
      throw new EnvironmentError(`cannot listen on ${host}:${port}: ${code}`, { cause: e });
    }
    throw e;
  }
  if (config.faults && Object.values(config.faults).some((v) => v !== undefined && v !== false)) {
    say(`meterlab: config faults ${JSON.stringify(config.faults)}: this station is deliberately broken (a broken variant for MeterLab's own tests)`);
  }
  if (config.collection?.faults?.countRetriedTwice) {
    say('meterlab: config collection.faults {"countRetriedTwice":true}: this station is deliberately broken (a broken variant for MeterLab\'s own tests)');
  }
  if (gw && collection) {
    const points = collection.concentrators.reduce((n, c) => n + c.archive.length, 0);
    const hhmm = (m: number): string => `${String(Math.floor(m / 60)).padStart(2, '0')}:${String(m % 60).padStart(2, '0')}`;
    const tz = collection.utcOffsetMinutes;
    const zone = `UTC${tz < 0 ? '-' : '+'}${Math.floor(Math.abs(tz) / 60)}${Math.abs(tz) % 60 ? `:${String(Math.abs(tz) % 60).padStart(2, '0')}` : ''}`;
    const h = uplinkListener?.host ?? uplink!.host;
    io.stdout.write(
      `meterlab: concentrators log in on ${h.includes(':') ? `[${h}]` : h}:${uplinkListener?.port} (Q/GDW 1376.1; ${collection.concentrators.length} concentrator(s), ${points} point(s); ` +
        `collection ${hhmm(collection.schedule.startMinute!)}-${hhmm(collection.schedule.endMinute!)} ${zone})\n`,
    );
  }
  io.stdout.write(`meterlab: master station listening on ${api.url} (API ${api.url}/api/v1, OpenAPI ${api.url}/openapi.json; storage ${db.location})\n`);

  const s = await signal.promise;
  signal.dispose();
  say(`meterlab: ${s}: stopping the master station`);
  await shutDown();
  say('meterlab: master station stopped');
  return EXIT.ok;
}
