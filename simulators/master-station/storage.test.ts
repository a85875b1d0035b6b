/**
 * The storage contract (db.ts) on every driver: PGlite in memory, PGlite in a data directory and,
 * when METERLAB_TEST_PG_URL names one, a PostgreSQL server (.ci/run starts one).
 *
 * Fresh database per test:
 * - PGlite in memory: one instance for the file (an open costs 1.5-2.5 s); every test starts
 *   from TRUNCATE of all schema-1 tables (RESTART IDENTITY), so each sees empty tables and ids from 1.
 * - Server: every test gets its own schema (meterlab_test_<pid>_<n>, openDatabase's `schema`
 *   option, migrated from scratch) and drops it with CASCADE afterwards: nothing is left behind,
 *   even in a shared database.
 */
import { copyFileSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { Db, Queryable } from './db.ts';
import {
  applyMigrations,
  isUniqueViolation,
  maskPassword,
  MIGRATIONS_DIR,
  openDatabase,
  parseDatabaseUrl,
  StorageError,
} from './storage.ts';

const PG_URL = process.env.METERLAB_TEST_PG_URL;
const SCHEMA_1_TABLES = 'channel, account, daily_reading, charge, top_up, switch_job, event, sms_outbox';

/** Lets other queued work run: a few event-loop turns (I/O of the server driver included). */
async function turns(n = 5): Promise<void> {
  for (let i = 0; i < n; i++) await new Promise<void>((resolve) => setImmediate(resolve));
}

function deferred(): { promise: Promise<void>; resolve: () => void } {
  let resolve!: () => void;
  const promise = new Promise<void>((r) => (resolve = r));
  return { promise, resolve };
}

async function addAccount(q: Queryable, id = 'C001', balanceFen = 0): Promise<void> {
  await q.query(`INSERT INTO channel (id, kind) VALUES ($1, 'rs485') ON CONFLICT DO NOTHING`, ['bus-0001']);
  await q.query(
    `INSERT INTO account (id, name, phone, meter_address, channel_id, payment_mode, tariff_fen_per_kwh, warning_fen, balance_fen, created_at)
     VALUES ($1, $2, $3, $4, 'bus-0001', 'prepaid', 56, 1000, $5, $6)`,
    [id, 'Li Lei', '13800000000', `0000000000${id.slice(-2)}`, balanceFen, 1_764_460_800_000],
  );
}

interface Backend {
  fresh(): Promise<Db>;
  release(db: Db): Promise<void>;
}

/** The contract every driver keeps. */
function contractTests(backend: () => Backend, options: { serialised: boolean }): void {
  let db: Db;
  beforeEach(async () => {
    db = await backend().fresh();
    return () => backend().release(db);
  });

  it('runs a query with $n parameters and returns typed rows', async () => {
    await addAccount(db);
    const r = await db.query<{ id: string; phone: string; keep_power: string | null }>(
      'SELECT id, phone, keep_power FROM account WHERE meter_address = $1 AND payment_mode = $2',
      ['000000000001', 'prepaid'],
    );
    expect(r.rows).toEqual([{ id: 'C001', phone: '13800000000', keep_power: null }]);
  });

  it('fills affectedRows for INSERT, UPDATE and DELETE, and 0 for SELECT and a skipped insert', async () => {
    await addAccount(db, 'C001');
    await addAccount(db, 'C002');
    expect((await db.query(`UPDATE account SET warned = TRUE WHERE channel_id = 'bus-0001'`)).affectedRows).toBe(2);
    const insert = `INSERT INTO top_up (payment_id, account_id, amount_fen, received_at) VALUES ($1, 'C001', 100, 1) ON CONFLICT DO NOTHING`;
    expect((await db.query(insert, ['P1'])).affectedRows).toBe(1);
    expect((await db.query(insert, ['P1'])).affectedRows).toBe(0);
    expect((await db.query('SELECT * FROM account')).affectedRows).toBe(0);
    expect((await db.query(`DELETE FROM top_up WHERE payment_id = 'P1'`)).affectedRows).toBe(1);
  });

  it('commits a transaction and returns what its work returned', async () => {
    await addAccount(db, 'C001', 500);
    const result = await db.transaction(async (tx) => {
      await tx.query(`INSERT INTO top_up (payment_id, account_id, amount_fen, received_at) VALUES ('P1', 'C001', 2000, 5)`);
      const r = await tx.query<{ balance_fen: number }>(
        `UPDATE account SET balance_fen = balance_fen + 2000 WHERE id = 'C001' RETURNING balance_fen`,
      );
      return r.rows[0]!.balance_fen;
    });
    expect(result).toBe(2500);
    expect((await db.query('SELECT balance_fen FROM account')).rows).toEqual([{ balance_fen: 2500 }]);
    expect((await db.query('SELECT payment_id FROM top_up')).rows).toEqual([{ payment_id: 'P1' }]);
  });

  it('rolls a transaction back when its work throws, rethrowing the same error, and leaves nothing', async () => {
    await addAccount(db, 'C001', 500);
    const boom = new Error('station crashed between credit and event');
    await expect(
      db.transaction(async (tx) => {
        await tx.query(`INSERT INTO top_up (payment_id, account_id, amount_fen, received_at) VALUES ('P1', 'C001', 2000, 5)`);
        await tx.query(`UPDATE account SET balance_fen = balance_fen + 2000 WHERE id = 'C001'`);
        throw boom;
      }),
    ).rejects.toBe(boom);
    expect((await db.query('SELECT balance_fen FROM account')).rows).toEqual([{ balance_fen: 500 }]);
    expect((await db.query('SELECT * FROM top_up')).rows).toEqual([]);
    // The Db is usable afterwards (the connection is not left inside the failed transaction).
    await db.transaction((tx) => tx.query(`INSERT INTO top_up VALUES ('P2', 'C001', 1, 6)`));
    expect((await db.query('SELECT payment_id FROM top_up')).rows).toEqual([{ payment_id: 'P2' }]);
  });

  it('keeps concurrent transactions apart: a failing one takes only its own statements with it', async () => {
    await addAccount(db, 'C001', 0);
    const txn = (name: string, fail: boolean) =>
      db.transaction(async (tx) => {
        await tx.query(`INSERT INTO event (at, account_id, kind) VALUES (1, 'C001', $1)`, [`${name}-1`]);
        await turns(2);
        await tx.query(`UPDATE account SET balance_fen = balance_fen + 100 WHERE id = 'C001'`);
        await turns(2);
        await tx.query(`INSERT INTO event (at, account_id, kind) VALUES (2, 'C001', $1)`, [`${name}-2`]);
        if (fail) throw new Error(`${name} fails`);
        return name;
      });
    const results = await Promise.allSettled([txn('A', true), txn('B', false), txn('C', false), txn('D', true), txn('E', false)]);
    expect(results.map((r) => r.status)).toEqual(['rejected', 'fulfilled', 'fulfilled', 'rejected', 'fulfilled']);
    const events = (await db.query<{ kind: string }>('SELECT kind FROM event ORDER BY id')).rows.map((r) => r.kind);
    expect([...events].sort()).toEqual(['B-1', 'B-2', 'C-1', 'C-2', 'E-1', 'E-2']);
    if (options.serialised) {
      // One connection: transactions run one after the other, never interleaved.
      expect(events).toEqual(['B-1', 'B-2', 'C-1', 'C-2', 'E-1', 'E-2']);
    }
    expect((await db.query('SELECT balance_fen FROM account')).rows).toEqual([{ balance_fen: 300 }]);
  });

  it('never runs a query issued outside a transaction inside it, even while one is open', async () => {
    await addAccount(db, 'C001', 0);
    const inside = deferred();
    const finish = deferred();
    const failing = db.transaction(async (tx) => {
      await tx.query(`INSERT INTO top_up VALUES ('P-uncommitted', 'C001', 100, 1)`);
      inside.resolve();
      await finish.promise;
      throw new Error('rolled back');
    });
    await inside.promise;
    // Issued while the transaction is open: must neither see its row nor be rolled back with it.
    const read = db.query<{ n: number }>(`SELECT count(*) AS n FROM top_up WHERE payment_id = 'P-uncommitted'`);
    const write = db.query(`INSERT INTO event (at, account_id, kind) VALUES (3, 'C001', 'outside')`);
    await turns(10);
    finish.resolve();
    await expect(failing).rejects.toThrow('rolled back');
    expect((await read).rows).toEqual([{ n: 0 }]);
    await write;
    expect((await db.query('SELECT kind FROM event')).rows).toEqual([{ kind: 'outside' }]);
    expect((await db.query('SELECT * FROM top_up')).rows).toEqual([]);
  });

  it('rejects use of the Db itself inside a transaction (it would deadlock or escape the transaction)', async () => {
    await addAccount(db, 'C001', 0);
    await expect(
      db.transaction(async () => {
        await db.query(`INSERT INTO top_up VALUES ('P1', 'C001', 100, 1)`);
      }),
    ).rejects.toThrow(/inside a transaction: use the tx given/);
    await expect(db.transaction(() => db.transaction(async () => 1))).rejects.toBeInstanceOf(StorageError);
    expect((await db.query('SELECT * FROM top_up')).rows).toEqual([]);
  });

  it('reports a duplicated top-up payment id as a unique violation (SQLSTATE 23505), and rolls its transaction back', async () => {
    await addAccount(db, 'C001', 0);
    const topUp = (tx: Queryable) =>
      tx
        .query(`INSERT INTO top_up (payment_id, account_id, amount_fen, received_at) VALUES ('PAY-42', 'C001', 5000, 7)`)
        .then(() => tx.query(`UPDATE account SET balance_fen = balance_fen + 5000 WHERE id = 'C001'`));
    await db.transaction(topUp);
    const duplicate = await db.transaction(topUp).then(
      () => undefined,
      (error: unknown) => error,
    );
    expect(isUniqueViolation(duplicate)).toBe(true);
    expect((duplicate as { code?: string }).code).toBe('23505');
    expect(isUniqueViolation(new StorageError('wrapped', { cause: duplicate }))).toBe(true);
    expect((await db.query('SELECT balance_fen FROM account')).rows).toEqual([{ balance_fen: 5000 }]);
    // Other constraint failures are not unique violations: a top-up for an unknown account (23503).
    const foreignKey = await db.query(`INSERT INTO top_up VALUES ('PAY-43', 'nobody', 1, 1)`).then(
      () => undefined,
      (error: unknown) => error,
    );
    expect((foreignKey as { code?: string }).code).toBe('23503');
    expect(isUniqueViolation(foreignKey)).toBe(false);
    expect(isUniqueViolation(new Error('23505'))).toBe(false);
    expect(isUniqueViolation(undefined)).toBe(false);
  });

  it('returns BIGINT and BIGSERIAL columns as JS numbers, exact up to 2^53-1, and refuses larger ones', async () => {
    await addAccount(db, 'C001', Number.MAX_SAFE_INTEGER);
    await db.query(`UPDATE account SET warning_fen = $1 WHERE id = 'C001'`, [123_456_789_012]);
    const a = (await db.query<{ balance_fen: unknown; warning_fen: unknown; created_at: unknown }>(
      'SELECT balance_fen, warning_fen, created_at FROM account',
    )).rows[0]!;
    expect(a).toEqual({ balance_fen: Number.MAX_SAFE_INTEGER, warning_fen: 123_456_789_012, created_at: 1_764_460_800_000 });
    expect(typeof a.balance_fen).toBe('number');
    const job = await db.query<{ id: unknown }>(
      `INSERT INTO switch_job (account_id, action, reason, state, next_at, created_at) VALUES ('C001', 'disconnect', 'arrears', 'pending', 1, 1) RETURNING id`,
    );
    expect(job.rows).toEqual([{ id: 1 }]);
    const counts = await db.query<{ n: unknown; negative: unknown; total: unknown }>(
      `SELECT count(*) AS n, (-42)::bigint AS negative, sum(balance_fen)::bigint AS total FROM account`,
    );
    expect(counts.rows).toEqual([{ n: 1, negative: -42, total: Number.MAX_SAFE_INTEGER }]);
    // NUMERIC (an uncast SUM of BIGINT) stays a string on both drivers.
    expect((await db.query('SELECT sum(balance_fen) AS s FROM account')).rows).toEqual([{ s: String(Number.MAX_SAFE_INTEGER) }]);
    await expect(db.query(`SELECT 9007199254740993::bigint AS too_big`)).rejects.toThrow(/outside the safe integer range/);
    // The Db still works after a refused value.
    expect((await db.query('SELECT 1::bigint AS one')).rows).toEqual([{ one: 1 }]);
  });

  it('round-trips JSONB event details passed as JSON text', async () => {
    const detail = { paymentId: 'PAY-1', amountFen: 5000, tags: ['sms', 'top-up'] };
    await db.query(`INSERT INTO event (at, kind, detail) VALUES ($1, 'top-up', $2::jsonb)`, [9, JSON.stringify(detail)]);
    expect((await db.query('SELECT at, detail FROM event')).rows).toEqual([{ at: 9, detail }]);
  });

  it('allows one pending switching job per account (partial unique index switch_job_one_open)', async () => {
    await addAccount(db, 'C001');
    await addAccount(db, 'C002');
    const job = (account: string, state: string) =>
      db.query(
        `INSERT INTO switch_job (account_id, action, reason, state, next_at, created_at) VALUES ($1, 'reconnect', 'top-up', $2, 1, 1)`,
        [account, state],
      );
    await job('C001', 'pending');
    const second = await job('C001', 'pending').then(
      () => undefined,
      (error: unknown) => error,
    );
    expect(isUniqueViolation(second)).toBe(true);
    await job('C002', 'pending'); // another account
    await job('C001', 'done'); // finished jobs do not count
    await job('C001', 'failed');
    await db.query(`UPDATE switch_job SET state = 'done' WHERE account_id = 'C001' AND state = 'pending'`);
    await job('C001', 'pending'); // the account's only open job again
    const open = await db.query(`SELECT account_id FROM switch_job WHERE state = 'pending' ORDER BY account_id`);
    expect(open.rows).toEqual([{ account_id: 'C001' }, { account_id: 'C002' }]);
  });

  it('records the applied migrations and skips them when applied again', async () => {
    const rows = await db.query<{ version: number; name: string; checksum: string; applied_at: number }>(
      'SELECT version, name, checksum, applied_at FROM schema_migrations ORDER BY version',
    );
    expect(rows.rows.map((r) => [r.version, r.name])).toEqual([
      [1, '001-init.sql'],
      [2, '002-collection.sql'],
    ]);
    expect(rows.rows[0]!.checksum).toMatch(/^[0-9a-f]{64}$/);
    expect(typeof rows.rows[0]!.applied_at).toBe('number');
    expect(await applyMigrations(db)).toEqual({ applied: [], skipped: ['001-init.sql', '002-collection.sql'] });
  });
}

describe('storage on PGlite in memory', () => {
  let shared: Db;
  beforeAll(async () => {
    shared = await openDatabase();
    expect(shared.kind).toBe('pglite');
    expect(shared.location).toBe('memory');
  });
  afterAll(() => shared?.close());
  contractTests(
    () => ({
      async fresh() {
        await shared.query(`TRUNCATE ${SCHEMA_1_TABLES} RESTART IDENTITY CASCADE`);
        return shared;
      },
      async release() {},
    }),
    { serialised: true },
  );
});

describe('storage on PGlite in a data directory', () => {
  let dir: string;
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'meterlab-storage-'));
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('creates the directory, keeps committed data across close and reopen, and does not re-apply migrations', async () => {
    const dataDir = join(dir, 'station', 'data'); // does not exist yet
    const first = await openDatabase(`file:${dataDir}`);
    expect(first.kind).toBe('pglite');
    expect(first.location).toBe(dataDir);
    await addAccount(first, 'C001', 0);
    await first.transaction(async (tx) => {
      await tx.query(`INSERT INTO top_up VALUES ('PAY-1', 'C001', 700, 1)`);
      await tx.query(`UPDATE account SET balance_fen = balance_fen + 700`);
    });
    await first.transaction(async (tx) => {
      await tx.query(`INSERT INTO top_up VALUES ('PAY-2', 'C001', 900, 2)`);
      throw new Error('never committed');
    }).catch(() => undefined);
    const appliedAt = (await first.query<{ applied_at: number }>('SELECT applied_at FROM schema_migrations')).rows;
    await first.close();

    const again = await openDatabase(dataDir); // the plain-path form of the same directory
    try {
      expect((await again.query('SELECT payment_id FROM top_up')).rows).toEqual([{ payment_id: 'PAY-1' }]);
      expect((await again.query('SELECT balance_fen FROM account')).rows).toEqual([{ balance_fen: 700 }]);
      expect((await again.query('SELECT applied_at FROM schema_migrations')).rows).toEqual(appliedAt);
      expect(await applyMigrations(again)).toEqual({ applied: [], skipped: ['001-init.sql', '002-collection.sql'] });
    } finally {
      await again.close();
    }
  });
});

describe('migrations', () => {
  let dir: string;
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'meterlab-migrations-'));
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('applies new files in order, rolls a failing one back, and refuses an applied file that changed or is missing', async () => {
    copyFileSync(join(MIGRATIONS_DIR, '001-init.sql'), join(dir, '001-init.sql'));
    const db = await openDatabase('memory:', { migrationsDir: dir });
    try {
      writeFileSync(join(dir, '003-outbox-index.sql'), 'CREATE INDEX sms_outbox_unsent ON sms_outbox (sent_at);\n');
      writeFileSync(join(dir, '002-account-note.sql'), 'ALTER TABLE account ADD COLUMN note TEXT;\n');
      writeFileSync(join(dir, 'README.txt'), 'not a migration');
      expect(await applyMigrations(db, { migrationsDir: dir })).toEqual({
        applied: ['002-account-note.sql', '003-outbox-index.sql'],
        skipped: ['001-init.sql'],
      });
      // A migration that fails rolls back and is not recorded.
      writeFileSync(join(dir, '004-broken.sql'), 'CREATE TABLE half_done (x INT);\nSELECT * FROM no_such_table;\n');
      await expect(applyMigrations(db, { migrationsDir: dir })).rejects.toThrow(/^migration 004-broken\.sql failed on memory: .*no_such_table/);
      expect((await db.query('SELECT version FROM schema_migrations ORDER BY version')).rows).toEqual([{ version: 1 }, { version: 2 }, { version: 3 }]);
      expect((await db.query(`SELECT to_regclass('half_done') AS t`)).rows).toEqual([{ t: null }]);
      rmSync(join(dir, '004-broken.sql'));
      // An applied file edited afterwards is refused, not re-applied.
      writeFileSync(join(dir, '002-account-note.sql'), 'ALTER TABLE account ADD COLUMN note TEXT NOT NULL DEFAULT \'\';\n');
      const error = await applyMigrations(db, { migrationsDir: dir }).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(StorageError);
      expect((error as Error).message).toMatch(/^migration 002-account-note\.sql changed after it was applied to memory/);
      // A database migrated by a newer MeterLab (a recorded version with no file) is refused too.
      rmSync(join(dir, '002-account-note.sql'));
      rmSync(join(dir, '003-outbox-index.sql'));
      await expect(applyMigrations(db, { migrationsDir: dir })).rejects.toThrow(/has migration 002-account-note\.sql, 003-outbox-index\.sql that this MeterLab does not know/);
    } finally {
      await db.close();
    }
  });
});

describe('database URLs', () => {
  it('accepts memory, file: and directory forms', () => {
    expect(parseDatabaseUrl(undefined)).toEqual({ kind: 'memory' });
    expect(parseDatabaseUrl('memory')).toEqual({ kind: 'memory' });
    expect(parseDatabaseUrl('memory:')).toEqual({ kind: 'memory' });
    expect(parseDatabaseUrl('file:///var/lib/meterlab')).toEqual({ kind: 'dir', dir: '/var/lib/meterlab' });
    expect(parseDatabaseUrl('file:/var/lib/meterlab')).toEqual({ kind: 'dir', dir: '/var/lib/meterlab' });
    expect(parseDatabaseUrl('/var/lib/meterlab')).toEqual({ kind: 'dir', dir: '/var/lib/meterlab' });
    expect(parseDatabaseUrl('postgresql://u@h/db')).toEqual({ kind: 'postgres', url: 'postgresql://u@h/db' });
  });

  it('rejects anything else with a one-line StorageError naming the accepted forms, without the password', async () => {
    for (const url of ['mysql://root:hunter2@127.0.0.1/meters', 'sqlite:station.db', '', '   ', 'file:']) {
      const error = await openDatabase(url).catch((e: unknown) => e);
      expect(error, url).toBeInstanceOf(StorageError);
      const message = (error as Error).message;
      expect(message).toContain('memory, file:<dir>, a directory path, or postgres://');
      expect(message).not.toContain('hunter2');
      expect(message).not.toContain('\n');
    }
    expect((await openDatabase('mysql://root:hunter2@127.0.0.1/meters').catch((e: Error) => e.message))).toBe(
      'unsupported database URL "mysql://root:***@127.0.0.1/meters" (scheme mysql:): expected memory, file:<dir>, a directory path, or postgres://user:password@host:port/database',
    );
  });

  it('masks the password of a server URL', () => {
    expect(maskPassword('postgres://meterlab:s3cret@db.example:5432/station')).toBe('postgres://meterlab:***@db.example:5432/station');
    expect(maskPassword('postgresql://meterlab@db.example/station?password=s3cret&sslmode=require')).toBe(
      'postgresql://meterlab@db.example/station?password=***&sslmode=require',
    );
    expect(maskPassword('postgres://meterlab@db.example/station')).toBe('postgres://meterlab@db.example/station');
    expect(maskPassword('postgres://u:p%w@rd@host/db')).not.toContain('p%w');
  });

  it('names the server without its password when it cannot connect', async () => {
    // Port 1 on loopback: nothing listens there, the connection is refused at once.
    const error = await openDatabase('postgres://meterlab:s3cret@127.0.0.1:1/meterlab').catch((e: unknown) => e);
    expect(error).toBeInstanceOf(StorageError);
    expect((error as Error).message).toMatch(/^cannot connect to postgres:\/\/meterlab:\*\*\*@127\.0\.0\.1:1\/meterlab: .*ECONNREFUSED/);
    expect((error as Error).message).not.toContain('s3cret');
  });
});

const PG_SKIP_REASON = 'METERLAB_TEST_PG_URL not set: no PostgreSQL server';

describe.skipIf(PG_URL === undefined)(`storage on a PostgreSQL server${PG_URL === undefined ? ` (skipped: ${PG_SKIP_REASON})` : ''}`, () => {
  const url = PG_URL!;
  let admin: pg.Client;
  let counter = 0;
  const schemas = new Map<Db, string>();

  async function freshSchema(): Promise<string> {
    const schema = `meterlab_test_${process.pid}_${++counter}`;
    await admin.query(`CREATE SCHEMA ${schema}`);
    return schema;
  }
  async function dropSchema(schema: string): Promise<void> {
    await admin.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`);
  }

  beforeAll(async () => {
    admin = new pg.Client({ connectionString: url });
    await admin.connect();
  });
  afterAll(() => admin?.end());

  contractTests(
    () => ({
      async fresh() {
        const schema = await freshSchema();
        const db = await openDatabase(url, { schema });
        schemas.set(db, schema);
        return db;
      },
      async release(db) {
        await db.close();
        await dropSchema(schemas.get(db)!);
        schemas.delete(db);
      },
    }),
    { serialised: false },
  );

  it('names the server without its password', async () => {
    const schema = await freshSchema();
    const db = await openDatabase(url, { schema, migrate: false });
    try {
      expect(db.kind).toBe('postgres');
      const password = new URL(url).password;
      expect(new URL(db.location).password).toBe(password === '' ? '' : '***');
      expect(db.location).toBe(maskPassword(url));
    } finally {
      await db.close();
      await dropSchema(schema);
    }
  });

  it('applies each migration once when two processes open the same fresh database at once (advisory lock)', async () => {
    const schema = await freshSchema();
    try {
      const opened = await Promise.all([1, 2, 3].map(() => openDatabase(url, { schema })));
      try {
        const rows = await opened[0]!.query('SELECT version FROM schema_migrations ORDER BY version');
        expect(rows.rows).toEqual([{ version: 1 }, { version: 2 }]);
      } finally {
        await Promise.all(opened.map((db) => db.close()));
      }
    } finally {
      await dropSchema(schema);
    }
  });
});

if (PG_URL === undefined) {
  describe('storage on a PostgreSQL server', () => {
    it.skip(PG_SKIP_REASON, () => {});
  });
}
