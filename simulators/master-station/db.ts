/**
 * The master station's storage contract: the same SQL (PostgreSQL dialect, `$1` parameters) runs
 * on embedded PGlite (a data directory, or memory) and on a PostgreSQL server. storage.ts opens
 * either from a URL and applies migrations/*.sql in order; nothing above this file knows which.
 */

export interface QueryResult<Row> {
  readonly rows: Row[];
  /** Rows inserted, updated or deleted (0 for a SELECT on some drivers: use rows.length). */
  readonly affectedRows: number;
}

/** What a statement runs on: the database, or one transaction of it. */
export interface Queryable {
  query<Row = Record<string, unknown>>(sql: string, params?: readonly unknown[]): Promise<QueryResult<Row>>;
}

export interface Db extends Queryable {
  /** 'pglite' (embedded) or 'postgres' (a server). */
  readonly kind: 'pglite' | 'postgres';
  /** Where it is, for messages: "memory", a data directory, or the server URL without its password. */
  readonly location: string;
  /**
   * Runs `work` in one transaction (BEGIN ... COMMIT; ROLLBACK and rethrow when it throws).
   * Statements inside must use the `tx` given, never the Db itself.
   */
  transaction<T>(work: (tx: Queryable) => Promise<T>): Promise<T>;
  close(): Promise<void>;
}
