/**
 * Top-up-shaped transactions per second on the master station's storage (simulators/master-station/storage.ts):
 * each transaction is INSERT top_up ... ON CONFLICT DO NOTHING, UPDATE account balance, INSERT event,
 * run one after another (the station's top-up path), on PGlite in memory, PGlite in a data directory
 * and, with --pg <url>, a PostgreSQL server (in a schema of its own, dropped afterwards).
 *
 *   npx tsx bench/master-station-storage.ts [--pg postgres://...] [--sizes 500,2000] [--runs 5]
 *
 * Prints the median transactions per second of `runs` runs per size (and the slowest and fastest run).
 */
import { RealClock } from '../harness/core/clock.ts';
import { forEachStationBackend } from './station-backends.ts';
import type { Db } from '../simulators/master-station/db.ts';

const ACCOUNTS = 100;

function option(name: string): string | undefined {
  const i = process.argv.indexOf(name);
  return i >= 0 ? process.argv[i + 1] : undefined;
}

const pgUrl = option('--pg');
const sizes = (option('--sizes') ?? '500,2000').split(',').map(Number);
const runs = Number(option('--runs') ?? 5);
const clock = new RealClock();

async function seed(db: Db): Promise<void> {
  await db.query(`INSERT INTO channel (id, kind) VALUES ('bus-0001', 'rs485')`);
  for (let a = 0; a < ACCOUNTS; a++) {
    const id = `C${String(a).padStart(4, '0')}`;
    await db.query(
      `INSERT INTO account (id, name, phone, meter_address, channel_id, payment_mode, tariff_fen_per_kwh, warning_fen, created_at)
       VALUES ($1, $1, '13800000000', $2, 'bus-0001', 'prepaid', 56, 1000, 0)`,
      [id, String(a).padStart(12, '0')],
    );
  }
}

/** `count` top-ups, one transaction each; returns transactions per second. */
async function topUps(db: Db, tag: string, count: number): Promise<number> {
  const start = clock.now();
  for (let i = 0; i < count; i++) {
    const account = `C${String(i % ACCOUNTS).padStart(4, '0')}`;
    const paymentId = `${tag}-${i}`;
    const at = 1_764_460_800_000 + i;
    await db.transaction(async (tx) => {
      const inserted = await tx.query(
        `INSERT INTO top_up (payment_id, account_id, amount_fen, received_at) VALUES ($1, $2, $3, $4) ON CONFLICT DO NOTHING`,
        [paymentId, account, 5000, at],
      );
      if (inserted.affectedRows === 0) return;
      await tx.query(`UPDATE account SET balance_fen = balance_fen + $1 WHERE id = $2`, [5000, account]);
      await tx.query(`INSERT INTO event (at, account_id, kind, detail) VALUES ($1, $2, 'top-up', $3::jsonb)`, [
        at,
        account,
        JSON.stringify({ paymentId, amountFen: 5000 }),
      ]);
    });
  }
  const seconds = Math.max(1, clock.now() - start) / 1000;
  const n = (await db.query<{ n: number }>('SELECT count(*) AS n FROM top_up WHERE payment_id LIKE $1', [`${tag}-%`])).rows[0]!.n;
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
  await seed(db);
  await topUps(db, `${backend}-warmup`, 100);
  for (const size of sizes) {
    const rates: number[] = [];
    for (let r = 0; r < runs; r++) rates.push(await topUps(db, `${backend}-${size}-${r}`, size));
    rates.sort((a, b) => a - b);
    rows.push({ backend, size, median: rates[Math.floor(rates.length / 2)]!, min: rates[0]!, max: rates[rates.length - 1]! });
    process.stderr.write(`${backend} ${size}: ${rates.map((x) => x.toFixed(0)).join(' ')} tx/s\n`);
  }
}

const rows: Row[] = [];
await forEachStationBackend(pgUrl, 'meterlab_bench', (backend, db) => measure(backend, db, rows));

console.log(`top-up transactions per second (INSERT top_up ON CONFLICT DO NOTHING + UPDATE account + INSERT event), one at a time, median of ${runs}`);
console.log('| storage | transactions | median tx/s | min | max |');
console.log('|---|---:|---:|---:|---:|');
for (const r of rows) {
  console.log(`| ${r.backend} | ${r.size} | ${r.median.toFixed(0)} | ${r.min.toFixed(0)} | ${r.max.toFixed(0)} |`);
}
if (pgUrl === undefined) console.log('(no --pg <url>: PostgreSQL server not measured)');
