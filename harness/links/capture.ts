/**
 * Traffic capture (ARCHITECTURE.md "Every byte on every link can be captured").
 *
 * `CaptureTap` wraps a link and records every chunk in either direction:
 *   { t: ISO-8601 from the clock, ms: epoch ms, link, dir: 'tx' | 'rx', hex: 'UPPER HEX', decode? }
 * 'tx' is what our side wrote, 'rx' what it received. The one-line `decode` comes from a
 * caller's `describe(bytes, dir)` (this layer knows no protocol). Chunks split frames anywhere
 * (one byte per chunk on the bus model in byte delivery), so a tap can coalesce same-direction
 * chunks that follow each other within `coalesceMs` into one record, and `coalesceCapture()`
 * does the same to recorded captures afterwards. A chunk that carries its bytes' timing (a frame
 * the bus delivers whole) is stamped with its first byte's arrival, so a capture holds the same
 * records and instants whichever way the bus delivered.
 *
 * Captures are JSON Lines: `JsonlFileCaptureSink` writes them, `readCapture` reads and
 * validates them, `ScriptedPeer` replays one as the far end of a link.
 */
import { createWriteStream, mkdirSync, readFileSync, type WriteStream } from 'node:fs';
import { dirname } from 'node:path';
import { EventEmitter } from 'node:events';
import { concatBytes, parseHex, toHex } from '../core/bytes.ts';
import type { Clock, TimerHandle } from '../core/clock.ts';
import { MeterLabError } from '../core/errors.ts';
import { LinkBase, type ChunkTiming, type Link } from './link.ts';
import { copyBytes, emitErrorIfHeard } from './internal.ts';

export type CaptureDirection = 'tx' | 'rx';

export interface CaptureRecord {
  /** ISO-8601 instant from the clock (millisecond precision). */
  readonly t: string;
  /** Epoch ms from the clock (may be fractional on a modelled line). */
  readonly ms: number;
  readonly link: string;
  readonly dir: CaptureDirection;
  /** Upper-case hex, bytes separated by one space: `68 AA AA 16`. */
  readonly hex: string;
  readonly decode?: string;
}

export type Describe = (bytes: Uint8Array, dir: CaptureDirection) => string | undefined;

/** A capture file or stream that cannot be read or does not have the record shape. */
export class CaptureError extends MeterLabError {
  /** 1-based line number in the file, when the problem is one line. */
  readonly line: number | undefined;
  constructor(message: string, line?: number, options?: { cause?: unknown }) {
    super('capture', message, options);
    this.line = line;
  }
}

export interface CaptureSink {
  write(record: CaptureRecord): void;
  /** Flushes and releases the sink. */
  close(): Promise<void>;
}

export class MemoryCaptureSink implements CaptureSink {
  readonly records: CaptureRecord[] = [];
  write(record: CaptureRecord): void {
    this.records.push(record);
  }
  close(): Promise<void> {
    return Promise.resolve();
  }
}

/** Appends records as JSON Lines to `path` (parent folders are created). */
export class JsonlFileCaptureSink implements CaptureSink {
  readonly path: string;
  private readonly stream: WriteStream;
  private failure: Error | undefined;
  private closing: Promise<void> | undefined;

  constructor(path: string) {
    this.path = path;
    mkdirSync(dirname(path), { recursive: true });
    this.stream = createWriteStream(path, { flags: 'a' });
    this.stream.on('error', (e) => {
      this.failure = e;
    });
  }

  /** Records offered after close(): not written (a late chunk must not crash the run). */
  droppedAfterClose = 0;

  write(record: CaptureRecord): void {
    if (this.closing) {
      this.droppedAfterClose++;
      return;
    }
    this.stream.write(`${JSON.stringify(record)}\n`);
  }

  /** Waits until every record written so far is in the file. */
  close(): Promise<void> {
    this.closing ??= new Promise<void>((resolve, reject) => {
      this.stream.end(() => {
        if (this.failure) reject(new CaptureError(`cannot write capture ${this.path}: ${this.failure.message}`, undefined, { cause: this.failure }));
        else resolve();
      });
    });
    return this.closing;
  }
}

export function captureRecord(
  clock: Clock,
  link: string,
  dir: CaptureDirection,
  bytes: Uint8Array,
  describe?: Describe,
): CaptureRecord {
  const ms = clock.now();
  const decode = describe?.(bytes, dir);
  return { t: new Date(ms).toISOString(), ms, link, dir, hex: toHex(bytes), ...(decode !== undefined && { decode }) };
}

/** Bytes of a record. */
export function recordBytes(record: CaptureRecord): Uint8Array {
  const r = parseHex(record.hex);
  if (!r.ok) throw new CaptureError(`bad hex in capture record: ${r.error.message}`);
  return r.value;
}

export interface CaptureTapOptions {
  readonly link: Link;
  readonly clock: Clock;
  /** One sink or several (e.g. memory for assertions and a file for evidence). */
  readonly sink: CaptureSink | readonly CaptureSink[];
  /** `link` field of the records; default the wrapped link's name. */
  readonly name?: string;
  readonly describe?: Describe;
  /**
   * Merge same-direction chunks arriving less than this many ms apart into one record (stamped
   * with the first chunk's time). Use about 3.5 character times on a modelled serial line.
   */
  readonly coalesceMs?: number;
}

interface Pending {
  readonly dir: CaptureDirection;
  readonly first: number;
  last: number;
  readonly parts: Uint8Array[];
  timer: TimerHandle | undefined;
}

export class CaptureTap extends LinkBase {
  readonly name: string;
  readonly inner: Link;
  private readonly clock: Clock;
  private readonly sinks: readonly CaptureSink[];
  private readonly describe: Describe | undefined;
  private readonly coalesceMs: number;
  private pending: Pending | undefined;
  private closed = false;

  constructor(opts: CaptureTapOptions) {
    super();
    this.inner = opts.link;
    this.clock = opts.clock;
    this.sinks = Array.isArray(opts.sink) ? (opts.sink as readonly CaptureSink[]) : [opts.sink as CaptureSink];
    this.name = opts.name ?? opts.link.name;
    this.describe = opts.describe;
    this.coalesceMs = opts.coalesceMs ?? 0;
    this.inner.on('data', (chunk, timing) => {
      if (this.closed) return;
      this.record('rx', chunk, timing);
      if (timing) this.emit('data', chunk, timing);
      else this.emit('data', chunk);
    });
    this.inner.on('error', (e) => emitErrorIfHeard(this, e));
    this.inner.on('close', () => {
      if (this.closed) return;
      this.flush();
      this.closed = true;
      this.emit('close');
    });
  }

  get isOpen(): boolean {
    return !this.closed && this.inner.isOpen;
  }

  write(bytes: Uint8Array): Promise<void> {
    if (this.isOpen && bytes.length > 0) this.record('tx', copyBytes(bytes));
    return this.inner.write(bytes);
  }

  close(): Promise<void> {
    this.flush();
    return this.inner.close();
  }

  /** Writes out a coalescing record now (normally done by its timer or a direction change). */
  flush(): void {
    const p = this.pending;
    if (!p) return;
    this.pending = undefined;
    this.clock.clearTimeout(p.timer);
    this.emitRecord(p.dir, concatBytes(...p.parts), p.first);
  }

  /**
   * A chunk's record instant is its first byte's arrival: the chunk's `timing` when the link
   * gives it (a frame delivered whole by the bus model), else now. Coalescing gaps are measured
   * from the previous chunk's last byte, so a frame delivered whole is recorded exactly as the
   * same frame delivered byte by byte.
   */
  private record(dir: CaptureDirection, chunk: Uint8Array, timing?: ChunkTiming): void {
    const now = this.clock.now();
    const first = timing ? timing.firstByteAt : now;
    if (this.coalesceMs <= 0) {
      this.emitRecord(dir, chunk, first);
      return;
    }
    const last = timing ? Math.min(now, timing.firstByteAt + (chunk.length - 1) * timing.characterTimeMs) : now;
    const p = this.pending;
    if (p && (p.dir !== dir || first - p.last >= this.coalesceMs)) this.flush();
    if (this.pending) {
      this.pending.parts.push(chunk);
      this.pending.last = last;
      this.clock.clearTimeout(this.pending.timer);
    } else {
      this.pending = { dir, first, last, parts: [chunk], timer: undefined };
    }
    this.pending.timer = this.clock.setTimeout(() => this.flush(), timing ? last + this.coalesceMs - now : this.coalesceMs);
  }

  private emitRecord(dir: CaptureDirection, bytes: Uint8Array, ms: number): void {
    const decode = this.describe?.(bytes, dir);
    const rec: CaptureRecord = {
      t: new Date(ms).toISOString(),
      ms,
      link: this.name,
      dir,
      hex: toHex(bytes),
      ...(decode !== undefined && { decode }),
    };
    for (const s of this.sinks) s.write(rec);
  }
}

/**
 * Merges consecutive records of the same link and direction that are less than `gapMs` apart
 * (measured from the previous chunk) into one, stamped with the first one's time; re-describes
 * merged records when `describe` is given (else keeps the first decode only if nothing merged).
 */
export function coalesceCapture(records: readonly CaptureRecord[], gapMs: number, describe?: Describe): CaptureRecord[] {
  const out: CaptureRecord[] = [];
  let group: CaptureRecord[] = [];
  const close = (): void => {
    if (group.length === 0) return;
    const first = group[0]!;
    if (group.length === 1 && !describe) {
      out.push(first);
    } else {
      const bytes = concatBytes(...group.map(recordBytes));
      const decode = describe ? describe(bytes, first.dir) : undefined;
      out.push({ t: first.t, ms: first.ms, link: first.link, dir: first.dir, hex: toHex(bytes), ...(decode !== undefined && { decode }) });
    }
    group = [];
  };
  for (const r of records) {
    const prev = group[group.length - 1];
    if (prev && (prev.link !== r.link || prev.dir !== r.dir || r.ms - prev.ms >= gapMs)) close();
    group.push(r);
  }
  close();
  return out;
}

/** Checks one parsed JSON value against the record shape; returns a reason or the record. */
export function validateCaptureRecord(value: unknown): CaptureRecord | string {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return 'not a JSON object';
  const v = value as Record<string, unknown>;
  if (typeof v.t !== 'string' || Number.isNaN(Date.parse(v.t))) return '"t" is not an ISO-8601 time';
  if (typeof v.ms !== 'number' || !Number.isFinite(v.ms)) return '"ms" is not a number';
  if (typeof v.link !== 'string' || v.link === '') return '"link" is not a non-empty string';
  if (v.dir !== 'tx' && v.dir !== 'rx') return '"dir" is neither "tx" nor "rx"';
  if (typeof v.hex !== 'string') return '"hex" is not a string';
  const h = parseHex(v.hex);
  if (!h.ok) return `"hex" is not hex: ${h.error.message}`;
  if (v.decode !== undefined && typeof v.decode !== 'string') return '"decode" is not a string';
  return {
    t: v.t,
    ms: v.ms,
    link: v.link,
    dir: v.dir,
    hex: toHex(h.value),
    ...(typeof v.decode === 'string' && { decode: v.decode }),
  };
}

/** Reads a JSON Lines capture. Blank lines are skipped; a bad line throws a CaptureError naming it. */
export function readCapture(path: string): CaptureRecord[] {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (e) {
    const code = (e as { code?: string }).code ?? (e as Error).message;
    throw new CaptureError(`cannot read capture ${path}: ${code}`, undefined, { cause: e });
  }
  return parseCapture(text, path);
}

/** Parses JSON Lines capture text; `source` names it in errors. */
export function parseCapture(text: string, source = 'capture'): CaptureRecord[] {
  const out: CaptureRecord[] = [];
  const lines = text.split('\n');
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i]!.trim();
    if (line === '') continue;
    let value: unknown;
    try {
      value = JSON.parse(line);
    } catch {
      throw new CaptureError(`${source} line ${i + 1}: not valid JSON`, i + 1);
    }
    const r = validateCaptureRecord(value);
    if (typeof r === 'string') throw new CaptureError(`${source} line ${i + 1}: ${r}`, i + 1);
    out.push(r);
  }
  return out;
}

/** Capture records as JSON Lines text (what `JsonlFileCaptureSink` writes). */
export function formatCapture(records: readonly CaptureRecord[]): string {
  return records.map((r) => `${JSON.stringify(r)}\n`).join('');
}

interface ScriptStep {
  /** Bytes the peer waits for (concatenated 'tx' records). */
  readonly expect: Uint8Array;
  /** Answers: bytes and the delay before each (from the capture's timing). */
  readonly answers: { readonly bytes: Uint8Array; readonly delayMs: number }[];
}

export interface ScriptedPeerOptions {
  /** The link the peer talks on (the far end of what the system under test uses). */
  readonly link: Link;
  readonly records: readonly CaptureRecord[];
  readonly clock: Clock;
  /** Only records of this link name (a capture may hold several links). */
  readonly linkName?: string;
  /** 'capture' (default): answer after the recorded delays; 'immediate': answer at once. */
  readonly timing?: 'capture' | 'immediate';
}

export interface ScriptMismatch {
  readonly step: number;
  readonly expected: string;
  readonly received: string;
}

interface ScriptedPeerEvents {
  mismatch: [mismatch: ScriptMismatch];
  done: [];
}

/**
 * Replays a capture as the far end: the capture's 'tx' records are what the peer expects to
 * receive, its 'rx' records what it answers. When the bytes received so far equal the next
 * expected 'tx' run, the peer sends the following 'rx' run, each chunk after the delay the
 * capture shows (from the last 'tx' chunk to the first 'rx' chunk, then between 'rx' chunks),
 * on the injected clock (delays are between the records' time stamps: a 'tx' record is stamped
 * when the write started, so on a modelled line the replayed answer comes one request
 * transmission time later than in the capture). Bytes that cannot be the expected ones are reported as a 'mismatch'
 * and discarded; the peer keeps waiting for the same step. 'rx' records before the first 'tx'
 * are sent unsolicited at start.
 */
export class ScriptedPeer extends EventEmitter<ScriptedPeerEvents> {
  readonly mismatches: ScriptMismatch[] = [];
  private readonly link: Link;
  private readonly clock: Clock;
  private readonly steps: ScriptStep[];
  private readonly immediate: boolean;
  private step = 0;
  private buffer: Uint8Array = new Uint8Array(0);
  private answering: Promise<void> = Promise.resolve();
  private finished = false;
  private readonly donePromise: Promise<void>;
  private resolveDone!: () => void;
  private readonly onData = (chunk: Uint8Array): void => this.receive(chunk);

  constructor(opts: ScriptedPeerOptions) {
    super();
    this.link = opts.link;
    this.clock = opts.clock;
    this.immediate = opts.timing === 'immediate';
    const records = opts.linkName ? opts.records.filter((r) => r.link === opts.linkName) : [...opts.records];
    const { steps, preamble } = buildScript(records);
    this.steps = steps;
    this.donePromise = new Promise<void>((resolve) => (this.resolveDone = resolve));
    this.link.on('data', this.onData);
    if (preamble.length > 0) this.sendAnswers(preamble);
    this.checkDone();
  }

  /** Resolves when every expected request has been answered. */
  get done(): Promise<void> {
    return this.donePromise;
  }

  /** Requests still expected. */
  get remaining(): number {
    return this.steps.length - this.step;
  }

  /** Stops listening (the link stays open). */
  stop(): void {
    this.link.off('data', this.onData);
  }

  private receive(chunk: Uint8Array): void {
    if (this.step >= this.steps.length) {
      this.reportMismatch(new Uint8Array(0), chunk);
      return;
    }
    this.buffer = concatBytes(this.buffer, chunk);
    while (this.step < this.steps.length) {
      const s = this.steps[this.step]!;
      const n = Math.min(this.buffer.length, s.expect.length);
      for (let i = 0; i < n; i++) {
        if (this.buffer[i] !== s.expect[i]) {
          this.reportMismatch(s.expect, this.buffer);
          this.buffer = new Uint8Array(0);
          return;
        }
      }
      if (this.buffer.length < s.expect.length) return;
      this.buffer = this.buffer.slice(s.expect.length);
      this.step++;
      this.sendAnswers(s.answers);
      if (this.buffer.length === 0) break;
    }
    if (this.step >= this.steps.length && this.buffer.length > 0) {
      this.reportMismatch(new Uint8Array(0), this.buffer);
      this.buffer = new Uint8Array(0);
    }
  }

  private sendAnswers(answers: ScriptStep['answers']): void {
    this.answering = this.answering.then(async () => {
      for (const a of answers) {
        if (!this.immediate && a.delayMs > 0) await this.clock.sleep(a.delayMs);
        if (!this.link.isOpen) return;
        await this.link.write(a.bytes);
      }
    });
    this.answering = this.answering.catch(() => undefined).then(() => this.checkDone());
  }

  private checkDone(): void {
    if (this.finished || this.step < this.steps.length) return;
    // Answers of the last step are chained before this check runs.
    this.finished = true;
    void this.answering.then(() => {
      this.resolveDone();
      this.emit('done');
    });
  }

  private reportMismatch(expected: Uint8Array, received: Uint8Array): void {
    const m: ScriptMismatch = { step: this.step, expected: toHex(expected), received: toHex(received) };
    this.mismatches.push(m);
    this.emit('mismatch', m);
  }
}

function buildScript(records: readonly CaptureRecord[]): { steps: ScriptStep[]; preamble: ScriptStep['answers'] } {
  const steps: ScriptStep[] = [];
  const preamble: { bytes: Uint8Array; delayMs: number }[] = [];
  let i = 0;
  let lastMs = records[0]?.ms ?? 0;
  while (i < records.length && records[i]!.dir === 'rx') {
    const r = records[i]!;
    preamble.push({ bytes: recordBytes(r), delayMs: Math.max(0, r.ms - lastMs) });
    lastMs = r.ms;
    i++;
  }
  while (i < records.length) {
    const expect: Uint8Array[] = [];
    while (i < records.length && records[i]!.dir === 'tx') {
      expect.push(recordBytes(records[i]!));
      lastMs = records[i]!.ms;
      i++;
    }
    const answers: { bytes: Uint8Array; delayMs: number }[] = [];
    while (i < records.length && records[i]!.dir === 'rx') {
      const r = records[i]!;
      answers.push({ bytes: recordBytes(r), delayMs: Math.max(0, r.ms - lastMs) });
      lastMs = r.ms;
      i++;
    }
    steps.push({ expect: concatBytes(...expect), answers });
  }
  return { steps, preamble };
}
