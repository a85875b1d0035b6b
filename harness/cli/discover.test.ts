/**
 * `meterlab discover` as a user runs it (child process): bad arguments are one line and exit 2
 * before any port is opened; nothing answering is one line naming what was tried and exit 3.
 * The full path (a simulated meter on a pty, the draft passing the reading suite) is in
 * discover-over-pty.test.ts; the discovery logic in harness/targets/discover.test.ts.
 */
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { listenTcp } from '../links/tcp.ts';
import { socatAvailable, startPtyPair, SOCAT_MISSING, type PtyPair } from '../links/pty.ts';
import { parseBaudList, parseParityList, parsePrefixes } from './discover.ts';
import { expectOneErrorLine, inProcess, meterlab } from './testing.ts';

const tmp = mkdtempSync(join(tmpdir(), 'meterlab-discover-cli-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));
const pairs: PtyPair[] = [];
afterEach(async () => {
  for (const p of pairs.splice(0)) await p.close();
});

describe('meterlab discover: arguments', () => {
  it.each([
    [['discover', '--out', 'x.json'], 'give exactly one of --port <path> or --tcp <host:port>'],
    [['discover', '--port', '/dev/null', '--tcp', '127.0.0.1:1', '--out', 'x.json'], 'give exactly one of --port <path> or --tcp <host:port>'],
    [['discover', '--tcp', '127.0.0.1:4001', '--baud', '9600', '--out', 'x.json'], "--baud and --parity apply to --port only: behind a TCP serial server the line settings are the server's"],
    [['discover', '--port', '/dev/ttyUSB0', '--baud', '2400,fast', '--out', 'x.json'], '--baud must be rates between 300 and 115200 separated by commas, e.g. 2400,9600; got "2400,fast"'],
    [['discover', '--port', '/dev/ttyUSB0', '--parity', 'mark', '--out', 'x.json'], '--parity must be even, none or odd, separated by commas, e.g. even,none; got "mark"'],
    [['discover', '--port', '/dev/ttyUSB0', '--address', '12345', '--out', 'x.json'], '--address must be 12 decimal digits, got "12345"'],
    [['discover', '--port', '/dev/ttyUSB0', '--only', '0001,xyz', '--out', 'x.json'], '--only must be hex identifier prefixes (1 to 8 digits) separated by commas, e.g. 0001,0201,04000401; got "0001,xyz"'],
    [['discover', '--port', '/dev/ttyUSB0', '--name', 'my meter', '--out', 'x.json'], '--name may use letters, digits, ".", "_" and "-" (it names report folders); got "my meter"'],
    [['discover', '--port', '/dev/ttyUSB0', '--timeout', '10', '--out', 'x.json'], '--timeout must be between 50 and 60000'],
    [['discover', '--port', '/dev/ttyUSB0'], "required option '--out <file>' not specified"],
  ])('%j → exit 2, one line', async (args, message) => {
    const r = await inProcess(args);
    expect(r.code, r.stderr).toBe(2);
    expect(expectOneErrorLine(r)).toContain(message);
    expect(r.stdout).toBe('');
  });

  it('refuses to overwrite an existing --out (exit 2) and leaves it as it was, before touching the port', async () => {
    const out = join(tmp, 'exists.json');
    writeFileSync(out, '{"keep": true}\n');
    const r = await meterlab(['discover', '--port', '/dev/meterlab-no-such-port', '--out', out]);
    expect(r.code).toBe(2);
    expect(expectOneErrorLine(r)).toBe(`meterlab: ${out} exists; give --force to overwrite it, or another --out`);
    expect(existsSync(out)).toBe(true);
  });

  it('a serial port that does not exist: exit 3, the port named', async () => {
    const out = join(tmp, 'none.json');
    const r = await meterlab(['discover', '--port', '/dev/meterlab-no-such-port', '--out', out]);
    expect(r.code).toBe(3);
    expect(expectOneErrorLine(r)).toMatch(/^meterlab: serial port \/dev\/meterlab-no-such-port cannot be opened/);
    expect(existsSync(out)).toBe(false);
  });

  it('parses rate, parity and prefix lists', () => {
    expect(parseBaudList('9600, 2400,9600')).toEqual([9600, 2400]);
    expect(parseParityList('None,even')).toEqual(['none', 'even']);
    expect(parsePrefixes('0001,04000401')).toEqual(['0001', '04000401']);
  });
});

describe('meterlab discover: nothing answers', () => {
  it('a TCP serial server with no meter behind it: exit 3, one line naming what was tried, nothing written', async () => {
    const listener = await listenTcp({ host: '127.0.0.1', port: 0 });
    try {
      const out = join(tmp, 'tcp.json');
      const r = await meterlab(['discover', '--tcp', `127.0.0.1:${listener.port}`, '--out', out]);
      expect(r.code, r.stderr).toBe(3);
      const lines = r.stderr.split('\n').filter(Boolean);
      expect(lines.at(-1)).toMatch(
        new RegExp(`^meterlab: no meter answered read address \\(13H\\) to AAAAAAAAAAAA on tcp 127.0.0.1:${listener.port} \\(line settings are the serial server's`),
      );
      expect(r.stderr).not.toMatch(/\n\s+at /);
      expect(existsSync(out)).toBe(false);
    } finally {
      await listener.close();
    }
  }, 30_000);

  it.skipIf(!socatAvailable())(`a pty with nothing on the other end: exit 3 naming the line settings tried (skipped when ${SOCAT_MISSING})`, async () => {
    const pair = await startPtyPair();
    pairs.push(pair);
    const out = join(tmp, 'pty.json');
    const r = await meterlab(['discover', '--port', pair.b, '--baud', '2400,9600', '--parity', 'even', '--out', out]);
    expect(r.code, r.stderr).toBe(3);
    const lines = r.stderr.split('\n').filter(Boolean);
    expect(lines.slice(0, 2)).toEqual([
      'meterlab: 2400 8E1: silence (silence at 2400 8E1) [1/2]',
      'meterlab: 9600 8E1: silence (silence at 9600 8E1) [2/2]',
    ]);
    expect(lines.at(-1)).toMatch(
      new RegExp(`^meterlab: no meter answered read address \\(13H\\) to AAAAAAAAAAAA on serial port ${pair.b} at 2400 8E1, 9600 8E1 \\(2 line setting\\(s\\), 4 × FE`),
    );
    expect(existsSync(out)).toBe(false);
  }, 30_000);
});
