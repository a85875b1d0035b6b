/**
 * `meterlab run` never certifies silence (issues 5 and 6):
 * - the pre-flight stops a run against a meter that does not answer (here a TCP serial server
 *   that accepts the connection and never says a word) with one line and exit 3, before any suite
 *   starts and before the output directory is touched;
 * - against a meter that keeps its address in nameplate byte order (served by `meterlab simulate`
 *   over TCP), the line says so and names the address to declare;
 * - a case that never finishes ends with its own time budget and a MeterLab reason, never the
 *   test runner's "Test timed out in …" text, and the cases after it still run.
 */
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RunSummary } from './report.ts';
import { expectOneErrorLine, meterlab, REPO, startMeterlab, type RunningMeterlab, stopMeterlab } from './testing.ts';

const tmp = mkdtempSync(join(tmpdir(), 'meterlab-preflight-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

/** The checked-in TCP example pointed at 127.0.0.1:<port>, with a short reply timeout so the test is quick. */
function tcpProfile(port: number, timeoutMs: number, address = '000000000000'): string {
  const profile = JSON.parse(readFileSync(join(REPO, 'suites', 'profiles', 'example-tcp.json'), 'utf8')) as {
    connection: { host: string; port: number };
    meter: { address: string };
    master: { timeoutMs: number };
  };
  profile.connection.host = '127.0.0.1';
  profile.connection.port = port;
  profile.meter.address = address;
  profile.master.timeoutMs = timeoutMs;
  const file = join(tmp, `tcp-${port}.json`);
  writeFileSync(file, JSON.stringify(profile));
  return file;
}

describe('meterlab run: the pre-flight', () => {
  let server: Server;
  const sockets = new Set<Socket>();
  let port = 0;
  let accepted = 0;

  beforeAll(async () => {
    // A serial server whose meter is dead: it accepts, reads everything and answers nothing.
    server = createServer((socket) => {
      accepted++;
      sockets.add(socket);
      socket.on('data', () => undefined);
      socket.on('close', () => sockets.delete(socket));
    });
    await new Promise<void>((done) => server.listen(0, '127.0.0.1', done));
    port = (server.address() as { port: number }).port;
  });

  afterAll(async () => {
    for (const s of sockets) s.destroy();
    await new Promise<void>((done) => server.close(() => done()));
  });

  it('a TCP target that accepts and never answers: one line naming what to check, exit 3, no suite run, no report', async () => {
    const out = join(tmp, 'silent');
    const r = await meterlab(['run', '--target', tcpProfile(port, 400), '--out', out]);
    expect(r.code, r.stdout + r.stderr).toBe(3);
    const line = expectOneErrorLine(r);
    expect(line).toMatch(/^meterlab: no answer from the meter behind the serial server 127\.0\.0\.1:\d+: /);
    expect(line).toContain('a read of 00010000 at 000000000000 got no reply within 400 ms; nor did a read address (13H) at AAAAAAAAAAAA');
    expect(line).toMatch(/check the wiring \(A and B swapped\?.*the line settings \(meter\.line declares 2400 8E1: baud rate and parity .*and the address \(meter\.address 000000000000\)/);
    expect(r.stdout).toBe('');
    expect(existsSync(out)).toBe(false);
    expect(accepted).toBeGreaterThanOrEqual(1);
  }, 60_000);

  describe('a meter that keeps its address in nameplate order, served over TCP by meterlab simulate', () => {
    let sim: RunningMeterlab | undefined;
    let simPort = 0;

    beforeAll(async () => {
      const reference = JSON.parse(readFileSync(join(REPO, 'simulators', 'electricity-meter', 'profiles', 'reference-meter.json'), 'utf8')) as {
        behaviours?: unknown[];
      };
      reference.behaviours = [...(reference.behaviours ?? []), { name: 'address-nameplate-order' }];
      const simProfile = join(tmp, 'nameplate-meter.json');
      writeFileSync(simProfile, JSON.stringify(reference));
      sim = startMeterlab(['simulate', 'meter', '--protocol', 'dlt645', '--tcp', '127.0.0.1:0', '--address', '123456789012', '--profile', simProfile]);
      const ready = await sim.waitFor(/serving on tcp 127\.0\.0\.1:\d+/, 30_000);
      simPort = Number(/serving on tcp 127\.0\.0\.1:(\d+)/.exec(ready)![1]);
    }, 60_000);

    afterAll(async () => {
      await stopMeterlab(sim);
    });

    it('stops with the byte-order hint and the address to declare', async () => {
      const out = join(tmp, 'nameplate');
      const r = await meterlab(['run', '--target', tcpProfile(simPort, 1000, '123456789012'), '--out', out]);
      expect(r.code, r.stdout + r.stderr).toBe(3);
      const line = expectOneErrorLine(r);
      expect(line).toContain('does not answer at its declared address 123456789012');
      expect(line).toContain('the meter answers with its address in nameplate byte order: it sends 12 34 56 78 90 12 (read as 129078563412)');
      expect(line).toContain('declare meter.address "129078563412" to test it as it answers');
      expect(existsSync(out)).toBe(false);
    }, 60_000);
  });
});

describe('meterlab run: a case that never finishes', () => {
  it('ends with its own budget and a MeterLab reason; the next case runs; no runner text anywhere', async () => {
    const out = join(tmp, 'stuck');
    const r = await meterlab([
      'run',
      '--target',
      'reference',
      '--suite',
      'stuck',
      '--out',
      out,
      '--no-html',
      '--suites-dir',
      'suites/framework/demo-timeout',
      '--suite-suffix',
      '.demo.ts',
    ]);
    expect(r.code, r.stdout + r.stderr).toBe(1);
    expect(r.stdout).toContain('ERROR          stuck.never-finishes — the case did not finish within 300 ms: waiting for a reply to the first read');
    expect(r.stdout).toContain('PASSED         stuck.next-case-runs');
    const summary = JSON.parse(readFileSync(join(out, 'summary.json'), 'utf8')) as RunSummary;
    expect(summary.tests.map((t) => [t.id, t.verdict])).toEqual([
      ['stuck.never-finishes', 'error'],
      ['stuck.next-case-runs', 'passed'],
    ]);
    for (const text of [r.stdout, JSON.stringify(summary), readFileSync(join(out, 'junit.xml'), 'utf8')]) {
      expect(text).not.toMatch(/timed out in \d+ms|testTimeout|hookTimeout/);
    }
  }, 120_000);
});

describe("meterlab run: a concentrator that dials in (connection.type \"listen\")", () => {
  /** The checked-in pty profile with its adapters at `paths` (port 2, 3, 4). */
  function concentratorProfile(paths: readonly string[], name: string): string {
    const profile = JSON.parse(readFileSync(join(REPO, 'suites', 'profiles', 'simulated-concentrator-on-pty.json'), 'utf8')) as {
      connection: { port: number };
      device: { declaration: { vendor: { ports: Record<string, { path: string }> } } };
    };
    profile.connection.port = 0;
    profile.device.declaration.vendor.ports = Object.fromEntries(paths.map((p, i) => [String(i + 2), { path: p }]));
    const file = join(tmp, name);
    writeFileSync(file, JSON.stringify(profile));
    return file;
  }

  it('an adapter that cannot be opened: one line naming its field, exit 3, no report', async () => {
    const out = join(tmp, 'out-concentrator-adapter');
    const r = await meterlab(['run', '--target', concentratorProfile(['/dev/null', join(tmp, 'no-adapter'), '/dev/null'], 'c1.json'), '--out', out]);
    expect(r.code).toBe(3);
    expect(expectOneErrorLine(r)).toMatch(/^meterlab: target profile .*c1\.json: device\.declaration\.vendor\.ports\.(2|3): serial port .* cannot be opened/);
    expect(existsSync(out)).toBe(false);
  });

  it("a port of the scenario without an adapter: one line listing its ports, exit 2, no report", async () => {
    const out = join(tmp, 'out-concentrator-ports');
    const r = await meterlab(['run', '--target', concentratorProfile(['/dev/null', '/dev/null'], 'c2.json'), '--out', out]);
    expect(r.code).toBe(2);
    expect(expectOneErrorLine(r)).toMatch(/device\.declaration\.vendor\.ports: no adapter for port 4 \(M-Bus, 2400 8E1, M-Bus meters\) \(its ports: port 2 .*, port 3 .*, port 4 .*\)/);
    expect(existsSync(out)).toBe(false);
  });
});
