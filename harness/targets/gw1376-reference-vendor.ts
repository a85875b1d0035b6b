/**
 * MeterLab's reference master station played as a VENDOR's (issue 12): `CollectionStation` on
 * PGlite in memory over a `Gw1376Station` listening on TCP (127.0.0.1, port 0 by default), on a real
 * clock shifted by `clockOffsetMs` (a station whose clock was set for a test day, as faketime does),
 * configured beforehand with a collection scenario's concentrators, archives and each one's PW, as
 * a vendor would load them. `export()` gives its own figures in MeterLab's station export format
 * (gw1376-station-export.ts) for the days asked. `collect: false` is a broken vendor: it accepts the
 * logins (the listener confirms them) but never sends a terminal a request, and exports what it
 * has (every point due, none collected).
 *
 * For tests of the master-station target's real-time path (`connection: { type: "tcp" }`), and for a
 * vendor to compare its station with the reference one.
 */
import { RealClock, type Clock, type TimerHandle } from '../core/clock.ts';
import { Gw1376Station } from '../masters/gw1376-station.ts';
import { buildCollectionWorld, type CollectionScenario } from '../../simulators/collection/index.ts';
import { gw1376CollectionLink } from '../../simulators/master-station/collection-gw1376.ts';
import { CollectionStation, concentratorKey, type CollectionFaults, type CollectionSchedule, type DailySuccessRate, type StoredReading } from '../../simulators/master-station/collection.ts';
import { openDatabase } from '../../simulators/master-station/storage.ts';
import { VirtualClock } from '../core/clock.ts';
import { stationExportOf, type StationExport } from './gw1376-station-export.ts';

/** The real clock shifted by `offsetMs`: a station's clock set for a test day. Timers are the real clock's. */
export class ShiftedClock implements Clock {
  readonly virtual = false;
  constructor(
    private readonly real: RealClock,
    readonly offsetMs: number,
  ) {}
  now(): number {
    return this.real.now() + this.offsetMs;
  }
  setTimeout(callback: () => void, ms: number): TimerHandle {
    return this.real.setTimeout(callback, ms);
  }
  clearTimeout(handle: TimerHandle | undefined): void {
    this.real.clearTimeout(handle);
  }
  sleep(ms: number, signal?: AbortSignal): Promise<void> {
    return this.real.sleep(ms, signal);
  }
}

export interface ReferenceVendorOptions {
  readonly scenario: CollectionScenario;
  /** The station's clock minus the real time, ms. */
  readonly clockOffsetMs: number;
  readonly schedule?: CollectionSchedule;
  readonly faults?: CollectionFaults;
  /** False: a station that never collects (a broken vendor). Default true. */
  readonly collect?: boolean;
  readonly utcOffsetMinutes?: number;
  readonly host?: string;
  readonly port?: number;
}

export interface ReferenceVendor {
  readonly host: string;
  readonly port: number;
  readonly clock: Clock;
  /** Its success rate of each day and every stored reading of those days, as the export format says. */
  export(days: readonly string[]): Promise<StationExport>;
  close(): Promise<void>;
}

export async function startReferenceVendor(o: ReferenceVendorOptions): Promise<ReferenceVendor> {
  // The plan's concentrators (addresses, archives, PWs): what the vendor loads beforehand.
  const planClock = new VirtualClock({ start: o.scenario.startMs, autoAdvance: false });
  const plan = buildCollectionWorld(o.scenario, { clock: planClock });
  const concentrators = plan.concentrators.map((w) => ({ areaCode: w.address.areaCode, terminal: w.address.terminal, password: w.password, archive: w.archive }));
  await plan.close();
  const clock = new ShiftedClock(new RealClock(), o.clockOffsetMs);
  const utcOffsetMinutes = o.utcOffsetMinutes ?? 480;
  const gw = await Gw1376Station.listen({ clock, host: o.host ?? '127.0.0.1', port: o.port ?? 0, master: { utcOffsetMinutes }, passwords: concentrators });
  const db = await openDatabase('memory');
  const link = gw1376CollectionLink(gw);
  // The broken vendor sees the logins but never gets a session: it never asks a terminal for anything.
  const never: typeof link = { session: () => undefined, on: (e, l) => link.on(e, l), off: (e, l) => link.off(e, l) };
  const station = new CollectionStation({
    db,
    clock,
    link: (o.collect ?? true) ? link : never,
    concentrators,
    utcOffsetMinutes,
    ...(o.schedule ? { schedule: o.schedule } : {}),
    ...(o.faults ? { faults: o.faults } : {}),
  });
  await station.start();
  return {
    host: gw.host ?? '127.0.0.1',
    port: gw.port!,
    clock,
    async export(days) {
      const rates: DailySuccessRate[] = [];
      const readings: StoredReading[] = [];
      for (const day of days) {
        rates.push(await station.successRate(day));
        for (const c of concentrators) readings.push(...(await station.readings(concentratorKey(c), day)));
      }
      return stationExportOf(rates, readings, utcOffsetMinutes);
    },
    async close() {
      await station.stop().catch(() => undefined);
      await gw.close().catch(() => undefined);
      await db.close().catch(() => undefined);
    },
  };
}
