/**
 * Opens the master station's storage (db.ts) from a URL and applies its migrations.
 *
 * URL forms (`openDatabase(url)`):
 * - undefined, "memory" or "memory:"        -> embedded PGlite in memory (tests, throwaway runs)
 * - "file:<dir>", "file:///abs/dir" or a plain directory path
 *                                           -> embedded PGlite with that data directory (created if missing)
 * - "postgres://..." or "postgresql://..."  -> a PostgreSQL server through `pg` (a Pool)
 * Anything else is a StorageError naming these forms.
 *
 * Numbers (the same on both drivers): BIGINT/BIGSERIAL (int8) columns come back as JS numbers.
 * The station's int8 values are fen, Wh and epoch milliseconds, all far below 2^53; a value
 * outside Number.MAX_SAFE_INTEGER fails the query with a StorageError instead of being rounded.
 * `pg` returns int8 as strings by default and PGlite as unchecked numbers: both get the checked
 * parser below. NUMERIC (e.g. SUM() of a BIGINT column) stays a string on both: cast it
 * (`SUM(x)::bigint`) to get a number. `affectedRows` counts rows inserted, updated or deleted
 * (INSERT/UPDATE/DELETE/MERGE), 0 for anything else, on both drivers.
 *
 * Transactions: `transaction(work)` runs `work(tx)` between BEGIN and COMMIT, ROLLBACK and rethrow
 * when it throws. PGlite has one connection: its own `transaction` API holds a mutex, so two
 * transactions never interleave and a `db.query` issued while one runs waits until it ends (it
 * never runs inside it). On a server each transaction takes its own pooled client. Calling the Db
 * itself (query or transaction) from inside `work` is a programming error that would deadlock on
 * PGlite and silently run outside the transaction on a server: both drivers reject it with a
 * StorageError (detected through AsyncLocalStorage).
 *
 * Migrations: migrations/NNN-name.sql, applied in order of NNN, each in its own transaction and
 * recorded in schema_migrations(version, name, checksum, applied_at); applied ones are skipped; a
 * file whose SHA-256 differs from the one recorded is a StorageError (never re-applied). On a
 * server the whole run holds a session advisory lock, so two processes opening the same fresh
 * database at once apply each migration once. PGlite is one process's database: do not open one
 * data directory from two processes.
 */
import { AsyncLocalStorage } from 'node:async_hooks';
import { createHash } from 'node:crypto';
import { mkdirSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { PGlite, types as pgliteTypes, type Transaction as PgliteTransaction } from '@electric-sql/pglite';
import pg from 'pg';
import { RealClock, type Clock } from '../../harness/core/clock.ts';
import type { Db, Queryable, QueryResult } from './db.ts';

/** The accepted URL forms, for error messages. */
export const ACCEPTED_FORMS =
  'memory, file:<dir>, a directory path, or postgres://user:password@host:port/database';

/** The folder of NNN-name.sql files, next to this module (works from any cwd). */
export const MIGRATIONS_DIR = fileURLToPath(new URL('./migrations/', import.meta.url));

/** A storage failure with a one-line message a CLI can print as is. */
export class StorageError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'StorageError';
  }
}

export interface OpenOptions {
  /** Apply pending migrations on open (default true). */
  migrate?: boolean;
  /** Where the NNN-name.sql files are (default MIGRATIONS_DIR). */
  migrationsDir?: string;
  /**
   * A schema to work in (default: the server's search_path, i.e. public). It must exist. Used by
   * the server tests to get a fresh database per test; a lowercase SQL identifier.
   */
  schema?: string;
  /** Stamps schema_migrations.applied_at (epoch ms). Default RealClock. */
  clock?: Clock;
  /** Pool size on a server (default 10). */
  maxConnections?: number;
}

/**
 * True when `error` (or its cause) is PostgreSQL's unique_violation, SQLSTATE 23505 (PostgreSQL
 * manual, Appendix A "PostgreSQL Error Codes"), as thrown by either driver: the station's way to
 * recognise a duplicated top-up payment id or a second open switching job.
 */
export function isUniqueViolation(error: unknown): boolean {
  for (let e = error, depth = 0; typeof e === 'object' && e !== null && depth < 5; depth++) {
    if ((e as { code?: unknown }).code === '23505') return true;
    e = (e as { cause?: unknown }).cause;
  }
  return false;
}

/** The URL with any password replaced by "***" (userinfo and `password=` query parameter). */
export function maskPassword(url: string): string {
  try {
    const u = new URL(url);
    if (u.password !== '') u.password = '***';
    if (u.searchParams.has('password')) u.searchParams.set('password', '***');
    return u.toString();
  } catch {
    // Not parseable: mask anything that looks like user:password@ or password=...
    return url.replace(/(\/\/[^:/@]*:)[^@]*@/, '$1***@').replace(/(password=)[^&]*/gi, '$1***');
  }
}

type Target =
  | { kind: 'memory' }
  | { kind: 'dir'; dir: string }
  | { kind: 'postgres'; url: string };

/** Classifies a URL (exported for the CLI's option check). Throws StorageError for anything else. */
export function parseDatabaseUrl(url: string | undefined): Target {
  if (url === undefined || url === 'memory' || url === 'memory:') return { kind: 'memory' };
  const trimmed = url.trim();
  if (trimmed === '') throw new StorageError(`empty database URL: expected ${ACCEPTED_FORMS}`);
  if (/^postgres(ql)?:\/\//i.test(trimmed)) {
    try {
      new URL(trimmed);
    } catch {
      throw new StorageError(`not a valid PostgreSQL URL "${maskPassword(trimmed)}": expected ${ACCEPTED_FORMS}`);
    }
    return { kind: 'postgres', url: trimmed };
  }
  if (/^file:/i.test(trimmed)) {
    let dir: string;
    try {
      dir = /^file:\/\//i.test(trimmed) ? fileURLToPath(trimmed) : trimmed.slice('file:'.length);
    } catch {
      throw new StorageError(`not a valid file URL "${trimmed}": expected ${ACCEPTED_FORMS}`);
    }
    if (dir === '') throw new StorageError(`file: needs a directory ("file:./data"): expected ${ACCEPTED_FORMS}`);
    return { kind: 'dir', dir: resolve(dir) };
  }
  // Any other scheme (two or more letters, so a Windows drive "C:\..." stays a path).
  const scheme = /^([a-z][a-z0-9+.-]+):/i.exec(trimmed);
  if (scheme) {
    throw new StorageError(`unsupported database URL "${maskPassword(trimmed)}" (scheme ${scheme[1]}:): expected ${ACCEPTED_FORMS}`);
  }
  return { kind: 'dir', dir: resolve(trimmed) };
}

/**
 * int8 text -> number, refusing what a double cannot hold exactly (see the header). PostgreSQL
 * sends int8 in text format as an optional '-' and decimal digits.
 */
export function parseInt8(text: string): number {
  const n = Number(text);
  if (!Number.isSafeInteger(n)) {
    throw new StorageError(`BIGINT value ${text} is outside the safe integer range of a JS number (±2^53-1)`);
  }
  return n;
}

const ROW_COUNTING_COMMANDS = new Set(['INSERT', 'UPDATE', 'DELETE', 'MERGE']);

/** Constant key of the migration advisory lock: the first 8 bytes of sha256("meterlab.master-station.migrations"). */
const MIGRATION_LOCK_KEY = createHash('sha256').update('meterlab.master-station.migrations').digest().readBigInt64BE(0).toString();

/** What the migration runner needs from a driver beyond Db: multi-statement SQL in one transaction. */
interface Internals {
  /** Runs `work` in one transaction where `exec` may hold several statements. */
  migrationTransaction<T>(work: (tx: Queryable & { exec(sql: string): Promise<void> }) => Promise<T>): Promise<T>;
  /** Runs `work` while holding the migration lock (a server advisory lock; PGlite: no other process). */
  withMigrationLock<T>(work: () => Promise<T>): Promise<T>;
}
const internals = new WeakMap<Db, Internals>();

/** Opens (and by default migrates) the database `url` names. */
export async function openDatabase(url?: string, options: OpenOptions = {}): Promise<Db> {
  const target = parseDatabaseUrl(url);
  if (options.schema !== undefined && !/^[a-z_][a-z0-9_]{0,62}$/.test(options.schema)) {
    throw new StorageError(`schema "${options.schema}" is not a lowercase SQL identifier`);
  }
  const db = target.kind === 'postgres' ? await openPostgres(target.url, options) : await openPglite(target, options);
  if (options.migrate ?? true) {
    try {
      await applyMigrations(db, options);
    } catch (error) {
      await db.close().catch(() => undefined);
      throw error;
    }
  }
  return db;
}

// ---------------------------------------------------------------------------------------------
// PGlite

async function openPglite(target: Extract<Target, { kind: 'memory' | 'dir' }>, options: OpenOptions): Promise<Db> {
  let dataDir: string | undefined;
  if (target.kind === 'dir') {
    dataDir = target.dir;
    try {
      mkdirSync(dataDir, { recursive: true });
    } catch (error) {
      throw new StorageError(`cannot create data directory ${dataDir}: ${(error as Error).message}`, { cause: error });
    }
    if (!statSync(dataDir).isDirectory()) throw new StorageError(`${dataDir} is not a directory`);
  }
  const location = dataDir ?? 'memory';
  let pglite: PGlite;
  try {
    pglite = await PGlite.create(dataDir, { parsers: { [pgliteTypes.INT8]: parseInt8 } });
    if (options.schema !== undefined) await pglite.exec(`SET search_path TO ${options.schema}`);
  } catch (error) {
    throw new StorageError(`cannot open PGlite at ${location}: ${(error as Error).message}`, { cause: error });
  }
  return new PgliteDb(pglite, location);
}

/** Marks the async context of a transaction's work, per Db, to reject use of the Db inside it. */
const insideTransaction = new AsyncLocalStorage<Db>();

function refuseInsideTransaction(db: Db, what: string): void {
  if (insideTransaction.getStore() === db) {
    throw new StorageError(`db.${what}() called inside a transaction: use the tx given to transaction()`);
  }
}

function pgliteQueryable(tx: PgliteTransaction): Queryable & { exec(sql: string): Promise<void> } {
  return {
    async query<Row>(sql: string, params?: readonly unknown[]): Promise<QueryResult<Row>> {
      const r = await tx.query<Row>(sql, params as unknown[] | undefined);
      return { rows: r.rows, affectedRows: r.affectedRows ?? 0 };
    },
    async exec(sql: string): Promise<void> {
      await tx.exec(sql);
    },
  };
}

class PgliteDb implements Db {
  readonly kind = 'pglite' as const;
  private closed = false;

  constructor(
    private readonly pglite: PGlite,
    readonly location: string,
  ) {
    internals.set(this, {
      migrationTransaction: (work) => this.pglite.transaction((tx) => work(pgliteQueryable(tx))),
      withMigrationLock: (work) => work(),
    });
  }

  async query<Row = Record<string, unknown>>(sql: string, params?: readonly unknown[]): Promise<QueryResult<Row>> {
    refuseInsideTransaction(this, 'query');
    this.checkOpen();
    const r = await this.pglite.query<Row>(sql, params as unknown[] | undefined);
    return { rows: r.rows, affectedRows: r.affectedRows ?? 0 };
  }

  async transaction<T>(work: (tx: Queryable) => Promise<T>): Promise<T> {
    refuseInsideTransaction(this, 'transaction');
    this.checkOpen();
    // PGlite's transaction(): BEGIN, work, COMMIT (ROLLBACK and rethrow on throw), under a mutex
    // that also makes plain queries wait.
    return this.pglite.transaction((tx) => insideTransaction.run(this, () => work(pgliteQueryable(tx))));
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await this.pglite.close();
  }

  private checkOpen(): void {
    if (this.closed) throw new StorageError(`database ${this.location} is closed`);
  }
}

// ---------------------------------------------------------------------------------------------
// PostgreSQL server

async function openPostgres(url: string, options: OpenOptions): Promise<Db> {
  const location = maskPassword(url);
  const pool = new pg.Pool({
    connectionString: url,
    max: options.maxConnections ?? 10,
    // A startup parameter, so every pooled connection has it before its first statement.
    ...(options.schema !== undefined ? { options: `-c search_path=${options.schema}` } : {}),
    types: {
      getTypeParser: ((oid: number, format?: 'text' | 'binary') =>
        oid === pg.types.builtins.INT8 && format !== 'binary'
          ? parseInt8
          : pg.types.getTypeParser(oid, format ?? 'text')) as typeof pg.types.getTypeParser,
    },
  });
  // An idle client losing its connection emits 'error' on the pool; unhandled it would kill the
  // process. The next query then gets a fresh connection or a clear error.
  pool.on('error', () => undefined);
  try {
    const client = await pool.connect();
    client.release();
  } catch (error) {
    await pool.end().catch(() => undefined);
    throw new StorageError(`cannot connect to ${location}: ${describe(error)}`, { cause: error });
  }
  return new PostgresDb(pool, location);
}

function describe(error: unknown): string {
  if (error instanceof AggregateError && error.errors.length > 0) return describe(error.errors[0]);
  const e = error as { message?: string; code?: string };
  return e.message && e.message !== '' ? e.message : String(e.code ?? error);
}

function pgResult<Row>(r: pg.QueryResult): QueryResult<Row> {
  return {
    rows: r.rows as Row[],
    affectedRows: ROW_COUNTING_COMMANDS.has(r.command) ? (r.rowCount ?? 0) : 0,
  };
}

function pgQueryable(client: pg.PoolClient): Queryable & { exec(sql: string): Promise<void> } {
  return {
    async query<Row>(sql: string, params?: readonly unknown[]): Promise<QueryResult<Row>> {
      return pgResult<Row>(await client.query(sql, params as unknown[] | undefined));
    },
    // Without parameters pg uses the simple query protocol, which accepts several statements.
    async exec(sql: string): Promise<void> {
      await client.query(sql);
    },
  };
}

class PostgresDb implements Db {
  readonly kind = 'postgres' as const;
  private closed = false;

  constructor(
    private readonly pool: pg.Pool,
    readonly location: string,
  ) {
    internals.set(this, {
      migrationTransaction: (work) => this.runTransaction(work),
      withMigrationLock: (work) => this.withAdvisoryLock(work),
    });
  }

  async query<Row = Record<string, unknown>>(sql: string, params?: readonly unknown[]): Promise<QueryResult<Row>> {
    refuseInsideTransaction(this, 'query');
    this.checkOpen();
    return pgResult<Row>(await this.pool.query(sql, params as unknown[] | undefined));
  }

  async transaction<T>(work: (tx: Queryable) => Promise<T>): Promise<T> {
    refuseInsideTransaction(this, 'transaction');
    this.checkOpen();
    return this.runTransaction((tx) => insideTransaction.run(this, () => work(tx)));
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await this.pool.end();
  }

  private checkOpen(): void {
    if (this.closed) throw new StorageError(`database ${this.location} is closed`);
  }

  /** One pooled client: BEGIN, work, COMMIT; ROLLBACK and rethrow on throw; released in every case. */
  private async runTransaction<T>(work: (tx: Queryable & { exec(sql: string): Promise<void> }) => Promise<T>): Promise<T> {
    const client = await this.pool.connect();
    let broken: Error | undefined;
    try {
      await client.query('BEGIN');
      try {
        const result = await work(pgQueryable(client));
        await client.query('COMMIT');
        return result;
      } catch (error) {
        try {
          await client.query('ROLLBACK');
        } catch (rollbackError) {
          // The connection is unusable: destroy it rather than return it to the pool.
          broken = rollbackError as Error;
        }
        throw error;
      }
    } finally {
      client.release(broken);
    }
  }

  private async withAdvisoryLock<T>(work: () => Promise<T>): Promise<T> {
    const client = await this.pool.connect();
    let broken: Error | undefined;
    try {
      // Session-level lock (PostgreSQL manual 9.27.10 "Advisory Lock Functions"): blocks until
      // another process's migration run ends; released explicitly below, or when the session ends.
      await client.query('SELECT pg_advisory_lock($1::bigint)', [MIGRATION_LOCK_KEY]);
      try {
        return await work();
      } finally {
        await client.query('SELECT pg_advisory_unlock($1::bigint)', [MIGRATION_LOCK_KEY]).catch((error: Error) => {
          broken = error;
        });
      }
    } finally {
      client.release(broken);
    }
  }
}

// ---------------------------------------------------------------------------------------------
// Migrations

export interface Migration {
  readonly version: number;
  readonly name: string;
  readonly sql: string;
  /** SHA-256 of the file's bytes, hex. */
  readonly checksum: string;
}

/** The NNN-name.sql files of `dir`, in version order. Duplicated versions are a StorageError. */
export function readMigrations(dir: string = MIGRATIONS_DIR): Migration[] {
  let files: string[];
  try {
    files = readdirSync(dir);
  } catch (error) {
    throw new StorageError(`cannot read migrations folder ${dir}: ${(error as Error).message}`, { cause: error });
  }
  const migrations: Migration[] = [];
  for (const file of files) {
    const m = /^(\d{3})-(.+)\.sql$/.exec(file);
    if (!m) continue;
    const bytes = readFileSync(join(dir, file));
    migrations.push({
      version: Number(m[1]),
      name: file,
      sql: bytes.toString('utf8'),
      checksum: createHash('sha256').update(bytes).digest('hex'),
    });
  }
  migrations.sort((a, b) => a.version - b.version);
  for (let i = 1; i < migrations.length; i++) {
    if (migrations[i]!.version === migrations[i - 1]!.version) {
      throw new StorageError(`two migrations with version ${migrations[i]!.version}: ${migrations[i - 1]!.name} and ${migrations[i]!.name}`);
    }
  }
  return migrations;
}

export interface MigrationReport {
  /** File names applied by this call, in order. */
  readonly applied: string[];
  /** File names found already applied. */
  readonly skipped: string[];
}

/**
 * Applies the pending migrations to a Db returned by openDatabase (openDatabase does this unless
 * `migrate: false`). Each migration and its schema_migrations row commit together.
 */
export async function applyMigrations(
  db: Db,
  options: Pick<OpenOptions, 'migrationsDir' | 'clock'> = {},
): Promise<MigrationReport> {
  const driver = internals.get(db);
  if (!driver) throw new StorageError('applyMigrations needs a Db returned by openDatabase');
  const migrations = readMigrations(options.migrationsDir ?? MIGRATIONS_DIR);
  const clock = options.clock ?? new RealClock();
  return driver.withMigrationLock(async () => {
    await driver.migrationTransaction((tx) =>
      tx.exec(`CREATE TABLE IF NOT EXISTS schema_migrations (
        version    INTEGER PRIMARY KEY,
        name       TEXT NOT NULL,
        checksum   TEXT NOT NULL,  -- SHA-256 of the file, hex
        applied_at BIGINT NOT NULL -- epoch ms
      )`),
    );
    const recorded = await driver.migrationTransaction((tx) =>
      tx.query<{ version: number; name: string; checksum: string }>('SELECT version, name, checksum FROM schema_migrations ORDER BY version'),
    );
    const byVersion = new Map(recorded.rows.map((r) => [r.version, r]));
    const unknown = recorded.rows.filter((r) => !migrations.some((m) => m.version === r.version));
    if (unknown.length > 0) {
      throw new StorageError(
        `${db.location} has migration ${unknown.map((r) => r.name).join(', ')} that this MeterLab does not know: it was migrated by a newer version`,
      );
    }
    const applied: string[] = [];
    const skipped: string[] = [];
    for (const m of migrations) {
      const done = byVersion.get(m.version);
      if (done) {
        if (done.checksum !== m.checksum) {
          throw new StorageError(
            `migration ${m.name} changed after it was applied to ${db.location} (as ${done.name}; recorded sha256 ${done.checksum.slice(0, 12)}…, file ${m.checksum.slice(0, 12)}…): add a new migration instead of editing an applied one`,
          );
        }
        skipped.push(m.name);
        continue;
      }
      try {
        await driver.migrationTransaction(async (tx) => {
          await tx.exec(m.sql);
          await tx.query('INSERT INTO schema_migrations (version, name, checksum, applied_at) VALUES ($1, $2, $3, $4)', [
            m.version,
            m.name,
            m.checksum,
            clock.now(),
          ]);
        });
      } catch (error) {
        if (error instanceof StorageError) throw error;
        throw new StorageError(`migration ${m.name} failed on ${db.location}: ${describe(error)}`, { cause: error });
      }
      applied.push(m.name);
    }
    return { applied, skipped };
  });
}
