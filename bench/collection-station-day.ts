/**
 * The province day with the whole chain (issue 12): the chosen concentrators as full reference
 * concentrators (core + Q/GDW 1376.1 terminal, `createConcentrator`) over the world's meters, logged
 * in over memory links to one reference master station (`Gw1376Station` + `CollectionStation` on a
 * database: PGlite in memory by default, a PostgreSQL URL with `--db`), which downloads each
 * archive at login, collects yesterday's daily data from 04:00 (AFN 0D F161 / F249) and keeps
 * re-collecting until 12:00 (COL-02). Everything on one VirtualClock from the scenario's start to
 * 12:00 after the first night; the planned reboots and uplink outages happen (`scheduleReboot`,
 * `throughUplink`).
 *
 * The concentrators here run at once (the station collects from all of them in parallel), so memory
 * holds every world of the run: run a province in shards (`--shard i/n`), each with its own station.
 *
 * Per concentrator, on top of the core's figures (collection-day.ts `concentratorResult`): the
 * station's COL-01 counts for the day (due, collected, first attempt, by the 12:00 deadline,
 * offline) and every reading it stored compared with the one the concentrator stored (value and
 * tariffs exact to 0.0001, the station's A.14 resolution): `mismatched` must stay 0.
 *
 * One password for every concentrator: `Gw1376Station` gives all its masters one PW, so the bench's
 * concentrators share the station's instead of the plan's seeded ones (a limit of the station, not
 * of the concentrator: noted in bench/README.md).
 */
import { VirtualClock } from '../harness/core/clock.ts';
import { createMemoryPair } from '../harness/links/memory.ts';
import { Gw1376Station } from '../harness/masters/gw1376-station.ts';
import { nightInstant } from '../simulators/collection/plan.ts';
import type { CollectionScenario } from '../simulators/collection/scenario.ts';
import { buildCollectionWorld } from '../simulators/collection/world.ts';
import { createConcentrator } from '../simulators/concentrator/index.ts';
import type { ConcentratorCore } from '../simulators/concentrator/types.ts';
import { gw1376CollectionLink } from '../simulators/master-station/collection-gw1376.ts';
import { CollectionStation, type StoredReading } from '../simulators/master-station/collection.ts';
import { openDatabase } from '../simulators/master-station/storage.ts';
import { fnv1a } from '../simulators/fleet/read.ts';
import { collectedDay, concentratorResult, type ConcentratorDayResult, type StationSide } from './collection-day.ts';

const UTC_OFFSET_MINUTES = 480;
/** The station's PW for every terminal (see the file header). */
export const BENCH_PASSWORD = Uint8Array.from({ length: 16 }, (_, i) => 0x11 * ((i % 15) + 1));
/** The station's A.14 resolution (simulators/master-station README: BIGINT × 10⁴). */
const RESOLUTION = 1e-4;

const near = (a: number | null | undefined, b: number | undefined): boolean => a !== null && a !== undefined && b !== undefined && Math.abs(a - b) < RESOLUTION / 2 + 1e-9;

/** The station's reading equals the concentrator's stored one. */
function sameAsCore(r: StoredReading, core: ConcentratorCore): boolean {
  const c = core.daily(r.pn, r.day);
  if (!c) return false;
  const v = c.value;
  if (v.kind === 'electricity') {
    if (r.kind !== 'electricity' || !near(r.value, v.forwardActiveKwh[0])) return false;
    const tariffs = r.tariffs ?? [];
    return v.forwardActiveKwh.slice(1).every((t, i) => near(tariffs[i], t));
  }
  return r.kind === v.kind && near(r.value, v.value) && r.unit === v.unit;
}

function stationLine(r: StoredReading): string {
  return `${r.pn} ${r.day} ${r.kind} ${r.value} ${(r.tariffs ?? []).join(',')} ${r.unit ?? '-'} ${r.meterType ?? '-'} ${r.readingTime ?? '-'}\n`;
}

/** Runs `indices` as full concentrators against one reference master station; results in index order. */
export async function runStationDay(s: CollectionScenario, indices: readonly number[], o: { readonly db?: string; readonly checkTruth?: boolean; readonly log?: (line: string) => void } = {}): Promise<ConcentratorDayResult[]> {
  const t0 = performance.now();
  const db = await openDatabase(o.db ?? 'memory');
  const clock = new VirtualClock({ start: s.startMs, autoAdvance: false });
  const world = buildCollectionWorld(s, { clock, concentrators: [...indices].sort((a, b) => a - b) });
  const station = new Gw1376Station({ clock, master: { password: BENCH_PASSWORD } });
  const collection = new CollectionStation({
    db,
    clock,
    link: gw1376CollectionLink(station),
    concentrators: world.concentrators.map((wc) => ({ areaCode: wc.address.areaCode, terminal: wc.address.terminal, password: BENCH_PASSWORD, archive: wc.archive })),
  });
  const rebooted = new Set<number>();
  const running = world.concentrators.map((wc) => {
    const concentrator = createConcentrator({
      clock,
      ports: wc.ports,
      utcOffsetMinutes: UTC_OFFSET_MINUTES,
      ...(wc.curves ? { curves: wc.curves } : {}),
      address: wc.address,
      password: BENCH_PASSWORD,
      connect: wc.throughUplink(async () => {
        const [stationSide, terminalSide] = createMemoryPair({ names: [`station:${wc.id}`, `uplink:${wc.id}`] });
        station.accept(stationSide);
        return terminalSide;
      }),
    });
    const cancelReboot = wc.scheduleReboot((offMs) => {
      rebooted.add(wc.index);
      return concentrator.core.reboot(offMs);
    });
    return { wc, concentrator, cancelReboot };
  });
  const t1 = performance.now();
  // 12:00 after the first night: the master station's deadline (COL-02).
  const end = nightInstant(s.startMs, 0, '00:00', UTC_OFFSET_MINUTES) + 12 * 3_600_000;
  try {
    await clock.run(collection.start());
    for (const r of running) r.concentrator.start();
    await clock.run(async () => {
      await clock.sleep(end - clock.now());
      await collection.idle();
    });
    const runMs = performance.now() - t1;
    const day = collectedDay(s);
    const rate = await clock.run(collection.successRate(day));
    const out: ConcentratorDayResult[] = [];
    for (const { wc, concentrator } of running) {
      const core = concentrator.core;
      const readings = await clock.run(collection.readings(wc.address, day));
      let mismatched = 0;
      let digest = 0x811c9dc5;
      for (const r of [...readings].sort((a, b) => a.pn - b.pn)) {
        if (!sameAsCore(r, core)) mismatched++;
        digest = fnv1a(stationLine(r), digest);
      }
      const sr = rate.concentrators.find((c) => c.areaCode === wc.address.areaCode && c.terminal === wc.address.terminal);
      const side: StationSide = {
        due: sr?.due ?? 0,
        collected: sr?.collected ?? 0,
        firstAttempt: sr?.firstAttempt ?? 0,
        byDeadline: sr?.byDeadline ?? 0,
        offline: sr?.offline ?? true,
        readings: readings.length,
        mismatched,
        digest: digest.toString(16).padStart(8, '0'),
      };
      // Host time is the run's, shared by every concentrator of it: given once, on the first.
      const wallMs = out.length === 0 ? { build: t1 - t0, run: runMs } : { build: 0, run: 0 };
      out.push({ ...concentratorResult(s, wc, core, { rebooted: rebooted.has(wc.index), checkTruth: o.checkTruth !== false, wallMs }), station: side });
    }
    return out;
  } finally {
    for (const r of running) r.cancelReboot();
    await clock.run(collection.stop()).catch(() => undefined);
    await clock.run(Promise.all(running.map((r) => r.concentrator.stop().catch(() => undefined)))).catch(() => undefined);
    await clock.run(station.close()).catch(() => undefined);
    await world.close();
    await db.close();
  }
}
