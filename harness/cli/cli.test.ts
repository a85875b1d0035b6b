/**
 * The `meterlab` command as a user runs it: `node bin/meterlab.js ...` in a child process.
 * Checks output shape and exit codes, and that errors are one line without a stack.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { expectOneErrorLine, meterlab, REPO } from './testing.ts';

/** Read of forward active total energy (DI 00010000) from meter 123456789012 (PROTOCOLS.md 1.2, 1.9). */
const READ_00010000 = '68 12 90 78 56 34 12 68 11 04 33 33 34 33 68 16';

const tmp = mkdtempSync(join(tmpdir(), 'meterlab-cli-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

describe('meterlab decode dlt645', () => {
  it('prints the decoded frame as JSON and exits 0', async () => {
    const r = await meterlab(['decode', 'dlt645', READ_00010000]);
    expect(r.code).toBe(0);
    expect(r.stderr).toBe('');
    const lines = r.stdout.trim().split('\n');
    expect(lines).toHaveLength(1);
    expect(JSON.parse(lines[0]!)).toMatchObject({
      ok: true,
      address: '123456789012',
      control: { raw: '11', functionName: 'readData' },
      message: { kind: 'readData', di: '00010000' },
    });
  });

  it('accepts the hex unquoted, as several arguments', async () => {
    const r = await meterlab(['decode', 'dlt645', ...READ_00010000.split(' ')]);
    expect(r.code).toBe(0);
    expect(JSON.parse(r.stdout)).toMatchObject({ message: { di: '00010000' } });
  });

  it('bad hex: one JSON line with the error, exit 1', async () => {
    const r = await meterlab(['decode', 'dlt645', '68 12 9']);
    expect(r.code).toBe(1);
    expect(r.stderr).toBe('');
    expect(r.stdout.trim().split('\n')).toHaveLength(1);
    expect(JSON.parse(r.stdout)).toEqual({ ok: false, error: { code: 'hex.odd-length', message: 'odd number of hex digits (5)', offset: 6 } });
  });

  it('--stdin: one JSON object per line, blank lines skipped, exit 1 when any is rejected', async () => {
    const input = [READ_00010000, '', 'FE FE 68 AA AA AA AA AA AA 68 13 00 DF 16', 'xyz', '68 12 90 78 56 34 12 68 11 04 33 33 34 33 69 16', ''].join('\n');
    const r = await meterlab(['decode', 'dlt645', '--stdin'], { input });
    expect(r.code).toBe(1);
    const lines = r.stdout.trim().split('\n').map((l) => JSON.parse(l) as { ok: boolean; error?: { code: string } });
    expect(lines.map((l) => l.ok)).toEqual([true, true, false, false]);
    expect(lines[2]!.error!.code).toBe('hex.invalid-character');
    expect(lines[3]!.error!.code).toBe('dlt645.checksum');
    const good = await meterlab(['decode', 'dlt645', '--stdin'], { input: `${READ_00010000}\n` });
    expect(good.code).toBe(0);
  });

  it('missing frame: usage error, one line, exit 2', async () => {
    const r = await meterlab(['decode', 'dlt645']);
    expect(r.code).toBe(2);
    expect(expectOneErrorLine(r)).toContain('missing hex frame');
  });
});

/** Vector 0 of shared/vectors/cjt188.json: read-data reply 901F from cold water meter 78330011223344. */
const CJT188_REPLY = '68 10 44 33 22 11 00 33 78 81 16 1F 90 00 00 77 66 55 2C 00 77 66 55 2C 31 01 22 11 05 15 20 21 84 13 16';

describe('meterlab decode cjt188', () => {
  it('prints the decoded frame as JSON and exits 0; the hex may be several arguments', async () => {
    const r = await meterlab(['decode', 'cjt188', CJT188_REPLY]);
    expect(r.code).toBe(0);
    expect(r.stderr).toBe('');
    expect(r.stdout.trim().split('\n')).toHaveLength(1);
    expect(JSON.parse(r.stdout)).toMatchObject({
      ok: true,
      address: '78330011223344',
      control: { raw: '81', functionName: 'readData' },
      message: { kind: 'readDataResponse', di: '901F', value: { currentFlow: { value: 556677, unit: 'm³' } } },
    });
    const split = await meterlab(['decode', 'cjt188', ...CJT188_REPLY.split(' ')]);
    expect(split.code).toBe(0);
    expect(JSON.parse(split.stdout)).toEqual(JSON.parse(r.stdout));
  });

  it('bad hex or a bad frame: one JSON line with the error, exit 1', async () => {
    const r = await meterlab(['decode', 'cjt188', '68 10 9']);
    expect(r.code).toBe(1);
    expect(r.stderr).toBe('');
    expect(JSON.parse(r.stdout)).toEqual({ ok: false, error: { code: 'hex.odd-length', message: 'odd number of hex digits (5)', offset: 6 } });
    const cs = await meterlab(['decode', 'cjt188', CJT188_REPLY.replace(/13 16$/, '14 16')]);
    expect(cs.code).toBe(1);
    expect(JSON.parse(cs.stdout)).toMatchObject({ ok: false, error: { code: 'cjt188.checksum', offset: 33 } });
  });

  it('--stdin: one JSON object per line, blank lines skipped, exit 1 when any is rejected', async () => {
    const input = [CJT188_REPLY, '', 'FE FE FE 68 10 01 00 00 05 08 00 00 2A 04 A0 17 00 55 C0 16', 'xyz', ''].join('\n');
    const r = await meterlab(['decode', 'cjt188', '--stdin'], { input });
    expect(r.code).toBe(1);
    const lines = r.stdout.trim().split('\n').map((l) => JSON.parse(l) as { ok: boolean; message?: { kind: string }; error?: { code: string } });
    expect(lines.map((l) => l.ok)).toEqual([true, true, false]);
    expect(lines[1]!.message!.kind).toBe('valveControl');
    expect(lines[2]!.error!.code).toBe('hex.invalid-character');
    const good = await meterlab(['decode', 'cjt188', '--stdin'], { input: `${CJT188_REPLY}\n` });
    expect(good.code).toBe(0);
  });

  it('missing frame, or a frame and --stdin: usage error, one line, exit 2', async () => {
    const r = await meterlab(['decode', 'cjt188']);
    expect(r.code).toBe(2);
    expect(expectOneErrorLine(r)).toContain('missing hex frame');
    const both = await meterlab(['decode', 'cjt188', '--stdin', CJT188_REPLY]);
    expect(both.code).toBe(2);
    expect(expectOneErrorLine(both)).toContain('not both');
  });
});

/** Vector 0 of shared/vectors/1376-1.json: terminal login (AFN 02 F1), A1 0200, A2 1234H. */
const GW1376_LOGIN = '68 32 00 32 00 68 C9 00 02 34 12 00 02 71 00 00 01 00 85 16';
/** Vector 3: the master's reset AFN 01 F1 with PW and Tp. */
const GW1376_RESET = '68 8A 00 8A 00 68 41 00 02 34 12 04 01 F0 00 00 01 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 28 53 13 07 05 19 16';

describe('meterlab decode gw1376', () => {
  it('prints the decoded frame as JSON and exits 0; the hex may be several arguments', async () => {
    const r = await meterlab(['decode', 'gw1376', GW1376_LOGIN]);
    expect(r.code).toBe(0);
    expect(r.stderr).toBe('');
    expect(r.stdout.trim().split('\n')).toHaveLength(1);
    expect(JSON.parse(r.stdout)).toMatchObject({
      ok: true,
      protocol: 'gw1376',
      control: { raw: 'C9', dir: 'up', prm: true, functionName: 'linkTest' },
      address: { areaCode: '0200', terminal: 4660, msa: 0, group: false },
      afn: { raw: '02', name: 'link test' },
      seq: { raw: '71', con: true, seq: 1, position: 'single' },
      units: [{ pn: [0], fn: [1], items: [{ pn: 0, fn: 1, name: 'login', value: {} }] }],
    });
    const split = await meterlab(['decode', 'gw1376', ...GW1376_RESET.split(' ')]);
    expect(split.code).toBe(0);
    expect(JSON.parse(split.stdout)).toMatchObject({ aux: { pw: Array(16).fill('00').join(' '), tp: { pfc: 0, sendTime: 'day 07 13:53:28', delayMinutes: 5 } } });
  });

  it('bad hex, a bad frame, bytes after the frame: one JSON line with the error, exit 1', async () => {
    const r = await meterlab(['decode', 'gw1376', '68 32 0']);
    expect(r.code).toBe(1);
    expect(r.stderr).toBe('');
    expect(JSON.parse(r.stdout)).toEqual({ ok: false, error: { code: 'hex.odd-length', message: 'odd number of hex digits (5)', offset: 6 } });
    const cs = await meterlab(['decode', 'gw1376', GW1376_LOGIN.replace(/85 16$/, '86 16')]);
    expect(cs.code).toBe(1);
    expect(JSON.parse(cs.stdout)).toMatchObject({ ok: false, error: { code: 'gw1376.checksum', offset: 18 } });
    const more = await meterlab(['decode', 'gw1376', `${GW1376_LOGIN} 00`]);
    expect(more.code).toBe(1);
    expect(JSON.parse(more.stdout)).toMatchObject({ ok: false, error: { code: 'gw1376.trailing', offset: 20 } });
  });

  it('--stdin: one JSON object per line, blank lines skipped, exit 1 when any is rejected', async () => {
    const input = [GW1376_LOGIN, '', GW1376_RESET, 'xyz', '68 32 00 33 00 68 C9 00 02 34 12 00 02 71 00 00 01 00 85 16', ''].join('\n');
    const r = await meterlab(['decode', 'gw1376', '--stdin'], { input });
    expect(r.code).toBe(1);
    const lines = r.stdout.trim().split('\n').map((l) => JSON.parse(l) as { ok: boolean; afn?: { raw: string }; error?: { code: string; offset: number } });
    expect(lines.map((l) => l.ok)).toEqual([true, true, false, false]);
    expect(lines[1]!.afn!.raw).toBe('01');
    expect(lines[2]!.error!.code).toBe('hex.invalid-character');
    expect(lines[3]!.error).toMatchObject({ code: 'gw1376.length-mismatch', offset: 3 });
    const good = await meterlab(['decode', 'gw1376', '--stdin'], { input: `${GW1376_LOGIN}\n` });
    expect(good.code).toBe(0);
  });

  it('missing frame, or a frame and --stdin: usage error, one line, exit 2', async () => {
    const r = await meterlab(['decode', 'gw1376']);
    expect(r.code).toBe(2);
    expect(expectOneErrorLine(r)).toContain('missing hex frame');
    const both = await meterlab(['decode', 'gw1376', '--stdin', GW1376_LOGIN]);
    expect(both.code).toBe(2);
    expect(expectOneErrorLine(both)).toContain('not both');
  });
});

/** A REQ_UD2 to primary address 5 (EN 13757-2 short frame: 10 C A CS 16). */
const MBUS_REQ_UD2 = '10 5B 05 60 16';

describe('meterlab decode mbus', () => {
  it('prints the decoded frame as JSON and exits 0; a long frame with its header and records', async () => {
    const r = await meterlab(['decode', 'mbus', MBUS_REQ_UD2]);
    expect(r.code).toBe(0);
    expect(r.stderr).toBe('');
    expect(JSON.parse(r.stdout)).toMatchObject({ ok: true, type: 'short', control: { functionName: 'REQ_UD2', fcv: true }, address: 5 });
    // A real heat-meter telegram of the libmbus corpus (harness/protocols/mbus/fixtures/libmbus).
    const hex = readFileSync(join(REPO, 'harness/protocols/mbus/fixtures/libmbus/test-frames/kamstrup_382_005.hex'), 'utf8');
    const long = await meterlab(['decode', 'mbus', hex.trim()]);
    expect(long.code, long.stdout).toBe(0);
    expect(JSON.parse(long.stdout)).toMatchObject({ ok: true, type: 'long', ci: '72' });
  });

  it('a bad frame: one JSON line with the error and its offset, exit 1; --stdin one line per frame', async () => {
    const cs = await meterlab(['decode', 'mbus', '10 5B 05 61 16']);
    expect(cs.code).toBe(1);
    expect(JSON.parse(cs.stdout)).toEqual({ ok: false, error: { code: 'mbus.checksum', message: 'checksum mismatch: expected 60H, found 61H', offset: 3 } });
    const r = await meterlab(['decode', 'mbus', '--stdin'], { input: `${MBUS_REQ_UD2}\n\nE5\n10 5B 05 60 16 00\n` });
    expect(r.code).toBe(1);
    const lines = r.stdout.trim().split('\n').map((l) => JSON.parse(l) as { ok: boolean; error?: { code: string } });
    expect(lines.map((l) => l.ok)).toEqual([true, true, false]);
    expect(lines[2]!.error!.code).toBe('mbus.trailing');
  });
});

describe('meterlab errors', () => {
  it('unknown command: one line, no stack, exit 2', async () => {
    const r = await meterlab(['frobnicate']);
    expect(r.code).toBe(2);
    expect(expectOneErrorLine(r)).toContain("unknown command 'frobnicate'");
  });

  it('unknown option: one line, exit 2', async () => {
    const r = await meterlab(['decode', 'dlt645', '--bogus', READ_00010000]);
    expect(r.code).toBe(2);
    expectOneErrorLine(r);
  });

  it('bad target profile: one line, exit 2, before anything is written', async () => {
    const bad = join(tmp, 'bad.json');
    writeFileSync(bad, '{ "name": "x", ');
    const out = join(tmp, 'never');
    const r = await meterlab(['run', '--target', bad, '--out', out]);
    expect(r.code).toBe(2);
    expect(expectOneErrorLine(r)).toContain('bad.json');
    const missing = await meterlab(['run', '--target', join(tmp, 'nope.json'), '--out', out]);
    expect(missing.code).toBe(2);
    expect(expectOneErrorLine(missing)).toContain('nope.json');
  });

  it('run without --target: one line, exit 2', async () => {
    const r = await meterlab(['run']);
    expect(r.code).toBe(2);
    expect(expectOneErrorLine(r)).toContain('--target');
  });

  it('simulate with a bad address: one line, exit 2', async () => {
    const r = await meterlab(['simulate', 'meter', '--protocol', 'dlt645', '--tcp', '127.0.0.1:0', '--address', '12345']);
    expect(r.code).toBe(2);
    expect(expectOneErrorLine(r)).toContain('12 decimal digits');
  });

  it('simulate with a bad --idle-timeout, or --idle-timeout on a serial port: one line, exit 2', async () => {
    const bad = await meterlab(['simulate', 'meter', '--tcp', '127.0.0.1:0', '--idle-timeout', '-1', '--address', '123456789012']);
    expect(bad.code).toBe(2);
    expect(expectOneErrorLine(bad)).toContain('--idle-timeout must be a whole number');
    const serial = await meterlab(['simulate', 'meter', '--port', '/dev/ttyMETERLAB-NONE', '--idle-timeout', '5', '--address', '123456789012']);
    expect(serial.code).toBe(2);
    expect(expectOneErrorLine(serial)).toBe('meterlab: --idle-timeout applies to --tcp only');
  });

  it('--help exits 0', async () => {
    const r = await meterlab(['--help']);
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('decode');
    expect(r.stdout).toContain('run');
  });
});

describe('meterlab requirements', () => {
  it('prints the catalog as JSON', async () => {
    const r = await meterlab(['requirements', '--json']);
    expect(r.code).toBe(0);
    const list = JSON.parse(r.stdout) as { id: string }[];
    expect(list.map((x) => x.id)).toContain('DLT645-05');
  });
});
