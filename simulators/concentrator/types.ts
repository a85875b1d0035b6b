/**
 * The concentrator's contract (issue 12): what its meter side (the core: archive, ports, collection
 * task, storage, events, forwarding, control, clock) offers to its uplink (the Q/GDW 1376.1
 * terminal application) and to the suites' targets. The core knows nothing of 1376.1 frames; the
 * uplink knows nothing of RS-485 or the meters' protocols. A later uplink (Southern Grid's Q/CSG)
 * is a sibling of the 1376.1 one over the same core.
 *
 * Requirement ids: ../shared/requirements/REQUIREMENTS.md (COL, CON, CLK, ROB).
 */
import type { Link, LineSettings } from '../../harness/links/index.ts';

/** What a point measures. */
export type MeterKind = 'electricity' | 'water' | 'gas' | 'heat';

/** How the concentrator reads a point (the archive's protocol code: gw1376 `ArchiveProtocol`). */
export type PointProtocol = 'dlt645-2007' | 'cjt188' | 'mbus';

/** One meter-archive entry (AFN 04 F10 for DL/T 645, F249 for CJ/T 188 and M-Bus). */
export interface ArchivePoint {
  /** Archive serial number 1..2040. */
  readonly serial: number;
  /** Measuring point 1..2040. */
  readonly pn: number;
  /** The local port it is reached on (`ConcentratorPort.port`). */
  readonly port: number;
  readonly protocol: PointProtocol;
  /** DL/T 645: 12 digits; CJ/T 188: 14 digits; M-Bus: the primary address 1..250 as decimal text. */
  readonly address: string;
  /** CJ/T 188 meter type T (10H water, 20H heat, 30H gas); M-Bus medium (04H heat). Absent for DL/T 645. */
  readonly meterType?: number;
  readonly kind: MeterKind;
  /** DL/T 645 only: the meter's password and operator code for remote control (8 hex digits each). */
  readonly password?: string;
  readonly operator?: string;
}

/** A local port of the concentrator: its link to the meters and the line it runs at. */
export interface ConcentratorPort {
  /** 376.1 port number (CON-07): 2..4 RS-485 1..3; 5..30 further local ports (M-Bus); see gw1376 `Port`. */
  readonly port: number;
  readonly medium: 'rs485' | 'mbus';
  readonly link: Link;
  readonly line: LineSettings;
  /**
   * Per-exchange timing on this port. Defaults per protocol: DL/T 645 3000 ms x 3 attempts with
   * 4 x FE (CON-05); CJ/T 188 the same, with a wake-up preamble for battery meters (MM-06);
   * behind an interface converter (wireless hops) the reply comes later: a profile or scenario
   * raises `timeoutMs`.
   */
  readonly timeoutMs?: number;
  readonly attempts?: number;
  /** CJ/T 188 wake-up preamble duration in ms for sleeping battery meters (0 = none). */
  readonly wakeUpMs?: number;
}

/** A reading of one point, as the concentrator stores it and answers it upstream. */
export type PointValue =
  /** DL/T 645: forward active energy in kWh, total then T1..TM (tariffs.length = M + 1). */
  | { readonly kind: 'electricity'; readonly forwardActiveKwh: readonly number[] }
  /** CJ/T 188 or M-Bus: one cumulative value with its CJ/T 188 unit byte (2CH m³, 05H kWh). */
  | { readonly kind: 'water' | 'gas' | 'heat'; readonly value: number; readonly unit: number; readonly meterType: number; readonly status?: number };

/** The daily frozen reading of `day` (local date "YYYY-MM-DD") for a point. */
export interface DailyReading {
  readonly pn: number;
  readonly day: string;
  /** When the meter froze it (DL/T 645 05060001) or, for a meter without a daily freeze, when it was read; ms since the epoch. */
  readonly frozenAt: number;
  /** When the concentrator read it (terminal clock, ms). */
  readonly readAt: number;
  /** 1 = read by the 00:05 task on its first attempt, larger = read by a re-read. */
  readonly attempt: number;
  readonly value: PointValue;
}

/**
 * A point's load curves of one day (COL-12), read from a DL/T 645 meter's load records
 * (DI 06000001) and answered upstream as 1376.1 AFN 0D F81 / F89 / F101. Point i is at
 * 00:00 + i x `intervalMinutes` of `day` (terminal local time); 1440 / intervalMinutes points.
 */
export interface DailyCurve {
  readonly pn: number;
  readonly day: string;
  /** 15: 1376.1 density m = 1. */
  readonly intervalMinutes: number;
  /** When the concentrator read it (terminal clock, ms). */
  readonly readAt: number;
  /** F101 forward active total energy reading, kWh; NaN where the meter had no (valid) record. */
  readonly forwardActiveKwh: Float64Array;
  /** F81 total active power, kW; NaN where missing. */
  readonly activePowerKw: Float64Array;
  /** F89 phase A voltage, V; NaN where missing. */
  readonly voltageAV: Float64Array;
}

/** Why an exchange with a meter failed. */
export type ReadFailure = { readonly ok: false; readonly reason: 'no-reply' | 'abnormal' | 'refused' | 'no-such-point' | 'busy'; readonly detail: string };
export type ReadResult<T> = { readonly ok: true; readonly value: T } | ReadFailure;

/** An event record (ERC) the concentrator keeps and reports upstream (AFN 0E). */
export interface ConcentratorEvent {
  /** 1376.1 ERC code: 14 power off/on, 39 failed re-read (COL-04), ... */
  readonly erc: number;
  readonly important: boolean;
  /** Terminal clock when it happened. */
  readonly at: number;
  /** The ERC's fields by the dictionary's ERC_LAYOUTS names (ERC 39: pn, time, day). */
  readonly fields: Readonly<Record<string, number | string | null>>;
}

/** One run of the collection task (COL-03), for the timeline in the report. */
export interface CollectionRun {
  /** The day whose frozen data the run collected ("YYYY-MM-DD"). */
  readonly day: string;
  readonly startedAt: number;
  readonly endedAt: number;
  /** Points due, read on this run, failed on this run, re-read (days before `day`) recovered. */
  readonly due: number;
  readonly read: number;
  readonly failed: number;
  readonly recovered: number;
  /** Load curves (point-days) stored on this run (COL-12); absent when the concentrator reads none. */
  readonly curves?: number;
  /** Per port: first and last exchange instants, and the line-time lower bound of its exchanges (ms). */
  readonly ports: readonly { readonly port: number; readonly startedAt: number; readonly endedAt: number; readonly lineTimeMs: number }[];
}

/** Result of an archive change: one entry per record given, in order. */
export interface ArchiveChange {
  readonly serial: number;
  readonly ok: boolean;
  /** Why it was refused (capacity, unknown port, reserved protocol, bad address). */
  readonly reason?: string;
}

/**
 * The concentrator's meter side: everything the uplink needs, nothing of 1376.1 frames.
 * Time: the terminal clock is `now()` (the injected Clock plus the offset set by time sync).
 */
export interface ConcentratorCore {
  /** Terminal clock, ms since the epoch. */
  now(): number;
  /** Sets the terminal clock (AFN 05 F31, CLK-01). */
  setTime(ms: number): void;

  /** The archive, in serial order. */
  points(): readonly ArchivePoint[];
  point(pn: number): ArchivePoint | undefined;
  /** Adds or replaces entries by serial (AFN 04 F10 / F249). Capacity ≥ 1024 (COL-06). */
  setPoints(points: readonly ArchivePoint[]): readonly ArchiveChange[];
  /** Removes every entry (AFN 01 F3/F4 parameter initialisation). */
  clearArchive(): void;
  /**
   * Clears stored readings, events and collection runs (AFN 01 F2 data-area initialisation, and
   * F3/F4). Optional: a terminal over a core without it denies AFN 01 F2-F4.
   */
  clearData?(): void;
  readonly capacity: number;

  /** The stored daily reading of a point and day, if any. */
  daily(pn: number, day: string): DailyReading | undefined;
  /** The stored load curves of a point and day, if any (AFN 0D F81/F89/F101). Optional: a core without curves answers none. */
  curve?(pn: number, day: string): DailyCurve | undefined;
  /** Reads a point's current value from the meter now (AFN 0C F129 / F249). */
  readCurrent(pn: number, signal?: AbortSignal): Promise<ReadResult<{ readonly readAt: number; readonly value: PointValue }>>;

  /**
   * Transparent forwarding on a port (AFN 10 F1, CON-07): `frame` goes out byte for byte (behind the
   * port's preamble), the reply comes back exactly as received with leading FEH stripped, or null
   * when nothing came within the timeouts. 'busy' is never returned: forwarding waits for the port.
   */
  forward(port: number, frame: Uint8Array, options: { readonly frameTimeoutMs: number; readonly byteTimeoutMs: number }): Promise<ReadResult<Uint8Array | null>>;

  /** Remote control of a DL/T 645 point (AFN 05 F1 trip / F2 allow close): 1CH with the point's password. */
  control(pn: number, action: 'trip' | 'allow-close' | 'close'): Promise<ReadResult<void>>;

  /** Event records, oldest first; `important` or normal list (AFN 0E F1 / F2). */
  events(important: boolean): readonly ConcentratorEvent[];
  /** EC1 (important) and EC2 (normal) counters, mod 256. */
  eventCounters(): { readonly important: number; readonly normal: number };
  on(event: 'event', listener: (e: ConcentratorEvent) => void): unknown;
  off(event: 'event', listener: (e: ConcentratorEvent) => void): unknown;

  /** The collection runs so far (COL-03), oldest first. */
  collectionRuns(): readonly CollectionRun[];

  /** Starts the daily task (00:05 local, COL-03). */
  start(): void;
  /** Stops every timer; pending exchanges end. */
  stop(): void;
  /** Power cycle (ROB-08): running work is cut, archive, stored data and events are kept, ERC 14 recorded. */
  reboot(offMs: number): Promise<void>;
}
