/**
 * Test support: a fresh station database per test on each backend the machine has.
 * - 'pglite': one in-memory PGlite for the test file (an open costs 1.5-2.5 s), emptied with
 *   TRUNCATE ... RESTART IDENTITY before each test;
 * - 'postgres': when METERLAB_TEST_PG_URL is set (.ci/run starts a server and sets it), a schema
 *   per test on that server, migrated from scratch and dropped afterwards.
 */
import pg from 'pg';
import type { Db } from './db.ts';
import { openDatabase } from './storage.ts';

export const PG_URL = process.env.METERLAB_TEST_PG_URL;
export const PG_SKIP_REASON = 'METERLAB_TEST_PG_URL not set: no PostgreSQL server';

/** Every table of schemas 1 and 2, children first. */
const TABLES = 'usage_reminder, leak_warning, hourly_reading, reading_delivery, meter_reading, collection_terminal_day, collection_due, collection_point, concentrator, event, sms_outbox, switch_job, top_up, charge, daily_reading, account, channel';

export interface TestDatabases {
  readonly kind: 'pglite' | 'postgres';
  /** An empty, migrated database. */
  fresh(): Promise<Db>;
  /** Gives it back (drops a server schema). */
  release(db: Db): Promise<void>;
  /** After the file: closes what the backend keeps open. */
  closeAll(): Promise<void>;
}

export function testDatabases(kind: 'pglite' | 'postgres'): TestDatabases {
  if (kind === 'pglite') {
    let shared: Promise<Db> | null = null;
    return {
      kind,
      async fresh() {
        shared ??= openDatabase('memory');
        const db = await shared;
        await db.query(`TRUNCATE ${TABLES} RESTART IDENTITY CASCADE`);
        return db;
      },
      async release() {},
      async closeAll() {
        if (shared) await (await shared).close();
        shared = null;
      },
    };
  }
  const url = PG_URL!;
  let admin: pg.Client | null = null;
  let counter = 0;
  const schemas = new Map<Db, string>();
  return {
    kind,
    async fresh() {
      if (!admin) {
        admin = new pg.Client({ connectionString: url });
        await admin.connect();
      }
      const schema = `meterlab_station_test_${process.pid}_${++counter}`;
      await admin.query(`CREATE SCHEMA ${schema}`);
      const db = await openDatabase(url, { schema, maxConnections: 4 });
      schemas.set(db, schema);
      return db;
    },
    async release(db) {
      await db.close();
      await admin!.query(`DROP SCHEMA IF EXISTS ${schemas.get(db)} CASCADE`);
      schemas.delete(db);
    },
    async closeAll() {
      await admin?.end();
      admin = null;
    },
  };
}

/** The backends to run on here: PGlite always, a server when one is configured. */
export const BACKENDS: readonly ('pglite' | 'postgres')[] = PG_URL ? ['pglite', 'postgres'] : ['pglite'];
