/**
 * The collection suite against a concentrator that is NOT MeterLab's own simulation: a box on the
 * other side of serial adapters and a TCP uplink, as a vendor's concentrator is. The box is
 * MeterLab's reference concentrator in its own process (`meterlab simulate concentrator --serial`),
 * each of its meter ports one end of a socat pty pair; on the other ends, `meterlab run --target
 * <profile>` serves the meters of the serial-bench scenario (suites/profiles/simulated-concentrator-on-pty.json:
 * `connection.type "listen"`, `device.declaration.vendor`) and listens for the concentrator's
 * uplink, which dials it. One command, as a vendor runs it.
 *
 * Real time, its quiet stretches skipped (vendor.time "skip": 5 s of silence on every bus, jumps
 * of at most 2 h inside the 00:05-04:00 window): six nights in about 5 minutes, plus 2 minutes of
 * heartbeats. The scenario keeps no load curves (a night of them takes minutes at 2400 baud), so
 * the curve case is inconclusive; the power cycle needs MeterLab's hand on the concentrator and is
 * not applicable. Needs socat (`apt-get install socat`); skipped with that reason when it is absent.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import type { RunSummary } from '../../harness/cli/report.ts';
import { REPO, startMeterlab, stopMeterlab, type RunningMeterlab } from '../../harness/cli/testing.ts';
import { socatAvailable, startPtyPair, SOCAT_MISSING, type PtyPair } from '../../harness/links/pty.ts';

const PORTS = [2, 3, 4] as const;
const tmp = mkdtempSync(join(tmpdir(), 'meterlab-concentrator-pty-'));
const pairs: PtyPair[] = [];
const running: RunningMeterlab[] = [];
afterEach(async () => {
  for (const r of running.splice(0)) await stopMeterlab(r, 'SIGINT');
  for (const p of pairs.splice(0)) await p.close();
});
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

/** Resolves with stdout once it matches `pattern`. */
async function waitForStdout(r: RunningMeterlab, pattern: RegExp, timeoutMs: number): Promise<string> {
  let out = '';
  return new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no stdout matching ${pattern} within ${timeoutMs} ms; stdout: ${out}; stderr: ${r.stderr()}`)), timeoutMs);
    r.child.stdout.on('data', (b: Buffer) => {
      out += b.toString('utf8');
      const m = pattern.exec(out);
      if (m) {
        clearTimeout(timer);
        resolve(m[0]);
      }
    });
  });
}

/** A port nobody listens on now (bound, read, released). */
function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const a = s.address();
      s.close(() => resolve(typeof a === 'object' && a ? a.port : 0));
    });
  });
}

describe('the collection suite on a concentrator behind serial adapters and a TCP uplink', () => {
  it.skipIf(!socatAvailable())(
    `meterlab run judges meterlab simulate concentrator --serial over socat ptys: every case passes but the curves (none kept) and the power cycle (skipped when ${SOCAT_MISSING})`,
    async () => {
      for (const _ of PORTS) pairs.push(await startPtyPair());
      const port = await freePort();
      const profile = JSON.parse(readFileSync(join(REPO, 'suites', 'profiles', 'simulated-concentrator-on-pty.json'), 'utf8')) as {
        connection: { port: number };
        device: { declaration: { vendor: { ports: Record<string, { path: string }> } } };
      };
      profile.connection.port = port;
      PORTS.forEach((p, i) => (profile.device.declaration.vendor.ports[String(p)] = { path: pairs[i]!.a }));
      const file = join(tmp, 'concentrator-on-pty.json');
      writeFileSync(file, JSON.stringify(profile, null, 2));
      const out = join(tmp, 'report');

      const run = startMeterlab(['run', '--target', file, '--suite', 'collection', '--out', out]);
      running.push(run);
      // It says at once (stdout) where to dial, what is on each port and how time goes.
      const said = await waitForStdout(run, /collection suite on simulated-concentrator-on-pty: listening on .*\n/, 60_000);
      expect(said).toMatch(
        new RegExp(
          `listening on 127\\.0\\.0\\.1:${port} for the concentrator's Q/GDW 1376\\.1 uplink \\(terminal 3701-1\\); MeterLab's meters of scenario serial-bench \\(concentrator 1\\) on port 2 ↔ .+, port 3 ↔ .+, port 4 ↔ .+; ` +
            `real time from the scenario's start 2026-01-11 00:00 local \\(its clock set to it by AFN 05 F31 at each login\\), quiet stretches skipped`,
        ),
      );
      // The box dials before the target listens, and redials (1 s, then doubling) until it does.
      const box = startMeterlab([
        'simulate',
        'concentrator',
        '--master',
        `127.0.0.1:${port}`,
        '--scenario',
        'serial-bench',
        '--serial',
        PORTS.map((p, i) => `${p}=${pairs[i]!.b}`).join(','),
        '--heartbeat',
        '1',
        // The PW the profile declares (the box's own would be seeded by the scenario).
        '--password',
        '00000000000000000000000000000000',
        '--redial-interval',
        '1',
      ]);
      running.push(box);
      const code = await run.exited;
      const summary = JSON.parse(readFileSync(join(out, 'summary.json'), 'utf8')) as RunSummary;
      expect(summary.target.kind).toBe('listen');
      const verdicts = Object.fromEntries(summary.tests.map((t) => [t.id, `${t.verdict}${t.verdict === 'passed' ? '' : ` ${t.reason}`}`]));
      expect(verdicts).toEqual({
        'collection.login-and-heartbeat': 'passed',
        'collection.archive-capacity': 'passed',
        'collection.archive-download': 'passed',
        'collection.clock-sync': 'passed',
        'collection.bad-input': 'passed',
        'collection.forwarding-byte-exact': 'passed',
        'collection.daily-by-deadline': 'passed',
        'collection.load-curves': expect.stringMatching(/^inconclusive no electricity meter of the scenario keeps load records for 2026-01-11/),
        'collection.retry-before-deadline': 'passed',
        'collection.failed-re-read-event': 'passed',
        'collection.re-read-after-outage': 'passed',
        'collection.relogin-after-drop': 'passed',
        'collection.reboot-keeps-data': expect.stringMatching(/^notApplicable power-cycling the concentrator needs MeterLab's hand on the concentrator/),
      });
      expect(code, run.stderr()).toBe(0);
      // The rates and the timeline as heard on the meters' buses, for the day judged.
      const rates = summary.measurements.filter((m) => m.name.startsWith('daily success rate'));
      expect(rates.map((m) => [m.name, m.value])).toEqual([
        ['daily success rate, electricity', 100],
        ['daily success rate, water', 100],
        ['daily success rate, heat', 100],
      ]);
      const timeline = readFileSync(join(out, 'captures', 'collection.daily-by-deadline', 'collection-timeline.svg'), 'utf8');
      expect(timeline).toContain('2026-01-11: collection timeline (as heard on the meters');
      for (const p of PORTS) expect(timeline).toContain(`port ${p}`);
      // The box logged in twice (the suite dropped its uplink once) and answered MeterLab's requests.
      await stopMeterlab(box, 'SIGINT');
      running.splice(running.indexOf(box), 1);
      expect(box.stderr()).toMatch(/bench-0001 3701\/1: [2-9] login\(s\)/);
    },
    20 * 60_000,
  );
});
