/**
 * openCollectionTarget on a vendor's concentrator (`connection.type "listen"`): the clock, the
 * meters and the night keeper per `vendor.time`, and a wrong connection type said plainly. The
 * adapters are TCP serial servers on loopback (nothing dials in: no case runs here).
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { ShiftedRealClock } from '../../harness/core/clock.ts';
import { openCollectionTarget, type CollectionTarget } from './support.ts';

const dir = mkdtempSync(join(tmpdir(), 'meterlab-vendor-support-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const closers: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const c of closers.splice(0).reverse()) await c();
});

async function serialServer(): Promise<number> {
  const server: Server = createServer((s) => s.on('error', () => undefined));
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  closers.push(() => new Promise<void>((r) => server.close(() => r())));
  const a = server.address();
  return typeof a === 'object' && a ? a.port : 0;
}

async function open(time: object, connection: object = { type: 'listen', port: 0 }): Promise<CollectionTarget> {
  const ports = Object.fromEntries(await Promise.all([2, 3, 4].map(async (p) => [String(p), { host: '127.0.0.1', port: await serialServer() }] as const)));
  const file = join(dir, `p${closers.length}.json`);
  writeFileSync(
    file,
    JSON.stringify({
      name: 'vendor',
      device: { kind: 'concentrator', protocol: 'gw1376', declaration: { terminal: { areaCode: '3701', address: 1 }, meters: { scenario: 'serial-bench' }, vendor: { ports, time } } },
      connection,
    }),
  );
  const t = await openCollectionTarget(file);
  closers.push(() => t.close());
  return t;
}

describe('a vendor concentrator target', () => {
  it('"skip": real time from the scenario\'s start, MeterLab\'s meters behind it, a night keeper; no reference bench', async () => {
    const t = await open({ mode: 'skip', quietSeconds: 5 });
    expect(t.time).toBe('skip');
    expect(t.clock).toBeInstanceOf(ShiftedRealClock);
    expect(Math.abs(t.clock.now() - Date.parse('2026-01-11T00:00:00+08:00'))).toBeLessThan(5000);
    expect(t.kind).toBe('listen');
    expect(t.bench).toBeUndefined();
    expect(t.meters?.archive.map((p) => p.kind)).toEqual(['electricity', 'electricity', 'electricity', 'water', 'water', 'water', 'heat', 'heat']);
    expect(t.vendor?.keeper).toBeDefined();
    expect(t.vendor?.uplink.port).toBeGreaterThan(0);
  });

  it('"real": the meters start now, nothing is skipped (no keeper)', async () => {
    const before = Date.now();
    const t = await open({ mode: 'real' });
    expect(t.time).toBe('real');
    expect(t.vendor?.keeper).toBeUndefined();
    expect(t.vendor!.counterpart.scenario.startMs).toBeGreaterThanOrEqual(before);
    expect(Math.abs(t.clock.now() - Date.now())).toBeLessThan(1000);
  });

  it('a concentrator profile reached over "tcp" is told to listen', async () => {
    await expect(open({ mode: 'real' }, { type: 'tcp', host: '127.0.0.1', port: 1 })).rejects.toThrow(/connection\.type "tcp": a concentrator dials its master station; give \{ "type": "listen"/);
  });
});
