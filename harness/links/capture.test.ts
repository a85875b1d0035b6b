import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { hex, toHex } from '../core/bytes.ts';
import { VirtualClock, withTimeout } from '../core/clock.ts';
import { Rs485Bus } from './bus.ts';
import { collectBytes } from './test-support.ts';
import {
  CaptureError,
  CaptureTap,
  coalesceCapture,
  JsonlFileCaptureSink,
  MemoryCaptureSink,
  readCapture,
  ScriptedPeer,
  type CaptureRecord,
  type Describe,
} from './capture.ts';
import { createMemoryPair } from './memory.ts';

/** Read 00010000 from 123456789012, and its answer (1234.56 kWh). */
const REQUEST = hex('68 12 90 78 56 34 12 68 11 04 33 33 34 33 B3 16');
const RESPONSE = hex('68 12 90 78 56 34 12 68 91 08 33 33 34 33 89 67 45 33 09 16');
const START = Date.UTC(2026, 0, 1, 0, 0, 0);

const describeFrame: Describe = (bytes, dir) =>
  bytes[0] === 0x68 && bytes[bytes.length - 1] === 0x16 ? `${dir === 'tx' ? 'request' : 'response'} ${bytes.length} bytes` : undefined;

let dirs: string[] = [];
afterEach(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
  dirs = [];
});
function tempDir(): string {
  const d = mkdtempSync(join(tmpdir(), 'meterlab-capture-'));
  dirs.push(d);
  return d;
}

const waitFor = collectBytes;

describe('CaptureTap', () => {
  it('records every chunk in both directions with time, dir, hex and decode', async () => {
    const clock = new VirtualClock({ start: START });
    const [master, meter] = createMemoryPair({ names: ['master', 'meter'] });
    const sink = new MemoryCaptureSink();
    const tap = new CaptureTap({ link: master, clock, sink, describe: describeFrame });
    const got: string[] = [];
    tap.on('data', (c) => got.push(toHex(c)));
    meter.on('data', () => void clock.sleep(50).then(() => meter.write(RESPONSE)));
    await tap.write(REQUEST);
    await clock.sleep(100);
    expect(got).toEqual([toHex(RESPONSE)]);
    expect(sink.records).toEqual([
      { t: '2026-01-01T00:00:00.000Z', ms: START, link: 'master', dir: 'tx', hex: toHex(REQUEST), decode: 'request 16 bytes' },
      { t: '2026-01-01T00:00:00.050Z', ms: START + 50, link: 'master', dir: 'rx', hex: toHex(RESPONSE), decode: 'response 20 bytes' },
    ]);
    expect(sink.records[0]!.hex).toBe('68 12 90 78 56 34 12 68 11 04 33 33 34 33 B3 16');
    await tap.close();
    expect(tap.isOpen).toBe(false);
  });

  async function busSession(delivery: 'byte' | 'frame'): Promise<{ raw: CaptureRecord[]; framed: CaptureRecord[] }> {
    const clock = new VirtualClock({ start: START });
    const bus = new Rs485Bus({ clock, delivery });
    const raw = new MemoryCaptureSink();
    const framed = new MemoryCaptureSink();
    const meterNode = bus.attach('meter');
    const rawTap = new CaptureTap({ link: bus.attach('master'), clock, sink: raw });
    const tap = new CaptureTap({ link: rawTap, clock, sink: framed, coalesceMs: 20, describe: describeFrame, name: 'master' });
    meterNode.on('data', () => undefined);
    void waitFor(meterNode, REQUEST.length).then(async () => {
      await clock.sleep(30);
      await meterNode.write(RESPONSE);
    });
    const reply = waitFor(tap, RESPONSE.length);
    await tap.write(REQUEST);
    await reply;
    await clock.sleep(50);
    return { raw: raw.records, framed: framed.records };
  }

  it('coalesces one-byte bus chunks into one record per frame (live and afterwards)', async () => {
    const { raw, framed } = await busSession('byte');
    expect(raw.filter((r) => r.dir === 'rx')).toHaveLength(RESPONSE.length);
    expect(framed.map((r) => [r.dir, r.hex, r.decode])).toEqual([
      ['tx', toHex(REQUEST), 'request 16 bytes'],
      ['rx', toHex(RESPONSE), 'response 20 bytes'],
    ]);
    const after = coalesceCapture(raw, 20, describeFrame);
    expect(after.map((r) => [r.dir, r.hex, r.decode])).toEqual(framed.map((r) => [r.dir, r.hex, r.decode]));
    // The first response byte ends 30 ms + 1 character after the request left the wire.
    expect(after[1]!.ms - START).toBeCloseTo((16 * 11 * 1000) / 2400 + 30 + (11 * 1000) / 2400, 3);
  });

  it('stamps a frame the bus delivers whole with its first byte\'s arrival: the same records as byte delivery', async () => {
    const bytes = await busSession('byte');
    const frames = await busSession('frame');
    // Uncoalesced, the reply is one record, stamped when its first byte arrived.
    expect(frames.raw.map((r) => [r.dir, r.hex])).toEqual([
      ['tx', toHex(REQUEST)],
      ['rx', toHex(RESPONSE)],
    ]);
    expect(frames.raw[1]!.ms).toBeCloseTo(bytes.raw.find((r) => r.dir === 'rx')!.ms, 6);
    expect(frames.framed.map((r) => [r.t, r.dir, r.hex, r.decode])).toEqual(bytes.framed.map((r) => [r.t, r.dir, r.hex, r.decode]));
    frames.framed.forEach((r, i) => expect(r.ms).toBeCloseTo(bytes.framed[i]!.ms, 6));
  });
});

describe('JSON Lines captures', () => {
  it('round-trips through a file and readCapture', async () => {
    const path = join(tempDir(), 'nested', 'run.jsonl');
    const clock = new VirtualClock({ start: START });
    const [a, b] = createMemoryPair({ names: ['master', 'meter'] });
    const file = new JsonlFileCaptureSink(path);
    const memory = new MemoryCaptureSink();
    const tap = new CaptureTap({ link: a, clock, sink: [file, memory], describe: describeFrame });
    b.on('data', () => void b.write(RESPONSE));
    await tap.write(REQUEST);
    await clock.sleep(1);
    await file.close();
    expect(readCapture(path)).toEqual(memory.records);
    expect(memory.records).toHaveLength(2);
    file.write(memory.records[0]!); // late records are counted, never thrown from a data handler
    expect(file.droppedAfterClose).toBe(1);
    // Appending: a second sink on the same file adds to it.
    const again = new JsonlFileCaptureSink(path);
    again.write(memory.records[1]!);
    await again.close();
    expect(readCapture(path)).toEqual([...memory.records, memory.records[1]]);
  });

  it('names the bad line', () => {
    const path = join(tempDir(), 'bad.jsonl');
    const good: CaptureRecord = { t: '2026-01-01T00:00:00.000Z', ms: START, link: 'x', dir: 'tx', hex: '68' };
    writeFileSync(path, `${JSON.stringify(good)}\n\n${JSON.stringify({ ...good, dir: 'up' })}\n`);
    expect(() => readCapture(path)).toThrow(CaptureError);
    expect(() => readCapture(path)).toThrow(/bad\.jsonl line 3: "dir" is neither "tx" nor "rx"/);
    writeFileSync(path, `${JSON.stringify({ ...good, hex: '6' })}\n`);
    expect(() => readCapture(path)).toThrow(/line 1: "hex" is not hex/);
    writeFileSync(path, '{"t": oops\n');
    try {
      readCapture(path);
      expect.unreachable();
    } catch (e) {
      expect(e).toBeInstanceOf(CaptureError);
      expect((e as CaptureError).line).toBe(1);
    }
    expect(() => readCapture(join(tempDir(), 'missing.jsonl'))).toThrow(/cannot read capture .*missing\.jsonl: ENOENT/);
  });
});

describe('ScriptedPeer', () => {
  const records: CaptureRecord[] = [
    { t: '', ms: 1000, link: 'master', dir: 'tx', hex: '68 01' },
    { t: '', ms: 1001, link: 'master', dir: 'tx', hex: '02 16' },
    { t: '', ms: 1081, link: 'master', dir: 'rx', hex: '68 81' },
    { t: '', ms: 1091, link: 'master', dir: 'rx', hex: '16' },
    { t: '', ms: 2000, link: 'master', dir: 'tx', hex: '68 03 16' },
    { t: '', ms: 2500, link: 'master', dir: 'rx', hex: '68 83 16' },
  ];

  it('answers each expected request with the recorded reply and timing', async () => {
    const clock = new VirtualClock({ start: 0 });
    const [master, peerEnd] = createMemoryPair();
    const peer = new ScriptedPeer({ link: peerEnd, records, clock });
    const got: [number, string][] = [];
    master.on('data', (c) => got.push([clock.now(), toHex(c)]));
    await master.write(hex('68 01 02')); // chunking differs from the capture's
    await master.write(hex('16'));
    await withTimeout(clock, waitFor(master, 3), 1000, 'no reply');
    expect(got).toEqual([
      [80, '68 81'],
      [90, '16'],
    ]);
    expect(peer.remaining).toBe(1);
    const before = clock.now();
    await master.write(hex('68 03 16'));
    await peer.done;
    expect(got[2]).toEqual([before + 500, '68 83 16']);
    expect(peer.mismatches).toEqual([]);
  });

  it('reports bytes it did not expect and keeps waiting', async () => {
    const clock = new VirtualClock({ start: 0 });
    const [master, peerEnd] = createMemoryPair();
    const peer = new ScriptedPeer({ link: peerEnd, records, clock, timing: 'immediate' });
    const got: string[] = [];
    master.on('data', (c) => got.push(toHex(c)));
    await master.write(hex('68 09'));
    await master.write(hex('68 01 02 16'));
    await clock.sleep(1);
    expect(peer.mismatches).toEqual([{ step: 0, expected: '68 01 02 16', received: '68 09' }]);
    expect(got).toEqual(['68 81', '16']);
  });
});
