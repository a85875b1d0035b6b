/**
 * `meterlab discover (--port <path> | --tcp <host:port>) --out <file> [--force] [--address <12 digits>]
 *  [--baud 2400,1200,...] [--parity even,none,odd] [--timeout ms] [--attempts n] [--max-silent n]
 *  [--only <prefixes>] [--include-1997] [--exhaustive] [--name <name>]`
 *
 * Finds the meter (harness/targets/discover.ts), writes a draft target profile validated by the
 * profile loader (harness/targets/draft-profile.ts), prints a summary on stdout and, on stderr,
 * progress and what the user must still review. This file only parses, renders and writes.
 *
 * Exit codes: 0 the draft was written; 2 a bad argument or an --out file that exists (without
 * --force); 3 no meter found, several meters answering, the meter stopped answering, or a port
 * that cannot be opened (one line naming what was tried).
 */
import { mkdirSync, existsSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import type { Writable } from 'node:stream';
import { RealClock, type Clock } from '../core/clock.ts';
import { UsageError } from '../core/errors.ts';
import { formatLine, type Parity } from '../links/link.ts';
import {
  DEFAULT_BAUD_RATES,
  DEFAULT_PARITIES,
  discoverMeter,
  serialDiscoveryPort,
  tcpDiscoveryPort,
  type Discovery,
  type DiscoveryPort,
  type DiscoveryProgress,
} from '../targets/discover.ts';
import { draftTargetProfile, type DraftConnection } from '../targets/draft-profile.ts';
import { EXIT, oneLine, type ExitCode } from './exit.ts';
import type { CliIo } from './program.ts';
import { parseHostPort } from './simulate.ts';

export interface DiscoverCommandOptions {
  readonly port?: string;
  readonly tcp?: string;
  readonly out: string;
  readonly force?: boolean;
  readonly address?: string;
  readonly baud?: string;
  readonly parity?: string;
  readonly timeout?: number;
  readonly attempts?: number;
  readonly maxSilent?: number;
  readonly only?: string;
  readonly include1997?: boolean;
  readonly exhaustive?: boolean;
  readonly name?: string;
}

/** Serial rates a USB-RS485 adapter is asked for (DL/T 645 feature words cover 600..19200, PROTOCOLS.md 1.6). */
const MIN_BAUD = 300;
const MAX_BAUD = 115_200;
const PARITIES: readonly Parity[] = ['even', 'none', 'odd'];
/** Non-TTY progress: a line every this many identifiers, or after this long without one. */
const PROGRESS_EVERY = 100;
const PROGRESS_MAX_QUIET_MS = 10_000;
/** TTY progress: redraw at most this often. */
const PROGRESS_REDRAW_MS = 200;

export function parseBaudList(text: string): number[] {
  const rates = text.split(',').map((s) => s.trim());
  if (rates.length === 0 || rates.some((r) => !/^\d+$/.test(r) || Number(r) < MIN_BAUD || Number(r) > MAX_BAUD)) {
    throw new UsageError(`--baud must be rates between ${MIN_BAUD} and ${MAX_BAUD} separated by commas, e.g. 2400,9600; got "${text}"`);
  }
  return [...new Set(rates.map(Number))];
}

export function parseParityList(text: string): Parity[] {
  const list = text.split(',').map((s) => s.trim().toLowerCase());
  if (list.length === 0 || list.some((p) => !PARITIES.includes(p as Parity))) {
    throw new UsageError(`--parity must be even, none or odd, separated by commas, e.g. even,none; got "${text}"`);
  }
  return [...new Set(list as Parity[])];
}

export function parsePrefixes(text: string): string[] {
  const list = text.split(',').map((s) => s.trim().toUpperCase());
  if (list.length === 0 || list.some((p) => !/^[0-9A-F]{1,8}$/.test(p))) {
    throw new UsageError(`--only must be hex identifier prefixes (1 to 8 digits) separated by commas, e.g. 0001,0201,04000401; got "${text}"`);
  }
  return list;
}

export async function discoverCommand(opts: DiscoverCommandOptions, io: CliIo, clock: Clock = new RealClock()): Promise<ExitCode> {
  // ---- arguments (all checked before anything is opened)
  if ((opts.port === undefined) === (opts.tcp === undefined)) throw new UsageError('give exactly one of --port <path> or --tcp <host:port>');
  if (opts.tcp !== undefined && (opts.baud !== undefined || opts.parity !== undefined)) {
    throw new UsageError("--baud and --parity apply to --port only: behind a TCP serial server the line settings are the server's");
  }
  if (opts.address !== undefined && !/^\d{12}$/.test(opts.address)) throw new UsageError(`--address must be 12 decimal digits, got "${opts.address}"`);
  if (opts.name !== undefined && !/^[A-Za-z0-9][A-Za-z0-9._-]*$/.test(opts.name)) {
    throw new UsageError(`--name may use letters, digits, ".", "_" and "-" (it names report folders); got "${opts.name}"`);
  }
  const baudRates = opts.baud !== undefined ? parseBaudList(opts.baud) : DEFAULT_BAUD_RATES;
  const parities = opts.parity !== undefined ? parseParityList(opts.parity) : DEFAULT_PARITIES;
  const prefixes = opts.only !== undefined ? parsePrefixes(opts.only) : undefined;
  if (existsSync(opts.out) && !opts.force) throw new UsageError(`${opts.out} exists; give --force to overwrite it, or another --out`);

  let port: DiscoveryPort;
  let connection: DraftConnection;
  if (opts.port !== undefined) {
    port = serialDiscoveryPort(opts.port);
    connection = { type: 'serial', path: opts.port };
  } else {
    const { host, port: tcpPort } = parseHostPort(opts.tcp!);
    if (tcpPort === 0) throw new UsageError('--tcp needs the serial server\'s port, not 0');
    port = tcpDiscoveryPort(host, tcpPort);
    connection = { type: 'tcp', host, port: tcpPort };
  }

  // ---- discovery, with progress on stderr
  const progress = new ProgressRenderer(io.stderr, clock);
  let d: Discovery;
  try {
    d = await discoverMeter({
      port,
      clock,
      baudRates,
      parities,
      ...(opts.address !== undefined ? { address: opts.address } : {}),
      ...(opts.timeout !== undefined ? { timeoutMs: opts.timeout } : {}),
      ...(opts.attempts !== undefined ? { attempts: opts.attempts } : {}),
      ...(opts.maxSilent !== undefined ? { maxSilent: opts.maxSilent } : {}),
      ...(prefixes !== undefined ? { prefixes } : {}),
      ...(opts.include1997 ? { include1997: true } : {}),
      ...(opts.exhaustive ? { exhaustive: true } : {}),
      onProgress: (p) => progress.update(p),
    });
  } finally {
    progress.end();
  }

  // ---- the draft: validated by the loader, then written without overwriting
  const draft = draftTargetProfile(d, { connection, ...(opts.name !== undefined ? { name: opts.name } : {}) });
  mkdirSync(dirname(opts.out), { recursive: true });
  try {
    writeFileSync(opts.out, draft.text, { flag: opts.force ? 'w' : 'wx' });
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'EEXIST') throw new UsageError(`${opts.out} appeared while discovering; give --force to overwrite it, or another --out`);
    throw new UsageError(`cannot write ${opts.out}: ${oneLine((e as Error).message)}`);
  }

  io.stdout.write(summary(d, opts.out, draft.profile.meter.capabilities));
  io.stderr.write(`meterlab: review ${opts.out} before certifying:\n${draft.review.map((r) => `  - ${oneLine(r)}\n`).join('')}`);
  return EXIT.ok;
}

// ---------------------------------------------------------------------------------------------
// Rendering

function seconds(ms: number): string {
  const s = Math.round(ms / 1000);
  if (s < 60) return `${(ms / 1000).toFixed(1)} s`;
  return `${Math.floor(s / 60)} min ${s % 60} s`;
}

function clockText(ms: number): string {
  const s = Math.max(0, Math.round(ms / 1000));
  return `${Math.floor(s / 60)}:${String(s % 60).padStart(2, '0')}`;
}

function ordinal(n: number): string {
  const suffix = n % 100 >= 11 && n % 100 <= 13 ? 'th' : (['th', 'st', 'nd', 'rd'][n % 10] ?? 'th');
  return `${n}${suffix}`;
}

/** Progress on stderr: one line per line setting tried; for identifiers a redrawn line on a TTY, a periodic line otherwise. */
class ProgressRenderer {
  private readonly tty: boolean;
  private open = false;
  private lastAt = -Infinity;
  private lastDone = 0;
  private scanStartedAt: number | undefined;

  constructor(
    private readonly out: Writable,
    private readonly clock: Clock,
  ) {
    this.tty = (out as Writable & { isTTY?: boolean }).isTTY === true;
  }

  update(p: DiscoveryProgress): void {
    if (p.phase === 'line') {
      this.finishLine();
      this.out.write(`meterlab: ${p.trial.line ? formatLine(p.trial.line) : 'tcp'}: ${p.trial.outcome} (${p.trial.detail}) [${p.index + 1}/${p.total}]\n`);
      return;
    }
    const now = this.clock.now();
    this.scanStartedAt ??= now;
    const last = p.done === p.total;
    const text = this.identifierText(p, now);
    if (this.tty) {
      if (!last && now - this.lastAt < PROGRESS_REDRAW_MS) return;
      this.out.write(`\r\u001b[K${text}`);
      this.open = true;
      this.lastAt = now;
      if (last) this.finishLine();
      return;
    }
    if (last || p.done - this.lastDone >= PROGRESS_EVERY || now - this.lastAt >= PROGRESS_MAX_QUIET_MS) {
      this.out.write(`${text}\n`);
      this.lastAt = now;
      this.lastDone = p.done;
    }
  }

  end(): void {
    this.finishLine();
  }

  private finishLine(): void {
    if (this.open) this.out.write('\n');
    this.open = false;
  }

  private identifierText(p: Extract<DiscoveryProgress, { phase: 'identifiers' }>, now: number): string {
    const c = p.counts;
    const elapsed = now - (this.scanStartedAt ?? now);
    const left = p.done > 0 ? (elapsed / p.done) * (p.total - p.done) : 0;
    const pct = Math.floor((100 * p.done) / p.total);
    return (
      `meterlab: identifiers ${p.done}/${p.total} (${pct}%) ${p.probe.di}: ${c.supported} data, ${c.unsupported} no data, ` +
      `${c.error} error, ${c.invalid} invalid, ${c.silent} silent — ${clockText(elapsed)} elapsed` +
      (p.done < p.total ? `, about ${clockText(left)} left` : '')
    );
  }
}

function summary(d: Discovery, out: string, caps: Record<string, boolean>): string {
  const lines: string[] = [];
  const found = d.lineTrials.length;
  if (d.line) {
    lines.push(`meter ${d.address} on ${d.port} at ${formatLine(d.line)} (the ${ordinal(found)} line setting tried, ${seconds(d.timing.lineMs)})`);
  } else {
    lines.push(`meter ${d.address} on ${d.port} (line settings are the serial server's; ${seconds(d.timing.lineMs)})`);
  }
  lines.push(`address ${d.address}: ${d.addressFrom === 'wildcard' ? 'from read address (13H) to AAAAAAAAAAAA' : 'answers reads addressed to it'}`);
  for (const n of d.addressNotes) lines.push(`  - ${n}`);
  const probes2007 = d.identifiers.filter((p) => p.edition === '2007');
  const decoded = probes2007.filter((p) => p.status === 'supported' && p.decoded).length;
  const per = d.timing.probed > 0 ? ` (${Math.round(d.timing.scanMs / d.timing.probed)} ms each` : ' (';
  const td = d.timing.medianResponseDelayMs !== undefined ? `, Td median ${Math.round(d.timing.medianResponseDelayMs)} ms` : '';
  const c = d.counts;
  lines.push(
    `identifiers: ${d.timing.probed} probed in ${seconds(d.timing.scanMs)}${per}${td}, timeout ${d.timing.timeoutMs} ms): ` +
      `${c.supported} answered with data (${d.followUp.length} with follow-up frames, ${decoded} decoded by the dictionary), ` +
      `${c.unsupported} "no requested data", ${c.error} other error(s), ${c.invalid} invalid reply(ies), ${c.silent} silent`,
  );
  lines.push(`unsupported identifier: ${d.unsupportedIdentifier.di} — ${d.unsupportedIdentifier.note}`);
  const on = Object.entries(caps).filter(([, v]) => v).map(([k]) => k);
  const off = Object.entries(caps).filter(([, v]) => !v).map(([k]) => k);
  lines.push(`capabilities: true ${on.join(', ') || '(none)'}; false ${off.join(', ') || '(none)'} (review)`);
  for (const n of d.notes) lines.push(`note: ${n}`);
  lines.push(`draft profile written to ${out} (validated); review it, then: meterlab run --target ${out}`);
  return `${lines.join('\n')}\n`;
}
