/**
 * `npx meterlab ...` (npm exec) and `npm run meterlab -- ...` start the command as
 * `npm → sh -c '...' → node`, and npm 11 forwards SIGINT/SIGTERM only to that `sh`, which dies
 * without passing the signal on (dash does not exec the command). A CI timeout that sends SIGTERM
 * to the npx process therefore used to leave the run going in the background.
 *
 * So when npm started us (npm sets `npm_command`), we watch the chain of processes from our
 * parent up to that npm process: when any of them ends, we send ourselves SIGTERM, and the
 * command's own SIGTERM handling (run: clean up and exit 143) takes over. Linux only (/proc);
 * elsewhere nothing is watched.
 */
import type { Clock } from '../core/clock.ts';
import { readProcess, type ProcessInfo } from './process-tree.ts';

/** How often the chain is looked at: the run ends within about this long after npm. */
export const LAUNCHER_POLL_MS = 50;
/** How far up to look for npm (npm → sh → tsx → node is three levels). */
const MAX_DEPTH = 8;

/** True for the npm CLI's process: npm sets its title to "npm <command> ...". */
function isNpm(p: ProcessInfo): boolean {
  return p.name === 'npm' || p.name.startsWith('npm ');
}

/**
 * The processes from our parent up to and including the npm process that started us, or an
 * empty list when npm did not start us (or /proc cannot tell).
 */
export function npmLauncherChain(env: NodeJS.ProcessEnv = process.env, start: number = process.ppid): ProcessInfo[] {
  if (!env.npm_command) return [];
  const chain: ProcessInfo[] = [];
  let pid = start;
  for (let depth = 0; depth < MAX_DEPTH && pid > 1; depth++) {
    const p = readProcess(pid);
    if (!p) return [];
    chain.push(p);
    if (isNpm(p)) return chain;
    pid = p.ppid;
  }
  return [];
}

function alive(p: ProcessInfo): boolean {
  const now = readProcess(p.pid);
  return now !== null && !now.zombie && now.startTime === p.startTime;
}

/**
 * Watches the npm launcher chain; calls `onLost` once (default: SIGTERM to ourselves) when a
 * process of it ends. Returns the function that stops watching.
 */
export function watchNpmLauncher(clock: Clock, onLost: () => void = () => process.kill(process.pid, 'SIGTERM')): () => void {
  const chain = npmLauncherChain();
  if (chain.length === 0) return () => undefined;
  const parent = process.ppid;
  let timer = clock.setTimeout(tick, LAUNCHER_POLL_MS);
  let stopped = false;
  function tick(): void {
    if (stopped) return;
    if (process.ppid !== parent || !chain.every(alive)) {
      stopped = true;
      onLost();
      return;
    }
    timer = clock.setTimeout(tick, LAUNCHER_POLL_MS);
  }
  return () => {
    stopped = true;
    clock.clearTimeout(timer);
  };
}
