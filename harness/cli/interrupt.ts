/**
 * SIGINT and SIGTERM during `meterlab run`.
 *
 * The first signal prints one line on stderr (`meterlab: interrupted (SIGINT) — previous report
 * in <dir> left intact`), asks vitest to stop scheduling, ends every process the command
 * started (SIGTERM, then SIGKILL for what still runs after DEFAULT_GRACE_MS), removes the run's
 * temporary folder and exits 128 + the signal number (130 for SIGINT, 143 for SIGTERM), as a
 * shell reports a process killed by that signal. A second signal during that cleanup ends at once (SIGKILL to
 * the process tree, same exit code).
 *
 * The finished report's move into place is synchronous, so a signal never finds the folder
 * half-replaced (see commit()).
 *
 * Once interrupted, errors thrown by what is being torn down are swallowed (METERLAB_DEBUG=1
 * prints them). An 'exit' handler covers every other way out (vitest's own signal handler, an
 * unexpected process.exit): it kills what is left of the process tree and removes the
 * temporary folder.
 */
import type { Writable } from 'node:stream';
import type { Clock } from '../core/clock.ts';
import { debugEnabled } from './exit.ts';
import { descendants, isRunning, signalAll } from './process-tree.ts';
import { discardTempReport, discardTempReportSync, type TempReport } from './out-dir.ts';

/** Exit codes for a run ended by a signal: 128 + the signal number (POSIX shells' convention). */
export const SIGNAL_EXIT_CODES = { SIGINT: 130, SIGTERM: 143 } as const;
export type HandledSignal = keyof typeof SIGNAL_EXIT_CODES;
const HANDLED: readonly HandledSignal[] = ['SIGINT', 'SIGTERM'];

/**
 * How long the processes of the tree get to end on SIGTERM before SIGKILL: short, so that with
 * npx in front (launcher-watch.ts) the whole tree is gone within a second of npx.
 */
export const DEFAULT_GRACE_MS = 300;
/** How often the cleanup looks whether they have ended. */
const POLL_MS = 25;

export interface RunGuardOptions {
  readonly stderr: Writable;
  /** The report folder as shown to the user. */
  readonly outLabel: string;
  /** True when --out holds a previous report (the line then says it was left intact). */
  readonly previousReport: boolean;
  readonly clock: Clock;
  /** Ends the process (default process.exit). */
  readonly exit?: (code: number) => void;
  /** SIGTERM-to-SIGKILL grace for the process tree (default DEFAULT_GRACE_MS). */
  readonly graceMs?: number;
}

export class RunGuard {
  private temp: TempReport | null = null;
  private stopVitest: (() => void) | null = null;
  private signal: HandledSignal | null = null;
  private done = false;
  private finished = false;
  /**
   * Every process of the tree seen since the first signal: one whose parent has ended is
   * re-parented away from us, and is no longer found as a descendant.
   */
  private readonly seen = new Map<number, number>(); // pid → start time
  private readonly exit: (code: number) => void;
  private readonly listener = (s: NodeJS.Signals): void => this.receive(s as HandledSignal);
  private readonly onExit = (): void => this.lastResort();
  /**
   * While the tree is being ended, vitest may still talk to a worker that is gone (EPIPE on its
   * IPC channel, emitted as an 'error' nobody handles): not news, and no reason for a stack.
   */
  private readonly swallow = (e: unknown): void => {
    if (debugEnabled()) this.options.stderr.write(`${e instanceof Error ? (e.stack ?? e.message) : String(e)}\n`);
  };

  constructor(private readonly options: RunGuardOptions) {
    this.exit = options.exit ?? ((code) => process.exit(code));
  }

  /** True once a signal has arrived: the run must write nothing more. */
  get interrupted(): boolean {
    return this.signal !== null;
  }

  install(): void {
    for (const s of HANDLED) process.on(s, this.listener);
    process.on('exit', this.onExit);
  }

  /**
   * Removes every other SIGINT/SIGTERM listener (vitest's logger installs one that calls
   * process.exit() a millisecond later, which would skip this cleanup).
   */
  claimSignals(): void {
    for (const s of HANDLED) {
      for (const l of process.listeners(s)) if (l !== this.listener) process.off(s, l as (...a: unknown[]) => void);
    }
  }

  /** The run's temporary folder: removed if the run is interrupted. */
  setTemp(temp: TempReport): void {
    this.temp = temp;
  }

  /** How to tell vitest to stop scheduling tests. */
  setStopper(stop: () => void): void {
    this.stopVitest = stop;
  }

  /**
   * Runs `move`, the report's move into place. It is synchronous (a few renames), and Node runs
   * signal listeners only between turns of the event loop: a signal is handled either before it
   * starts (the previous report is intact, the new one discarded) or after the run has finished.
   */
  async commit(move: () => void): Promise<void> {
    await this.checkpoint();
    try {
      move();
    } finally {
      this.temp = null; // in place now, or kept where the move's error says
    }
  }

  /** Resolves normally; never resolves once interrupted (the cleanup ends the process). */
  async checkpoint(): Promise<void> {
    if (this.signal !== null) await new Promise<never>(() => undefined);
  }

  /** The run ended normally (or failed with an error): stop listening. */
  dispose(): void {
    this.done = true;
    for (const s of HANDLED) process.off(s, this.listener);
    process.off('exit', this.onExit);
  }

  /** Handles one SIGINT/SIGTERM (the process listener calls this; so can a test). */
  receive(signal: HandledSignal): void {
    if (this.signal !== null) {
      // A second signal: end now.
      signalAll(this.tree(), 'SIGKILL');
      this.finish(SIGNAL_EXIT_CODES[signal]);
      return;
    }
    this.signal = signal;
    process.on('uncaughtException', this.swallow);
    process.on('unhandledRejection', this.swallow);
    const what = this.options.previousReport ? `previous report in ${this.options.outLabel} left intact` : `no report written to ${this.options.outLabel}`;
    this.options.stderr.write(`meterlab: interrupted (${signal}) — ${what}\n`);
    void this.cleanUp(SIGNAL_EXIT_CODES[signal]);
  }

  private async cleanUp(code: number): Promise<void> {
    try {
      this.stopVitest?.();
    } catch {
      // vitest may be half-started; the processes are ended below anyway
    }
    await this.endProcessTree();
    if (this.temp) {
      try {
        await discardTempReport(this.temp);
      } catch {
        // the 'exit' handler tries once more
      }
    }
    this.finish(code);
  }

  /** SIGTERM to every process the command started; SIGKILL to what still runs after the grace. */
  private async endProcessTree(): Promise<void> {
    const { clock } = this.options;
    signalAll(this.tree(), 'SIGTERM');
    const deadline = clock.now() + (this.options.graceMs ?? DEFAULT_GRACE_MS);
    while (this.tree().length > 0 && clock.now() < deadline) await clock.sleep(POLL_MS);
    // What still runs, and what was started meanwhile (a worker vitest spawned before it heard).
    signalAll(this.tree(), 'SIGKILL');
    const killDeadline = clock.now() + DEFAULT_GRACE_MS;
    while (this.tree().length > 0 && clock.now() < killDeadline) await clock.sleep(POLL_MS);
  }

  /** The processes of the tree still running: those seen so far plus the descendants now. */
  private tree(): number[] {
    for (const p of descendants()) if (!this.seen.has(p.pid)) this.seen.set(p.pid, p.startTime);
    return [...this.seen].filter(([pid, startTime]) => isRunning(pid, startTime)).map(([pid]) => pid);
  }

  private finish(code: number): void {
    if (this.finished) return;
    this.finished = true;
    this.dispose();
    this.exit(code);
  }

  private lastResort(): void {
    if (this.done) return;
    signalAll(this.tree(), 'SIGKILL');
    if (this.temp) discardTempReportSync(this.temp);
  }
}
