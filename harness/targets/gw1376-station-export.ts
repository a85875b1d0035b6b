/**
 * MeterLab's station export format (issue 12): what a vendor's master station gives MeterLab of its
 * own figures, so the collection suite can judge COL-01 (its daily success rate) and ROB-10 (a
 * reading stored and counted once) as it does on the reference station's `report`. The
 * declaration names where it is (`device.declaration.vendor.export`: `{ url }` answered by a GET,
 * or `{ file }` the station writes); MeterLab reads it afresh at every question. One JSON object:
 *
 * ```json
 * {
 *   "successRate": [{
 *     "day": "2026-01-11",
 *     "concentrators": [{ "areaCode": "3702", "terminal": 1, "due": 10, "collected": 10, "firstAttempt": 10,
 *                         "offline": false, "rounds": 1, "offlineRounds": 0,
 *                         "kinds": [{ "kind": "electricity", "due": 4, "collected": 4, "firstAttempt": 4 }] }],
 *     "kinds": [{ "kind": "electricity", "due": 4, "collected": 4, "firstAttempt": 4 }],
 *     "total": { "due": 10, "collected": 10, "firstAttempt": 10, "terminals": 1, "offlineTerminals": 0 }
 *   }],
 *   "readings": [{ "areaCode": "3702", "terminal": 1, "pn": 1, "day": "2026-01-11", "kind": "electricity",
 *                  "readingTime": "2026-01-12 00:05", "value": 1234.5678, "tariffs": [600, 634.5678],
 *                  "unit": null, "meterType": null, "receivedAt": "2026-01-12T04:00:02.417+08:00" }]
 * }
 * ```
 *
 * - successRate: one entry per collection day (local date), as the station computes it: per
 *   concentrator (by its 1376.1 address) and per meter kind, due (应采), collected (成功), collected on
 *   the station's first request (一次采集成功), offline = no request for that day answered by the
 *   deadline; `rounds` / `offlineRounds` are optional (0).
 * - readings: every daily reading the station stored, once per (concentrator, pn, day) if it stores
 *   them once: electricity `value` the forward active total in kWh and `tariffs` the tariffs
 *   (null where absent); water, gas, heat `value` in `unit` (the CJ/T 188 / F249 unit code) with
 *   `meterType`; `readingTime` local "YYYY-MM-DD hh:mm" as delivered (F161 / F249), or null;
 *   `receivedAt` when it stored it, an ISO 8601 instant with its offset (milliseconds optional: a
 *   case compares it with MeterLab's instants to the second).
 *
 * Validated with zod; a bad export is one `StationExportError` naming the field
 * (`successRate[0].concentrators[1].due: ...`), and the case that asked fails with it.
 */
import { readFile } from 'node:fs/promises';
import { z } from 'zod';
import type { Clock } from '../core/clock.ts';
import { MeterLabError } from '../core/errors.ts';
import type { DailySuccessRate, StoredReading, TerminalId } from '../../simulators/master-station/collection.ts';

/** Give up a GET of the export after this long [MeterLab's choice: an export is one small JSON document]. */
export const EXPORT_FETCH_TIMEOUT_MS = 30_000;

const DAY = z.string().regex(/^\d{4}-\d{2}-\d{2}$/, 'a local date "YYYY-MM-DD"');
const count = z.number().int().min(0);
const KIND = z.enum(['electricity', 'water', 'gas', 'heat']);
const AREA = z.string().regex(/^[0-9A-Fa-f]{4}$/, 'the A1 area code, 4 hex digits');
const TERMINAL = z.number().int().min(1).max(65535);
const counts = { due: count, collected: count, firstAttempt: count };
const KindCounts = z.object({ kind: KIND, ...counts }).strict();

export const StationExportSchema = z
  .object({
    successRate: z.array(
      z
        .object({
          day: DAY,
          concentrators: z.array(
            z
              .object({ areaCode: AREA, terminal: TERMINAL, ...counts, offline: z.boolean(), rounds: count.default(0), offlineRounds: count.default(0), kinds: z.array(KindCounts).default([]) })
              .strict(),
          ),
          kinds: z.array(KindCounts),
          total: z.object({ ...counts, terminals: count, offlineTerminals: count }).strict(),
        })
        .strict(),
    ),
    readings: z.array(
      z
        .object({
          areaCode: AREA,
          terminal: TERMINAL,
          pn: z.number().int().min(1).max(2040),
          day: DAY,
          kind: KIND,
          readingTime: z
            .string()
            .regex(/^\d{4}-\d{2}-\d{2} \d{2}:\d{2}$/, 'local "YYYY-MM-DD hh:mm"')
            .nullable(),
          value: z.number().finite(),
          tariffs: z.array(z.number().finite().nullable()).nullable().default(null),
          unit: z.number().int().min(0).max(255).nullable().default(null),
          meterType: z.number().int().min(0).max(255).nullable().default(null),
          receivedAt: z.iso.datetime({ offset: true }),
        })
        .strict(),
    ),
  })
  .strict();

export type StationExport = z.output<typeof StationExportSchema>;

/** `token`: sent as `Authorization: Bearer <token>` (a station whose API wants one, e.g. `meterlab serve master-station`). */
export type StationExportSource = { readonly url: string; readonly token?: string } | { readonly file: string };

export class StationExportError extends MeterLabError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('STATION_EXPORT', message, options);
  }
}

const where = (s: StationExportSource): string => ('url' in s ? s.url : s.file);
const keyOf = (areaCode: string, terminal: number): string => `${areaCode.toUpperCase()}-${String(terminal).padStart(5, '0')}`;

/** Validates an export document (StationExportError naming the first bad field). */
export function parseStationExport(doc: unknown, source = 'station export'): StationExport {
  const r = StationExportSchema.safeParse(doc);
  if (r.success) return r.data;
  const first = r.error.issues[0]!;
  const path = first.path.map((p) => (typeof p === 'number' ? `[${p}]` : `.${String(p)}`)).join('').replace(/^\./, '');
  throw new StationExportError(`${source}: ${path || '(document)'}: ${first.message}${r.error.issues.length > 1 ? ` (and ${r.error.issues.length - 1} more)` : ''}`);
}

/** Reads the export once: GET the URL (JSON) or read the file. */
export async function readStationExport(source: StationExportSource, clock: Clock, fetchImpl: typeof fetch = fetch): Promise<StationExport> {
  let text: string;
  if ('url' in source) {
    const controller = new AbortController();
    const timer = clock.setTimeout(() => controller.abort(new Error(`no answer within ${EXPORT_FETCH_TIMEOUT_MS / 1000} s`)), EXPORT_FETCH_TIMEOUT_MS);
    try {
      const headers: Record<string, string> = { accept: 'application/json', ...(source.token !== undefined ? { authorization: `Bearer ${source.token}` } : {}) };
      const res = await fetchImpl(source.url, { signal: controller.signal, headers });
      if (!res.ok) throw new StationExportError(`station export ${source.url}: HTTP ${res.status}`);
      text = await res.text();
    } catch (e) {
      if (e instanceof StationExportError) throw e;
      throw new StationExportError(`station export ${source.url}: ${(e as Error).message}`, { cause: e });
    } finally {
      clock.clearTimeout(timer);
    }
  } else {
    try {
      text = await readFile(source.file, 'utf8');
    } catch (e) {
      throw new StationExportError(`station export ${source.file}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`, { cause: e });
    }
  }
  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch (e) {
    throw new StationExportError(`station export ${where(source)}: not JSON (${(e as Error).message})`, { cause: e });
  }
  return parseStationExport(doc, `station export ${where(source)}`);
}

const ratio = (n: number, d: number): number | null => (d === 0 ? null : n / d);
const withRates = <T extends { due: number; collected: number; firstAttempt: number }>(x: T) => ({
  ...x,
  byDeadline: x.collected,
  rate: ratio(x.collected, x.due),
  firstAttemptRate: ratio(x.firstAttempt, x.due),
});

/** The export's success rate of `day` as the reference station's shape (no entry: no concentrator rows, nothing counted). */
export function successRateOf(e: StationExport, day: string): DailySuccessRate {
  const d = e.successRate.find((x) => x.day === day);
  if (!d) return { day, concentrators: [], kinds: [], total: { ...withRates({ due: 0, collected: 0, firstAttempt: 0 }), terminals: 0, offlineTerminals: 0 } };
  return {
    day,
    concentrators: d.concentrators.map((c) => ({ ...withRates(c), concentrator: keyOf(c.areaCode, c.terminal), kinds: c.kinds.map(withRates) })),
    kinds: d.kinds.map(withRates),
    total: { ...withRates(d.total), terminals: d.total.terminals, offlineTerminals: d.total.offlineTerminals },
  };
}

/** The export's stored readings of one concentrator and day. */
export function readingsOf(e: StationExport, id: TerminalId, day: string): StoredReading[] {
  const k = keyOf(id.areaCode, id.terminal);
  return e.readings
    .filter((r) => keyOf(r.areaCode, r.terminal) === k && r.day === day)
    .map((r) => ({
      concentrator: k,
      pn: r.pn,
      day: r.day,
      kind: r.kind,
      readingTime: r.readingTime,
      value: r.value,
      tariffs: r.tariffs,
      unit: r.unit,
      meterType: r.meterType,
      receivedAt: Date.parse(r.receivedAt),
    }));
}

/** The export document of a station's own figures (the reference station's, for tests and for a vendor to compare with). */
export function stationExportOf(rates: readonly DailySuccessRate[], readings: readonly StoredReading[], utcOffsetMinutes: number): StationExport {
  const split = (key: string): { areaCode: string; terminal: number } => ({ areaCode: key.slice(0, 4), terminal: Number(key.slice(5)) });
  const pick = (x: { due: number; collected: number; firstAttempt: number }) => ({ due: x.due, collected: x.collected, firstAttempt: x.firstAttempt });
  const local = (ms: number): string => {
    const t = new Date(ms + utcOffsetMinutes * 60_000).toISOString().slice(0, 23);
    const sign = utcOffsetMinutes < 0 ? '-' : '+';
    const a = Math.abs(utcOffsetMinutes);
    return `${t}${sign}${String(Math.floor(a / 60)).padStart(2, '0')}:${String(a % 60).padStart(2, '0')}`;
  };
  return {
    successRate: rates.map((r) => ({
      day: r.day,
      concentrators: r.concentrators.map((c) => ({
        areaCode: c.areaCode,
        terminal: c.terminal,
        ...pick(c),
        offline: c.offline,
        rounds: c.rounds,
        offlineRounds: c.offlineRounds,
        kinds: c.kinds.map((k) => ({ kind: k.kind, ...pick(k) })),
      })),
      kinds: r.kinds.map((k) => ({ kind: k.kind, ...pick(k) })),
      total: { ...pick(r.total), terminals: r.total.terminals, offlineTerminals: r.total.offlineTerminals },
    })),
    readings: readings.map((r) => ({
      ...split(r.concentrator),
      pn: r.pn,
      day: r.day,
      kind: r.kind,
      readingTime: r.readingTime,
      value: r.value,
      tariffs: r.tariffs === null ? null : [...r.tariffs],
      unit: r.unit,
      meterType: r.meterType,
      receivedAt: local(r.receivedAt),
    })),
  };
}
