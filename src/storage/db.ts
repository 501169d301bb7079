import type { Kysely, Transaction } from "kysely";
import type { AdvisoryLocks } from "./advisory-locks.ts";
import type { Database } from "./schema.ts";

/** A query runner: the database itself or an open transaction. Stores accept either. */
export type Queryable = Kysely<Database>;
/** An open transaction. Services take one explicitly, so every write and its audit event commit together. */
export type Tx = Transaction<Database>;

/** A raw session on one connection, for advisory locks and multi-statement migration scripts. */
export interface Session {
  query<R = Record<string, unknown>>(sql: string, params?: unknown[]): Promise<R[]>;
  /** Runs a script of several statements (simple query protocol); no parameters. */
  exec(script: string): Promise<void>;
}

/**
 * The storage handle shared by every domain. The same SQL runs on PostgreSQL and on the embedded
 * PGlite database; only `kind` tells them apart.
 */
export interface Db {
  readonly kind: "postgres" | "embedded";
  readonly kysely: Kysely<Database>;
  /**
   * Runs `fn` in one transaction: committed when it resolves, rolled back when it throws. When
   * PostgreSQL aborts it with a deadlock or serialization failure, `fn` runs again in a fresh
   * transaction (a few times at most, `retryTransaction`), so `fn` must keep to the database.
   */
  transaction<T>(fn: (tx: Tx) => Promise<T>): Promise<T>;
  /** Locks that say which process does a long job; they take no pool connection (advisory-locks.ts). */
  readonly locks: AdvisoryLocks;
  /** Runs `fn` on one dedicated connection (held for the duration). */
  withSession<T>(fn: (session: Session) => Promise<T>): Promise<T>;
  /** Throws when the database cannot answer a trivial query. */
  ping(): Promise<void>;
  /** Connection counts for /metrics. */
  poolStats(): { total: number; idle: number; waiting: number };
  /**
   * Bytes of WebAssembly memory the embedded database holds (absent on PostgreSQL). It grows with
   * the largest single value PGlite has handled and never shrinks, so it is exported as a gauge.
   */
  embeddedMemoryBytes?(): number;
  /** A copy of the whole embedded database (absent on PostgreSQL), for `embeddedTemplate`. */
  dumpDataDir?(): Promise<Blob>;
  close(): Promise<void>;
}
