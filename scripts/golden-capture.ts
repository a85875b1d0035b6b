/**
 * The golden DL/T 645 capture: one reading session of the reference meter on the simulated
 * RS-485 bus, in virtual time, so it is byte-for-byte and instant-for-instant reproducible.
 *
 *   npx tsx scripts/golden-capture.ts      rewrites captures/dlt645/reference-reading-session.jsonl
 *
 * captures/golden.test.ts fails when the simulator, the master or the codec's one-line decodes
 * change what this session puts on the wire; rerun the script after an intended change and
 * commit the new capture with the change that explains it.
 */
import { writeFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { VirtualClock } from '../harness/core/clock.ts';
import { formatCapture, type CaptureRecord } from '../harness/links/capture.ts';
import type { Dlt645Master } from '../harness/masters/index.ts';
import { openTarget, referenceTargetProfile } from '../harness/targets/index.ts';

export const GOLDEN_CAPTURE = resolve(fileURLToPath(new URL('../captures/dlt645/reference-reading-session.jsonl', import.meta.url)));

/** Start of the session: 2026-03-02 10:00:00 UTC+8 (virtual). */
export const GOLDEN_START = Date.UTC(2026, 2, 2, 2, 0, 0);
export const METER = '123456789012';

/** What the session asks, in order; the values the reference meter answers are in the capture. */
export async function goldenSession(master: Dlt645Master): Promise<Record<string, unknown>> {
  const read = async (di: string): Promise<unknown> => (await master.readData(METER, di)).value;
  return {
    address: await master.readAddress(),
    forwardActiveTotal: await read('00010000'),
    forwardActiveBlock: await read('0001FF00'),
    voltages: await read('0201FF00'),
    date: await read('04000101'),
    time: await read('04000102'),
    statusWord3: await read('04000503'),
    remainingAmount: await read('00900200'),
    dailyFreezeBlock: await read('0506FF01'), // through follow-up frames (12H)
    unsupported: await master.readData(METER, '03010000').then(
      () => 'answered',
      (e: Error) => e.name,
    ),
  };
}

/** Runs the session against a fresh reference target and returns what crossed the master's link. */
export async function recordGoldenSession(): Promise<{ records: CaptureRecord[]; values: Record<string, unknown> }> {
  const target = await openTarget(referenceTargetProfile({ transport: 'bus' }), { clock: new VirtualClock({ start: GOLDEN_START }) });
  try {
    const values = await goldenSession(target.master);
    target.flushCaptures();
    return { records: [...target.captures], values };
  } finally {
    await target.close();
  }
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const { records } = await recordGoldenSession();
  writeFileSync(GOLDEN_CAPTURE, formatCapture(records));
  process.stdout.write(`wrote ${records.length} records to ${GOLDEN_CAPTURE}\n`);
}
