/**
 * The golden capture (captures/dlt645/reference-reading-session.jsonl) guards three things:
 * - the codec and dictionary still describe every recorded frame as recorded;
 * - the reference meter and the master still put exactly these bytes on the wire, at exactly
 *   these virtual instants (virtual time and seeded randomness make a session reproducible);
 * - a capture replayed by ScriptedPeer stands in for the meter: the master reads the same values.
 * After an intended change: `npx tsx scripts/golden-capture.ts`, and commit the new capture.
 */
import { describe, expect, it } from 'vitest';
import { VirtualClock } from '../harness/core/clock.ts';
import { createMemoryPair } from '../harness/links/memory.ts';
import { readCapture, recordBytes, ScriptedPeer } from '../harness/links/capture.ts';
import { Dlt645Master } from '../harness/masters/index.ts';
import { describeDlt645 } from '../harness/targets/index.ts';
import { GOLDEN_CAPTURE, GOLDEN_START, goldenSession, recordGoldenSession } from '../scripts/golden-capture.ts';

const golden = readCapture(GOLDEN_CAPTURE);

describe('golden DL/T 645 capture of a reference reading session', () => {
  it('holds the whole session: 12 requests, each answered', () => {
    expect(golden.filter((r) => r.dir === 'tx')).toHaveLength(12);
    expect(golden.filter((r) => r.dir === 'rx')).toHaveLength(12);
    expect(golden.at(-1)?.decode).toBe('D1 errorResponse 123456789012 ERR 02 noRequestedData');
  });

  it('every frame still decodes to its recorded one-line description', () => {
    for (const r of golden) expect(describeDlt645(recordBytes(r), r.dir), r.hex).toBe(r.decode);
  });

  it('the reference meter and the master reproduce it byte for byte and instant for instant', async () => {
    const { records } = await recordGoldenSession();
    expect(records.map((r) => `${r.t} ${r.dir} ${r.hex}`)).toEqual(golden.map((r) => `${r.t} ${r.dir} ${r.hex}`));
  });

  it('replayed by a scripted peer, it gives the master the same values as the live meter', async () => {
    const live = (await recordGoldenSession()).values;
    const clock = new VirtualClock({ start: GOLDEN_START });
    const [masterLink, peerLink] = createMemoryPair({ clock });
    const peer = new ScriptedPeer({ link: peerLink, records: golden, clock });
    const master = new Dlt645Master({ link: masterLink, clock });
    try {
      const replayed = await goldenSession(master);
      expect(replayed).toEqual(live);
      expect(peer.mismatches).toEqual([]);
      expect(peer.remaining).toBe(0);
    } finally {
      master.dispose();
      await masterLink.close();
    }
  });
});
