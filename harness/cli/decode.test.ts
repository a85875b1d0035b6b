import { PassThrough, Readable, Writable } from 'node:stream';
import { fc, test } from '@fast-check/vitest';
import { describe, expect, it } from 'vitest';
import { toHex } from '../core/bytes.ts';
import { encodeMessage } from '../protocols/dlt645/index.ts';
import { decodeCjt188Hex, decodeDlt645Hex, decodeGw1376Hex, decodeStdinCommand, MAX_LINE_LENGTH } from './decode.ts';
import { meterlab } from './testing.ts';

/** Read of forward active total energy (DI 00010000) from meter 123456789012 (PROTOCOLS.md 1.2, 1.9). */
const READ_00010000 = '68 12 90 78 56 34 12 68 11 04 33 33 34 33 68 16';

async function stdinRun(text: string): Promise<{ code: number; lines: unknown[] }> {
  const out = new PassThrough();
  const chunks: Buffer[] = [];
  out.on('data', (c: Buffer) => chunks.push(c));
  const code = await decodeStdinCommand(Readable.from([text]), out);
  const lines = Buffer.concat(chunks)
    .toString('utf8')
    .split('\n')
    .filter(Boolean)
    .map((l) => JSON.parse(l) as unknown);
  return { code, lines };
}

describe('decodeDlt645Hex', () => {
  it('decodes a read request', () => {
    const r = decodeDlt645Hex(READ_00010000);
    expect(r.ok).toBe(true);
    expect(r.json).toMatchObject({ ok: true, address: '123456789012', message: { kind: 'readData', di: '00010000' } });
  });

  it('reports bad hex with a character offset', () => {
    expect(decodeDlt645Hex('68 1G')).toEqual({
      ok: false,
      json: { ok: false, error: { code: 'hex.invalid-character', message: "invalid hex character 'G' at character 4", offset: 4 } },
    });
  });

  it('reports a bad checksum at the CS byte', () => {
    const r = decodeDlt645Hex(READ_00010000.replace(/68 16$/, '69 16'));
    expect(r).toMatchObject({ ok: false, json: { ok: false, error: { code: 'dlt645.checksum', offset: 14 } } });
  });

  it('rejects bytes after the frame', () => {
    const r = decodeDlt645Hex(`${READ_00010000} 00`);
    expect(r).toMatchObject({ ok: false, json: { error: { code: 'dlt645.trailing', offset: 16 } } });
  });

  test.prop([fc.string({ maxLength: 80 })])('never throws on any text', (text) => {
    const r = decodeDlt645Hex(text);
    expect(typeof r.ok).toBe('boolean');
    expect(() => JSON.stringify(r.json)).not.toThrow();
  });

  test.prop([fc.uint8Array({ maxLength: 64 })])('never throws on any bytes', (bytes) => {
    const text = [...bytes].map((b) => b.toString(16).padStart(2, '0')).join(' ');
    const r = decodeDlt645Hex(`68 12 90 78 56 34 12 68 ${text}`);
    expect(typeof r.ok).toBe('boolean');
  });
});

describe('decodeStdinCommand', () => {
  it('prints one JSON object per non-blank line and exits 1 when any line is rejected', async () => {
    const { code, lines } = await stdinRun(`${READ_00010000}\n\n  \nnot hex\r\n68 12 90\n${READ_00010000}\n`);
    expect(code).toBe(1);
    expect(lines).toHaveLength(4);
    expect(lines[0]).toMatchObject({ ok: true });
    expect(lines[1]).toMatchObject({ ok: false, error: { code: 'hex.invalid-character' } });
    expect(lines[2]).toMatchObject({ ok: false, error: { code: 'dlt645.truncated' } });
    expect(lines[3]).toMatchObject({ ok: true });
  });

  it('exits 0 when every line decodes, and on empty input', async () => {
    expect((await stdinRun(`${READ_00010000}\n${READ_00010000}`)).code).toBe(0);
    expect(await stdinRun('')).toEqual({ code: 0, lines: [] });
  });
});

/** Lets the event loop run one turn (I/O callbacks, immediates): what a slow reader gives the writer. */
const turn = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

/**
 * A reader of stdout slower than the decoder: a small buffer, and each write is acknowledged
 * only on a later event-loop turn. Records the most bytes ever buffered in it.
 */
class SlowReader extends Writable {
  maxBuffered = 0;
  readonly lines: string[] = [];
  private partial = '';

  constructor(readonly highWaterMark: number) {
    super({ highWaterMark });
  }

  override _write(chunk: Buffer, _encoding: BufferEncoding, done: (error?: Error | null) => void): void {
    this.maxBuffered = Math.max(this.maxBuffered, this.writableLength);
    const text = this.partial + chunk.toString('utf8');
    const parts = text.split('\n');
    this.partial = parts.pop()!;
    this.lines.push(...parts);
    setImmediate(() => done());
  }
}

/** `count` numbered lines: a read of 00010000 from meter address `i` (12 digits), every 7th line not hex. */
function numberedLine(i: number): string {
  if (i % 7 === 3) return `line ${i} is not hex`;
  return toHex(encodeMessage(String(i).padStart(12, '0'), { kind: 'readData', di: '00010000', extra: new Uint8Array(0) }));
}

describe('decodeStdinCommand with a slow reader and hostile input', () => {
  it('honours backpressure: the reader never holds more than a few buffers, and every line comes out in order', async () => {
    const count = 3000;
    const input = Readable.from(
      (function* () {
        // 100 lines a chunk, as a pipe would deliver them.
        for (let i = 0; i < count; i += 100) {
          yield Array.from({ length: Math.min(100, count - i) }, (_, k) => `${numberedLine(i + k)}\n`).join('');
        }
      })(),
      { objectMode: false },
    );
    const out = new SlowReader(1024);
    const code = await decodeStdinCommand(input, out);
    await new Promise<void>((resolve) => out.end(resolve));
    expect(code).toBe(1);
    // Without backpressure the whole output (about 1.3 MB here) piles up in the reader's buffer.
    expect(out.maxBuffered).toBeLessThanOrEqual(4 * out.highWaterMark);
    expect(out.lines).toHaveLength(count);
    out.lines.forEach((text, i) => {
      const json = JSON.parse(text) as { ok: boolean; address?: string; error?: { code: string } };
      if (i % 7 === 3) expect(json, `line ${i}`).toMatchObject({ ok: false, error: { code: 'hex.invalid-character' } });
      else expect(json, `line ${i}`).toMatchObject({ ok: true, address: String(i).padStart(12, '0') });
    });
  });

  it('reads no further ahead than its buffers while the reader is stalled', async () => {
    let produced = 0;
    const line = `${numberedLine(1)}\n`;
    const input = new Readable({
      highWaterMark: 4096,
      read() {
        // 1000 chunks of 20 lines (about 1 MB) at most, so a decoder that ignores backpressure ends too.
        produced += 1;
        this.push(produced > 1000 ? null : line.repeat(20));
      },
    });
    // A reader that never acknowledges anything.
    const out = new Writable({ highWaterMark: 1024, write: () => undefined });
    void decodeStdinCommand(input, out);
    for (let i = 0; i < 200; i++) await turn();
    // Without backpressure on the write side the loop would keep pulling input as long as it comes.
    expect(out.writableLength).toBeLessThanOrEqual(4 * 1024);
    expect(produced * line.length * 20).toBeLessThanOrEqual(64 * 1024);
    input.destroy();
  });

  it('answers a line of several MiB without a line break with one error line, without collecting it, and goes on', async () => {
    const chunk = 'AA '.repeat(64 * 1024 / 3); // 64 KiB-ish of valid hex
    const chunks = Math.ceil((4 * 1024 * 1024) / chunk.length); // about 4 MiB on one line
    let producedAtError = -1;
    let produced = 0;
    const out = new PassThrough();
    const lines: string[] = [];
    out.on('data', (c: Buffer) => {
      for (const l of c.toString('utf8').split('\n').filter(Boolean)) {
        if (l.includes('input.line-too-long')) producedAtError = produced;
        lines.push(l);
      }
    });
    const input = Readable.from(
      (function* () {
        yield `${READ_00010000}\n`;
        for (let i = 0; i < chunks; i++) {
          produced += chunk.length;
          yield chunk;
        }
        yield `\n${READ_00010000}\r\n`;
      })(),
      { objectMode: false },
    );
    const code = await decodeStdinCommand(input, out);
    expect(code).toBe(1);
    expect(lines.map((l) => JSON.parse(l) as unknown)).toEqual([
      expect.objectContaining({ ok: true }),
      {
        ok: false,
        error: {
          code: 'input.line-too-long',
          message: `line longer than ${MAX_LINE_LENGTH} characters (one hex frame per line); skipped up to the next line break`,
          offset: MAX_LINE_LENGTH,
        },
      },
      expect.objectContaining({ ok: true, message: expect.objectContaining({ di: '00010000' }) }),
    ]);
    // The error was out while the long line was still arriving: it was never collected whole.
    expect(producedAtError).toBeGreaterThan(0);
    expect(producedAtError).toBeLessThan(2 * MAX_LINE_LENGTH);
  });

  it('accepts a line of exactly the limit, refuses one character more, and counts CRLF as one line break', async () => {
    const hex = READ_00010000.replace(/ /g, '');
    const padded = (n: number): string => `${' '.repeat(n - hex.length)}${hex}`;
    const out = new PassThrough();
    const chunks: Buffer[] = [];
    out.on('data', (c: Buffer) => chunks.push(c));
    const code = await decodeStdinCommand(Readable.from([`${padded(100)}\r\n${padded(101)}\r${padded(100)}`]), out, { maxLineLength: 100 });
    const lines = Buffer.concat(chunks).toString('utf8').trim().split('\n').map((l) => JSON.parse(l) as { ok: boolean; error?: { code: string } });
    expect(code).toBe(1);
    expect(lines.map((l) => l.ok)).toEqual([true, false, true]);
    expect(lines[1]!.error!.code).toBe('input.line-too-long');
  });

  it('stops with one clear error when the reader goes away', async () => {
    const out = new Writable({
      highWaterMark: 16,
      write: (_c, _e, done) => done(Object.assign(new Error('write EPIPE'), { code: 'EPIPE' })),
    });
    out.on('error', () => undefined);
    const input = Readable.from(Array.from({ length: 1000 }, () => `${READ_00010000}\n`));
    await expect(decodeStdinCommand(input, out)).rejects.toThrow('cannot write to stdout: EPIPE');
  });
});

/** Vector 0 of shared/vectors/cjt188.json: read-data reply 901F, 556677.00 m³, 2015-05-11 22:01:31, ST 21 84. */
const CJT188_REPLY = '68 10 44 33 22 11 00 33 78 81 16 1F 90 00 00 77 66 55 2C 00 77 66 55 2C 31 01 22 11 05 15 20 21 84 13 16';

describe('decodeCjt188Hex', () => {
  it('decodes a read-data reply with its typed value and dictionary item', () => {
    const r = decodeCjt188Hex(CJT188_REPLY);
    expect(r.ok).toBe(true);
    expect(r.json).toMatchObject({
      ok: true,
      protocol: 'cjt188',
      meterType: { raw: '10', name: 'coldWater' },
      address: '78330011223344',
      message: { kind: 'readDataResponse', di: '901F', value: { currentFlow: { value: 556677, unit: 'm³' }, status: { valve: 'closed', batteryLow: false } } },
      item: { di: '901F', name: 'metering data' },
    });
  });

  it('reports bad hex, a bad checksum and trailing bytes like decode dlt645', () => {
    expect(decodeCjt188Hex('68 1G')).toEqual(decodeDlt645Hex('68 1G'));
    expect(decodeCjt188Hex(CJT188_REPLY.replace(/13 16$/, '14 16'))).toMatchObject({ ok: false, json: { ok: false, error: { code: 'cjt188.checksum', offset: 33 } } });
    expect(decodeCjt188Hex(`${CJT188_REPLY} 00`)).toMatchObject({ ok: false, json: { error: { code: 'cjt188.trailing', offset: 35 } } });
  });

  it('keeps the frame fields and says why when the message does not decode', () => {
    // 901F reply whose current flow holds 5AH (not BCD); CS fixed up: F6H.
    const r = decodeCjt188Hex('68 10 44 33 22 11 00 33 78 81 16 1F 90 00 00 5A 66 55 2C 00 77 66 55 2C 31 01 22 11 05 15 20 21 84 F6 16');
    expect(r).toMatchObject({ ok: false, json: { ok: false, control: { raw: '81' }, error: { code: 'cjt188.bcd', offset: 15 } } });
  });

  test.prop([fc.string({ maxLength: 80 })])('never throws on any text', (text) => {
    const r = decodeCjt188Hex(text);
    expect(typeof r.ok).toBe('boolean');
    expect(() => JSON.stringify(r.json)).not.toThrow();
  });

  it('--stdin with protocol cjt188: one JSON object per line, exit 1 when any is rejected', async () => {
    const out = new PassThrough();
    const chunks: Buffer[] = [];
    out.on('data', (c: Buffer) => chunks.push(c));
    const code = await decodeStdinCommand(Readable.from([`${CJT188_REPLY}\n\nnot hex\r\n68 10 44\n`]), out, { protocol: 'cjt188' });
    const lines = Buffer.concat(chunks).toString('utf8').trim().split('\n').map((l) => JSON.parse(l) as { ok: boolean; error?: { code: string } });
    expect(code).toBe(1);
    expect(lines.map((l) => l.ok)).toEqual([true, false, false]);
    expect(lines.map((l) => l.error?.code)).toEqual([undefined, 'hex.invalid-character', 'cjt188.truncated']);
  });
});

/** Vector 22 of shared/vectors/cjt188.json: a heat meter's 901F reply with ST 00 05 (open and battery normal in the standard layout, closed and battery low in KingDa's). */
const CJT188_ST_0005 = '68 25 12 19 24 18 27 31 00 81 2E 1F 90 03 11 74 02 00 05 88 27 44 05 05 00 00 00 00 17 00 00 00 00 35 08 56 71 00 2C 79 26 00 64 26 00 66 47 07 11 52 17 03 09 25 20 00 05 2A 16';

describe('meterlab decode cjt188 --dialect', () => {
  it('reads ST under the named dialect (one frame and --stdin), and refuses an unknown one', async () => {
    const standard = await meterlab(['decode', 'cjt188', CJT188_ST_0005]);
    expect(standard.code).toBe(0);
    expect(JSON.parse(standard.stdout)).toMatchObject({ message: { value: { status: { raw: '00 05', valve: 'open', batteryLow: false, layout: 'standard' } } } });
    const kingda = await meterlab(['decode', 'cjt188', '--dialect', 'kingda', CJT188_ST_0005]);
    expect(JSON.parse(kingda.stdout)).toMatchObject({ message: { value: { status: { valve: 'closed', batteryLow: true, layout: 'kingda' } } } });
    const stdin = await meterlab(['decode', 'cjt188', '--stdin', '--dialect', 'kingda'], { input: `${CJT188_ST_0005}\n` });
    expect(JSON.parse(stdin.stdout)).toMatchObject({ message: { value: { status: { layout: 'kingda', valve: 'closed' } } } });
    const bad = await meterlab(['decode', 'cjt188', '--dialect', 'sideways', CJT188_ST_0005]);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/--dialect.*sideways.*standard, foxEdge, kingda, masks/);
  }, 60_000);
});

/** Vector 8 of shared/vectors/1376-1.json: the master confirms a heartbeat with AFN 00 F3 (AFN 02, p0 F3, ERR 00). */
const GW1376_F3 = '68 4A 00 4A 00 68 0B 20 21 07 00 00 00 61 00 00 04 00 02 00 00 04 00 00 BE 16';

describe('decodeGw1376Hex', () => {
  it('decodes a per-item confirmation with its data unit value and dictionary name', () => {
    const r = decodeGw1376Hex(GW1376_F3);
    expect(r.ok).toBe(true);
    expect(r.json).toMatchObject({
      ok: true,
      protocol: 'gw1376',
      control: { raw: '0B', dir: 'down', prm: false, functionName: 'linkStatus' },
      address: { areaCode: '2120', terminal: 7, kind: 'unicast' },
      afn: { raw: '00' },
      units: [{ items: [{ pn: 0, fn: 3, name: 'confirm/deny per data unit', value: { afn: 2, items: [{ da: '00 00', dt: '04 00', err: 0 }] } }] }],
    });
  });

  it('shows an AFN 0D F81 curve with Td_c and its points, EEH as null (COL-12)', () => {
    // Reply p1 F81: Td_c 2026-11-29 23:30, m 1, n 4; points +1.5, -0.25, EEH, +79.9999 kW (curves.test.ts).
    const r = decodeGw1376Hex('68 7E 00 7E 00 68 88 00 02 34 12 02 0D 63 01 01 01 0A 30 23 29 11 26 01 04 00 50 01 00 25 80 EE EE EE 99 99 79 72 16');
    expect(r).toMatchObject({
      ok: true,
      json: { units: [{ items: [{ pn: 1, fn: 81, name: 'total active power curve', value: { start: '2026-11-29 23:30', density: 1, pointCount: 4, points: [{ value: 1.5 }, { value: -0.25 }, { value: null }, { value: 79.9999 }] } }] }] },
    });
  });

  it('reports bad hex, a bad checksum and trailing bytes like decode dlt645', () => {
    expect(decodeGw1376Hex('68 1G')).toEqual(decodeDlt645Hex('68 1G'));
    expect(decodeGw1376Hex(GW1376_F3.replace(/BE 16$/, 'BF 16'))).toMatchObject({ ok: false, json: { ok: false, error: { code: 'gw1376.checksum', offset: 24 } } });
    expect(decodeGw1376Hex(`${GW1376_F3} 16`)).toMatchObject({ ok: false, json: { error: { code: 'gw1376.trailing', offset: 26 } } });
  });

  it('keeps the frame fields and says why when the data units do not decode', () => {
    // Uplink AFN 0C F2 whose clock has 5AH minutes (not BCD); CS fixed up.
    const r = decodeGw1376Hex('68 4A 00 4A 00 68 88 00 02 34 12 00 0C 61 00 00 02 00 28 5A 13 30 31 26 5B 16');
    expect(r).toMatchObject({ ok: false, json: { ok: false, afn: { raw: '0C' }, error: { code: 'gw1376.bcd', offset: 18 } } });
  });

  test.prop([fc.string({ maxLength: 80 })])('never throws on any text', (text) => {
    const r = decodeGw1376Hex(text);
    expect(typeof r.ok).toBe('boolean');
    expect(() => JSON.stringify(r.json)).not.toThrow();
  });
});
