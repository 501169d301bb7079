import type { PGlite } from "@electric-sql/pglite";
import {
  type CompiledQuery,
  type DatabaseConnection,
  type Dialect,
  type Driver,
  PostgresAdapter,
  PostgresIntrospector,
  PostgresQueryCompiler,
  type QueryResult,
} from "kysely";

/**
 * Kysely dialect for the embedded PGlite database. PGlite is one connection, so connections are
 * handed out one at a time: a transaction holds the database until it commits or rolls back,
 * exactly as a one-connection pool would. (The published kysely-pglite-dialect does not support
 * PGlite 0.5, and the driver is this small.)
 */
export class PGliteDialect implements Dialect {
  readonly #pglite: PGlite;
  readonly #lock: ExclusiveLock;
  constructor(pglite: PGlite, lock: ExclusiveLock) {
    this.#pglite = pglite;
    this.#lock = lock;
  }
  createAdapter() {
    return new PostgresAdapter();
  }
  createDriver(): Driver {
    return new PGliteDriver(this.#pglite, this.#lock);
  }
  createQueryCompiler() {
    return new PostgresQueryCompiler();
  }
  createIntrospector(db: Parameters<Dialect["createIntrospector"]>[0]) {
    return new PostgresIntrospector(db);
  }
}

class PGliteConnection implements DatabaseConnection {
  readonly #pglite: PGlite;
  constructor(pglite: PGlite) {
    this.#pglite = pglite;
  }
  async executeQuery<R>(compiled: CompiledQuery): Promise<QueryResult<R>> {
    const result = await this.#pglite.query<R>(compiled.sql, compiled.parameters as unknown[]);
    return {
      rows: result.rows,
      ...(result.affectedRows !== undefined ? { numAffectedRows: BigInt(result.affectedRows) } : {}),
    };
  }
  // biome-ignore lint/correctness/useYield: PGlite has no cursors; streaming is not offered
  async *streamQuery<R>(): AsyncIterableIterator<QueryResult<R>> {
    throw new Error("streaming queries are not supported on the embedded database");
  }
}

/**
 * Hands the single PGlite session to one user at a time. Kysely's connections and the raw
 * sessions used by migrations share it, so a transaction is never interleaved with other work.
 */
export class ExclusiveLock {
  #queue: Promise<void> = Promise.resolve();
  /** Waits for the session and returns the function that gives it back. */
  async acquire(): Promise<() => void> {
    const previous = this.#queue;
    let release!: () => void;
    this.#queue = new Promise<void>((resolve) => {
      release = resolve;
    });
    await previous;
    return release;
  }
}

class PGliteDriver implements Driver {
  readonly #pglite: PGlite;
  readonly #lock: ExclusiveLock;
  readonly #connection: PGliteConnection;
  #release: (() => void) | undefined;

  constructor(pglite: PGlite, lock: ExclusiveLock) {
    this.#pglite = pglite;
    this.#lock = lock;
    this.#connection = new PGliteConnection(pglite);
  }
  async init() {
    await this.#pglite.waitReady;
  }
  async acquireConnection(): Promise<DatabaseConnection> {
    this.#release = await this.#lock.acquire();
    return this.#connection;
  }
  async beginTransaction() {
    await this.#pglite.exec("begin");
  }
  async commitTransaction() {
    await this.#pglite.exec("commit");
  }
  async rollbackTransaction() {
    await this.#pglite.exec("rollback");
  }
  async releaseConnection() {
    const release = this.#release;
    this.#release = undefined;
    release?.();
  }
  async destroy() {
    await this.#pglite.close();
  }
}
