import { PassThrough, Readable } from 'node:stream';
import { fc, test } from '@fast-check/vitest';
import { describe, expect, it } from 'vitest';
import { decodeDlt645Hex, decodeStdinCommand } from './decode.ts';

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
