import { describe, expect, it } from 'vitest';
import { concatBytes, hex } from '../../core/bytes.ts';
import { encodeMessage, MlgwFrameScanner, type MlgwScanEvent } from './index.ts';

const request = (seq: number, preamble = 4) => encodeMessage({ kind: 'readCurrent', meterId: '12345678', seq }, { preamble });
const summary = (events: MlgwScanEvent[]) =>
  events.map((e) => (e.type === 'frame' ? `frame ${e.decoded.frame.seq} pre ${e.decoded.frame.preamble} @${e.decoded.start}..${e.decoded.end}` : `discarded ${e.bytes.length} ${e.error.code}@${e.error.offset}`));

describe('MlgwFrameScanner', () => {
  it('finds frames split anywhere, with the length of a long wake-up preamble, holding only the candidate', () => {
    const wake = request(1, 600);
    const s = new MlgwFrameScanner();
    const events: MlgwScanEvent[] = [];
    for (let i = 0; i < wake.length; i += 7) {
      events.push(...s.push(wake.subarray(i, i + 7)));
    }
    expect(summary(events)).toEqual(['frame 1 pre 600 @0..612']);
    expect(s.pending).toBe(0);
  });

  it('discards junk and broken candidates and still finds the frame behind or inside them', () => {
    const s = new MlgwFrameScanner();
    const broken = request(2);
    broken[broken.length - 1]! ^= 0xff; // CRC_H wrong
    const stream = concatBytes(hex('00 11'), broken, request(3), hex('D3 00'), request(4));
    const events = [...s.push(stream), ...s.flush()];
    expect(summary(events)).toEqual([
      'discarded 2 mlgw.sync@0', // 00 11
      'discarded 5 mlgw.crc@16', // the broken frame's preamble and D3 (its CRC_L at 16) ...
      'discarded 11 mlgw.sync@7', // ... and the rest of it, scanned again from its 91H at 7
      'frame 3 pre 4 @18..34',
      'discarded 2 mlgw.sync@35', // D3 00
      'frame 4 pre 4 @36..52',
    ]);
  });

  it('reports an unfinished candidate and a preamble without a frame at flush', () => {
    const s = new MlgwFrameScanner();
    expect(s.push(request(5).subarray(0, 10))).toEqual([]);
    expect(s.pending).toBe(10);
    // The preamble and D3 unfinished; the bytes after D3 scanned again (a frame inside would be found).
    expect(summary(s.flush())).toEqual(['discarded 5 mlgw.truncated@0', 'discarded 5 mlgw.sync@5']);
    expect(s.push(hex('55 55 55'))).toEqual([]);
    expect(summary(s.flush())).toEqual(['discarded 3 mlgw.truncated@10']);
    expect(s.pending).toBe(0);
  });
});
