/**
 * A pair of connected Linux pseudo-terminals made by socat, to drive the REAL serialport
 * binding end to end without hardware:
 *
 *   socat -d -d pty,raw,echo=0,link=<dir>/a pty,raw,echo=0,link=<dir>/b
 *
 * What ptys do NOT model (TOOLCHAIN.md): they accept 2400 baud and even parity but ignore
 * parity and do not pace bytes at the baud rate, and modem-line ioctls (DTR/RTS) fail with
 * "Inappropriate ioctl". Test timing, parity and modem lines on the bus/mock layers.
 *
 * Always `close()` the pair (afterEach/finally); a process exit hook kills any socat left over.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { accessSync, constants, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { delimiter, join } from 'node:path';
import { RealClock, type Clock } from '../core/clock.ts';
import { LinkError } from '../core/errors.ts';

export interface PtyPair {
  /** Path of one end (a symlink to /dev/pts/N). */
  readonly a: string;
  /** Path of the other end. */
  readonly b: string;
  /** socat's process id. */
  readonly pid: number;
  /** Kills socat and removes the symlinks' folder. Safe to call twice. */
  close(): Promise<void>;
}

export const SOCAT_MISSING = 'socat is not installed: apt-get install socat';

/** True when `socat` is on PATH (tests skip the pty tests otherwise, naming the install). */
export function socatAvailable(): boolean {
  for (const dir of (process.env.PATH ?? '').split(delimiter)) {
    if (!dir) continue;
    try {
      accessSync(join(dir, 'socat'), constants.X_OK);
      return true;
    } catch {
      // keep looking
    }
  }
  return false;
}

const live = new Set<ChildProcess>();
let exitHookInstalled = false;

function installExitHook(): void {
  if (exitHookInstalled) return;
  exitHookInstalled = true;
  process.once('exit', () => {
    for (const child of live) child.kill('SIGKILL');
  });
}

export interface PtyPairOptions {
  /** How long socat may take to set up both ends. Default 5000 ms (on `clock`). */
  readonly timeoutMs?: number;
  /** Clock for the start-up timeout; default a RealClock (ptys are real devices). */
  readonly clock?: Clock;
}

/** Starts socat and resolves once both pty symlinks exist and bytes can flow. */
export function startPtyPair(opts: PtyPairOptions = {}): Promise<PtyPair> {
  if (!socatAvailable()) return Promise.reject(new LinkError(SOCAT_MISSING));
  const clock = opts.clock ?? new RealClock();
  const timeoutMs = opts.timeoutMs ?? 5000;
  const dir = mkdtempSync(join(tmpdir(), 'meterlab-pty-'));
  const a = join(dir, 'a');
  const b = join(dir, 'b');
  const child = spawn('socat', ['-d', '-d', `pty,raw,echo=0,link=${a}`, `pty,raw,echo=0,link=${b}`], {
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  live.add(child);
  installExitHook();
  const exited = new Promise<void>((resolve) => {
    if (child.exitCode !== null || child.signalCode !== null) resolve();
    else child.once('exit', () => resolve());
  });
  child.once('exit', () => live.delete(child));

  let closing: Promise<void> | undefined;
  const close = (): Promise<void> => {
    closing ??= (async () => {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
      await exited;
      rmSync(dir, { recursive: true, force: true });
    })();
    return closing;
  };

  return new Promise<PtyPair>((resolve, reject) => {
    let stderr = '';
    let settled = false;
    const fail = (message: string): void => {
      if (settled) return;
      settled = true;
      clock.clearTimeout(timer);
      void close().then(() => reject(new LinkError(message)));
    };
    const timer = clock.setTimeout(() => fail(`socat did not set up a pty pair within ${timeoutMs} ms: ${stderr.trim()}`), timeoutMs);
    child.once('error', (e) => fail(`cannot start socat: ${e.message}`));
    child.once('exit', (code, signal) => fail(`socat exited (${signal ?? code}) before the pty pair was ready: ${stderr.trim()}`));
    child.stderr?.setEncoding('utf8');
    child.stderr?.on('data', (text: string) => {
      if (settled) return;
      stderr += text;
      // socat -d -d logs "starting data transfer loop" once both ptys exist.
      if (stderr.includes('starting data transfer loop')) {
        settled = true;
        clock.clearTimeout(timer);
        // Keep draining stderr so socat never blocks on a full pipe.
        child.stderr?.resume();
        resolve({ a, b, pid: child.pid ?? -1, close });
      }
    });
  });
}
