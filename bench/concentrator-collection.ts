/**
 * Issue 12 figure: how long the concentrator core's nightly collection of one RS-485 bus of
 * DL/T 645 meters takes in simulated time, against the line-time lower bound it reports.
 *
 *   npx tsx bench/concentrator-collection.ts [--meters 32] [--dead 0,1] [--nights 2]
 *
 * One Rs485Bus at 2400 8E1 with `meters` reference meters (simulators/electricity-meter, seeds
 * 1..N) and the core (simulators/concentrator) on port 2, archive of every meter, started at
 * 2026-01-10 12:00 local on a VirtualClock. For each `dead` count, that many meters (the last ones)
 * have their mains cut from the start. Per night the first run (00:05) is printed: due, read,
 * failed, the run's simulated duration, the port's line-time bound (characters exchanged x 11/2400 s)
 * and the ratio; then the night's retry runs. The second night shows the steady state (one new day
 * per meter; the stored days are not read again). Simulated time only: no wall-time claim.
 */
import { parseArgs } from 'node:util';
import { VirtualClock } from '../harness/core/clock.ts';
import { fromCalendar } from '../harness/core/calendar.ts';
import { Rs485Bus } from '../harness/links/bus.ts';
import type { LineSettings } from '../harness/links/link.ts';
import { createConcentratorCore } from '../simulators/concentrator/core.ts';
import type { ArchivePoint } from '../simulators/concentrator/types.ts';
import { createElectricityMeter, REFERENCE_METER_PROFILE } from '../simulators/electricity-meter/index.ts';

const LINE: LineSettings = { baudRate: 2400, dataBits: 8, parity: 'even', stopBits: 1 };
const { values } = parseArgs({ options: { meters: { type: 'string', default: '32' }, dead: { type: 'string', default: '0,1' }, nights: { type: 'string', default: '2' } } });
const meters = Number(values.meters);
const nights = Number(values.nights);
const at = (day: number, hour: number, minute = 0): number => fromCalendar({ year: 2026, month: 1, day, hour, minute, second: 0 });

for (const dead of values.dead.split(',').map(Number)) {
  const clock = new VirtualClock({ start: at(10, 12), autoAdvance: false });
  const bus = new Rs485Bus({ clock, line: LINE, name: 'rs485-1' });
  const all = Array.from({ length: meters }, (_, i) =>
    createElectricityMeter({ profile: REFERENCE_METER_PROFILE, address: String(i + 1).padStart(12, '0'), link: bus.attach(`meter-${i + 1}`), clock, seed: i + 1 }),
  );
  for (const m of all.slice(meters - dead)) m.backchannel.cutMains();
  const archive: ArchivePoint[] = all.map((_, i) => ({ serial: i + 1, pn: i + 1, port: 2, protocol: 'dlt645-2007', address: String(i + 1).padStart(12, '0'), kind: 'electricity' }));
  const core = createConcentratorCore({ clock, ports: [{ port: 2, medium: 'rs485', link: bus.attach('concentrator'), line: LINE }], archive });
  core.start();
  await clock.advanceTo(at(10 + nights, 4, 30));
  console.log(`\n${meters} DL/T 645 meters on one bus at 2400 8E1, ${dead} dead`);
  console.log('day         run    due read failed  duration s  line-time s  ratio');
  for (const r of core.collectionRuns()) {
    const p = r.ports[0];
    const duration = (r.endedAt - r.startedAt) / 1000;
    const line = (p?.lineTimeMs ?? 0) / 1000;
    const start = new Date(r.startedAt + 8 * 3_600_000).toISOString().slice(11, 16);
    console.log(
      `${r.day}  ${start}  ${String(r.due).padStart(4)} ${String(r.read).padStart(4)} ${String(r.failed).padStart(6)}  ${duration.toFixed(1).padStart(10)}  ${line.toFixed(1).padStart(11)}  ${(duration / Math.max(line, 1e-9)).toFixed(2).padStart(5)}`,
    );
  }
  core.stop();
}
