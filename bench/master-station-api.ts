/**
 * Top-ups per second through the master station's HTTP API: a real MasterStation (RealClock, no
 * channels reachable: a top-up of an account that is not cut starts no switching) behind
 * startStationApi listening on 127.0.0.1, driven from the same process by `concurrency` loops of
 * keep-alive fetch POST /api/v1/top-ups, on PGlite in memory, PGlite in a data directory and,
 * with --pg <url>, a PostgreSQL server (in a schema of its own, dropped afterwards).
 *
 *   npx tsx bench/master-station-api.ts [--pg postgres://...] [--sizes 500,2000] [--runs 5] [--concurrency 8]
 *
 * Every answer must be 200 with credited: true, and the count of stored top-ups must match, or
 * the run fails. Prints the median top-ups per second of `runs` runs per size (and the slowest and fastest run).
 */
import { RealClock } from '../harness/core/clock.ts';
import { forEachStationBackend } from './station-backends.ts';
import { startStationApi } from '../simulators/master-station/api.ts';
import type { Db } from '../simulators/master-station/db.ts';
import { MasterStation } from '../simulators/master-station/station.ts';

const ACCOUNTS = 100;
const TOKEN = 'bench-token-0123456789abcdef';

function option(name: string): string | undefined {
  const i = process.argv.indexOf(name);
  return i >= 0 ? process.argv[i + 1] : undefined;
}

const pgUrl = option('--pg');
const sizes = (option('--sizes') ?? '500,2000').split(',').map(Number);
const runs = Number(option('--runs') ?? 5);
const concurrency = Number(option('--concurrency') ?? 8);
const clock = new RealClock();

async function post(url: string, path: string, body: unknown): Promise<{ status: number; json: any }> {
  const res = await fetch(`${url}/api/v1${path}`, {
    method: 'POST',
    headers: { authorization: `Bearer ${TOKEN}`, 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });
  return { status: res.status, json: await res.json() };
}

async function seed(url: string): Promise<void> {
  const c = await post(url, '/channels', { id: 'bus-0001', kind: 'rs485', description: 'bench' });
  if (c.status !== 201) throw new Error(`channel: ${c.status} ${JSON.stringify(c.json)}`);
  for (let a = 0; a < ACCOUNTS; a++) {
    const r = await post(url, '/accounts', {
      id: `C${String(a).padStart(4, '0')}`,
      name: `customer ${a}`,
      phone: '13800000000',
      meterAddress: String(a).padStart(12, '0'),
      channelId: 'bus-0001',
      paymentMode: 'prepaid',
      tariffFenPerKwh: 56,
      keepPower: null,
      warningFen: 1000,
      balanceFen: 10_000,
    });
    if (r.status !== 201) throw new Error(`account ${a}: ${r.status} ${JSON.stringify(r.json)}`);
  }
}

/** `count` top-ups over HTTP, `concurrency` at a time; returns top-ups per second. */
async function topUps(url: string, db: Db, tag: string, count: number): Promise<number> {
  let next = 0;
  const start = clock.now();
  const loop = async (): Promise<void> => {
    while (next < count) {
      const i = next++;
      const r = await post(url, '/top-ups', { paymentId: `${tag}-${i}`, accountId: `C${String(i % ACCOUNTS).padStart(4, '0')}`, amountFen: 5000 });
      if (r.status !== 200 || r.json.credited !== true) throw new Error(`${tag}-${i}: ${r.status} ${JSON.stringify(r.json)}`);
    }
  };
  await Promise.all(Array.from({ length: concurrency }, loop));
  const seconds = Math.max(1, clock.now() - start) / 1000;
  const n = (await db.query<{ n: number }>('SELECT count(*)::int AS n FROM top_up WHERE payment_id LIKE $1', [`${tag}-%`])).rows[0]!.n;
  if (n !== count) throw new Error(`${tag}: ${n} top-ups stored of ${count}`);
  return count / seconds;
}

interface Row {
  backend: string;
  size: number;
  median: number;
  min: number;
  max: number;
}

async function measure(backend: string, db: Db, rows: Row[]): Promise<void> {
  const station = new MasterStation({
    db,
    clock,
    links: () => undefined,
    sms: { send: async () => undefined },
    remoteControl: { password: { level: 2, value: '000000' }, operator: '00000000' },
  });
  await station.start();
  const api = await startStationApi({ service: station, token: TOKEN, port: 0 });
  try {
    await seed(api.url);
    const slug = backend.toLowerCase().replace(/[^a-z0-9]+/g, '-'); // payment ids: printable ASCII, no spaces
    await topUps(api.url, db, `${slug}-warmup`, 100);
    for (const size of sizes) {
      const rates: number[] = [];
      for (let r = 0; r < runs; r++) rates.push(await topUps(api.url, db, `${slug}-${size}-${r}`, size));
      rates.sort((a, b) => a - b);
      rows.push({ backend, size, median: rates[Math.floor(rates.length / 2)]!, min: rates[0]!, max: rates[rates.length - 1]! });
      process.stderr.write(`${backend} ${size}: ${rates.map((x) => x.toFixed(0)).join(' ')} top-ups/s\n`);
    }
  } finally {
    await api.close();
    await station.stop();
  }
}

const rows: Row[] = [];
await forEachStationBackend(pgUrl, 'meterlab_bench_api', (backend, db) => measure(backend, db, rows));

console.log(`top-ups per second through the HTTP API (POST /api/v1/top-ups on 127.0.0.1, ${concurrency} keep-alive fetch loops in the same process), median of ${runs}`);
console.log('| storage | top-ups | median top-ups/s | min | max |');
console.log('|---|---:|---:|---:|---:|');
for (const r of rows) {
  console.log(`| ${r.backend} | ${r.size} | ${r.median.toFixed(0)} | ${r.min.toFixed(0)} | ${r.max.toFixed(0)} |`);
}
if (pgUrl === undefined) console.log('(no --pg <url>: PostgreSQL server not measured)');
