/**
 * The master station's three storage backends for its benchmarks: PGlite in memory, a PGlite data
 * directory, a PostgreSQL server in a schema of its own.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import type { Db } from '../simulators/master-station/db.ts';
import { openDatabase } from '../simulators/master-station/storage.ts';

/**
 * Runs `measure` on each storage backend of the master station in turn, each opened fresh and
 * closed (and removed) afterwards; the PostgreSQL server only when `pgUrl` is given, in a schema
 * `<schemaPrefix>_<pid>` dropped at the end.
 */
export async function forEachStationBackend(pgUrl: string | undefined, schemaPrefix: string, measure: (backend: string, db: Db) => Promise<void>): Promise<void> {
  {
    const db = await openDatabase('memory');
    try {
      await measure('PGlite memory', db);
    } finally {
      await db.close();
    }
  }
  {
    const dir = mkdtempSync(join(tmpdir(), 'meterlab-bench-'));
    const db = await openDatabase(`file:${dir}`);
    try {
      await measure('PGlite data dir', db);
    } finally {
      await db.close();
      rmSync(dir, { recursive: true, force: true });
    }
  }
  if (pgUrl === undefined) return;
  const schema = `${schemaPrefix}_${process.pid}`;
  const admin = new pg.Client({ connectionString: pgUrl });
  await admin.connect();
  await admin.query(`CREATE SCHEMA ${schema}`);
  try {
    const db = await openDatabase(pgUrl, { schema });
    try {
      await measure('PostgreSQL server', db);
    } finally {
      await db.close();
    }
  } finally {
    await admin.query(`DROP SCHEMA ${schema} CASCADE`);
    await admin.end();
  }
}
