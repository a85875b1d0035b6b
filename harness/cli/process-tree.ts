/**
 * The process tree of the `meterlab` command, read from /proc (Linux; elsewhere from `ps`), so
 * an interrupted run can end every process it started (vitest's fork workers, the Allure
 * generator, anything a suite spawned) and not only its direct children.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync } from 'node:fs';

export interface ProcessInfo {
  readonly pid: number;
  readonly ppid: number;
  /** The kernel's short name (comm, at most 15 characters; a Node process's title). */
  readonly name: string;
  /** Start time in clock ticks since boot: with the pid, identifies one process (pids are reused). */
  readonly startTime: number;
  /** A zombie has exited and waits only for its parent to collect its status. */
  readonly zombie: boolean;
}

const HAS_PROC = existsSync('/proc/self/stat');

/** One process from /proc/<pid>/stat, or null when it is gone (or on a system without /proc). */
export function readProcess(pid: number): ProcessInfo | null {
  if (!HAS_PROC) return null;
  let stat: string;
  try {
    stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  } catch {
    return null;
  }
  // "pid (comm) state ppid pgrp ... starttime(22nd field) ...": comm may hold spaces and ")".
  const open = stat.indexOf('(');
  const close = stat.lastIndexOf(')');
  const fields = stat.slice(close + 2).split(' ');
  return {
    pid,
    ppid: Number(fields[1]),
    name: stat.slice(open + 1, close),
    startTime: Number(fields[19]),
    zombie: fields[0] === 'Z' || fields[0] === 'X',
  };
}

function allProcesses(): { pid: number; ppid: number; zombie: boolean; startTime: number }[] {
  if (HAS_PROC) {
    const out: ProcessInfo[] = [];
    for (const name of readdirSync('/proc')) {
      if (!/^\d+$/.test(name)) continue;
      const p = readProcess(Number(name));
      if (p) out.push(p);
    }
    return out;
  }
  try {
    const text = execFileSync('ps', ['-A', '-o', 'pid=,ppid=,stat='], { encoding: 'utf8' });
    return text
      .split('\n')
      .map((l) => l.trim().split(/\s+/))
      .filter((f) => f.length >= 2 && /^\d+$/.test(f[0]!))
      .map((f) => ({ pid: Number(f[0]), ppid: Number(f[1]), zombie: (f[2] ?? '').startsWith('Z'), startTime: 0 }));
  } catch {
    return [];
  }
}

/** One process as seen once: its pid and start time (0 where /proc cannot tell). */
export interface ProcessId {
  readonly pid: number;
  readonly startTime: number;
}

/** Every live (not zombie) descendant of `root`, parents before their children. */
export function descendants(root: number = process.pid): ProcessId[] {
  const children = new Map<number, ProcessId[]>();
  for (const p of allProcesses()) {
    if (p.zombie) continue;
    const list = children.get(p.ppid);
    const id = { pid: p.pid, startTime: p.startTime };
    if (list) list.push(id);
    else children.set(p.ppid, [id]);
  }
  const out: ProcessId[] = [];
  const queue = [...(children.get(root) ?? [])];
  while (queue.length > 0) {
    const p = queue.shift()!;
    out.push(p);
    queue.push(...(children.get(p.pid) ?? []));
  }
  return out;
}

/**
 * True while the process runs (a zombie counts as ended); with a start time, only while the pid
 * still names that same process (pids are reused).
 */
export function isRunning(pid: number, startTime = 0): boolean {
  if (HAS_PROC) {
    const p = readProcess(pid);
    return p !== null && !p.zombie && (startTime === 0 || p.startTime === startTime);
  }
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/** Sends `signal` to each pid that still runs; never throws (a process may end meanwhile). */
export function signalAll(pids: readonly number[], signal: NodeJS.Signals): void {
  for (const pid of pids) {
    try {
      process.kill(pid, signal);
    } catch {
      // already gone
    }
  }
}
