/** Helpers for the CLI's own tests: run `node bin/meterlab.js ...` as a user would. */
import { spawn } from 'node:child_process';
import { PassThrough, Readable } from 'node:stream';
import { readFileSync } from 'node:fs';
import { connect, type Socket } from 'node:net';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { expect } from 'vitest';
import { toHex } from '../core/bytes.ts';
import { RealClock } from '../core/clock.ts';
import { decode } from '../protocols/dlt645/index.ts';
import { runCli } from './program.ts';

const clock = new RealClock();

export const REPO = fileURLToPath(new URL('../..', import.meta.url));
const BIN = join(REPO, 'bin', 'meterlab.js');

export interface CliRun {
  readonly code: number | null;
  readonly stdout: string;
  readonly stderr: string;
}

export function meterlab(args: readonly string[], options: { input?: string; env?: Record<string, string> } = {}): Promise<CliRun> {
  return new Promise((resolve, reject) => {
    const env: NodeJS.ProcessEnv = { ...process.env, ...options.env };
    delete env.METERLAB_DEBUG;
    delete env.METERLAB_TARGET;
    delete env.METERLAB_OUT;
    const child = spawn(process.execPath, [BIN, ...args], { cwd: REPO, env, stdio: ['pipe', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (c: Buffer) => (stdout += c.toString('utf8')));
    child.stderr.on('data', (c: Buffer) => (stderr += c.toString('utf8')));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout, stderr }));
    child.stdin.end(options.input ?? '');
  });
}

/** Exactly one line on stderr, starting "meterlab: ", and no stack frame. */
export function expectOneErrorLine(r: CliRun): string {
  const lines = r.stderr.split('\n').filter(Boolean);
  expect(lines, r.stderr).toHaveLength(1);
  expect(lines[0]).toMatch(/^meterlab: /);
  expect(r.stderr).not.toMatch(/\n\s+at /);
  return lines[0]!;
}


export interface RunningMeterlab {
  readonly child: import('node:child_process').ChildProcessWithoutNullStreams;
  /** Everything written to stderr so far. */
  stderr(): string;
  /** Resolves with the first stderr line matching `pattern` (rejects after `timeoutMs`). */
  waitFor(pattern: RegExp, timeoutMs?: number): Promise<string>;
  /** Resolves with the exit code. */
  exited: Promise<number | null>;
}

/** Starts `node bin/meterlab.js ...` and keeps it running (simulate). Kill it with child.kill(). */
export function startMeterlab(args: readonly string[]): RunningMeterlab {
  const env: NodeJS.ProcessEnv = { ...process.env };
  delete env.METERLAB_DEBUG;
  const child = spawn(process.execPath, [BIN, ...args], { cwd: REPO, env, stdio: ['pipe', 'pipe', 'pipe'] });
  let err = '';
  const waiters: { pattern: RegExp; resolve: (line: string) => void }[] = [];
  const check = (): void => {
    for (const w of [...waiters]) {
      const line = err.split('\n').find((l) => w.pattern.test(l));
      if (line !== undefined) {
        waiters.splice(waiters.indexOf(w), 1);
        w.resolve(line);
      }
    }
  };
  child.stderr.on('data', (c: Buffer) => {
    err += c.toString('utf8');
    check();
  });
  child.stdout.resume();
  const exited = new Promise<number | null>((resolve) => child.on('close', (code) => resolve(code)));
  return {
    child,
    stderr: () => err,
    exited,
    waitFor(pattern, timeoutMs = 20_000) {
      return new Promise<string>((resolve, reject) => {
        const timer = clock.setTimeout(() => reject(new Error(`no stderr line matching ${pattern} within ${timeoutMs} ms; stderr so far:\n${err}`)), timeoutMs);
        waiters.push({
          pattern,
          resolve: (line) => {
            clock.clearTimeout(timer);
            resolve(line);
          },
        });
        check();
        void exited.then(() => {
          check();
          const i = waiters.findIndex((w) => w.pattern === pattern);
          if (i >= 0) {
            waiters.splice(i, 1);
            clock.clearTimeout(timer);
            reject(new Error(`meterlab exited before printing ${pattern}; stderr:\n${err}`));
          }
        });
      });
    },
  };
}

/** A TCP client of `meterlab simulate --tcp` on 127.0.0.1. */
export function connectTo(port: number): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const s = connect(port, '127.0.0.1', () => resolve(s));
    s.once('error', reject);
  });
}

/** Sends a request and collects bytes until one whole DL/T 645 frame has arrived. */
export function exchange(socket: Socket, request: Uint8Array, timeoutMs = 5000): Promise<Uint8Array> {
  return new Promise((resolve, reject) => {
    let got = Buffer.alloc(0);
    const timer = clock.setTimeout(() => {
      socket.off('data', onData);
      reject(new Error(`no reply; got ${toHex(got)}`));
    }, timeoutMs);
    const onData = (chunk: Buffer): void => {
      got = Buffer.concat([got, chunk]);
      if (decode(got).ok) {
        clock.clearTimeout(timer);
        socket.off('data', onData);
        resolve(new Uint8Array(got));
      }
    };
    socket.on('data', onData);
    socket.write(request);
  });
}

/** Resident memory of a process in KiB (Linux /proc): now, and the peak so far. */
export function memoryOf(pid: number): { rssKiB: number; peakKiB: number } {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const field = (name: string): number => Number(new RegExp(`^${name}:\\s+(\\d+) kB`, 'm').exec(status)?.[1] ?? NaN);
  return { rssKiB: field('VmRSS'), peakKiB: field('VmHWM') };
}

/** Ends a `startMeterlab` process if it is still running (SIGKILL unless told) and waits for its exit. */
export async function stopMeterlab(sim: RunningMeterlab | undefined, signal: NodeJS.Signals = 'SIGKILL'): Promise<void> {
  if (sim && sim.child.exitCode === null) {
    sim.child.kill(signal);
    await sim.exited;
  }
}

/** A checked-in profile of suites/profiles (parsed JSON) with its serial connection pointed at `path`, a test's pty. */
export function checkedInProfileOn<T extends { connection: { path: string } }>(file: string, path: string): T {
  const profile = JSON.parse(readFileSync(join(REPO, 'suites', 'profiles', file), 'utf8')) as T;
  profile.connection.path = path;
  return profile;
}

/** Runs a command in this process (argument checks need no child process): exit code, stdout, stderr. */
export async function inProcess(args: readonly string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  const out = new PassThrough();
  const err = new PassThrough();
  let stdout = '';
  let stderr = '';
  out.on('data', (c: Buffer) => (stdout += c.toString('utf8')));
  err.on('data', (c: Buffer) => (stderr += c.toString('utf8')));
  const code = await runCli(['node', 'meterlab', ...args], { stdin: Readable.from([]), stdout: out, stderr: err });
  return { code, stdout, stderr };
}

/** A stderr stream for an in-process run: its text so far, and a promise per line it must come to show. */
export function capturedStderr(): { err: PassThrough; text: () => string; line: (text: string) => Promise<void> } {
  const err = new PassThrough();
  let stderr = '';
  const waiting: { text: string; resolve: () => void }[] = [];
  err.on('data', (c: Buffer) => {
    stderr += c.toString('utf8');
    for (const w of waiting.filter((x) => stderr.includes(x.text))) w.resolve();
  });
  const line = (text: string): Promise<void> => new Promise((resolve) => (stderr.includes(text) ? resolve() : waiting.push({ text, resolve })));
  return { err, text: () => stderr, line };
}
