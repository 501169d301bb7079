import { mkdirSync } from "node:fs";
import { join, resolve } from "node:path";
import { PGlite } from "@electric-sql/pglite";
import { pg_trgm } from "@electric-sql/pglite/contrib/pg_trgm";
import { Kysely, PostgresDialect } from "kysely";
import pg from "pg";
import { connectionLocks, inProcessLocks } from "./advisory-locks.ts";
import { type DataDirLock, lockDataDir } from "./data-dir-lock.ts";
import type { Db, Session } from "./db.ts";
import { ExclusiveLock, PGliteDialect } from "./pglite-dialect.ts";
import { retryTransaction } from "./retry.ts";
import type { Database } from "./schema.ts";

const INT8_OID = 20;
const NUMERIC_OID = 1700;

/** Options for opening storage; `databaseUrl` selects PostgreSQL, otherwise PGlite is used. */
export interface OpenDbOptions {
  databaseUrl?: string | undefined;
  /** Folder of the embedded database; `undefined` with no URL means an in-memory database (tests). */
  dataDir?: string | undefined;
  poolSize?: number;
  /** Called once when the embedded database is opened, so operators learn it is single-node. */
  onEmbedded?: (where: string) => void;
  /** Called when the data folder's lock was left by a process that is gone and is taken over. */
  onStaleLock?: (stale: { pid: number; path: string }) => void;
  /**
   * Called when PostgreSQL aborted a transaction with a serialization failure or a deadlock and it
   * is run again (`retryTransaction`), so operators see contention in the log.
   */
  onTransactionRetry?: (info: { attempt: number; sqlState: string }) => void;
  /** Runs of a transaction at most (tests lower it to 1 to see conflicts unretried). */
  transactionAttempts?: number;
  /**
   * A copy of an embedded database (`Db.dumpDataDir`) that a new in-memory one starts from instead
   * of running initdb, which takes about 3.5 s of PGlite's start; the test suite starts each worker's
   * database from one migrated copy.
   */
  embeddedTemplate?: Blob | undefined;
}

/**
 * Opens the database. Counts (`int8`) are parsed to numbers on both backends so code never sees
 * the backends disagree on a type.
 */
export async function openDb(options: OpenDbOptions): Promise<Db> {
  return options.databaseUrl ? openPostgres(options.databaseUrl, options) : openEmbedded(options);
}

function openPostgres(url: string, options: OpenDbOptions): Db {
  const types = {
    getTypeParser(oid: number, format?: "text" | "binary") {
      if (oid === INT8_OID) return (value: string) => Number(value);
      return pg.types.getTypeParser(oid, format);
    },
  };
  const pool = new pg.Pool({ connectionString: url, max: options.poolSize ?? 10, types });
  // An idle client losing its server must not crash the process; the next query reconnects.
  pool.on("error", () => {});
  const kysely = new Kysely<Database>({ dialect: new PostgresDialect({ pool }) });
  const locks = connectionLocks(async () => {
    const client = new pg.Client({ connectionString: url, types });
    client.on("error", () => {}); // a lost lock connection is noticed by its leases
    await client.connect();
    return client;
  });
  return {
    kind: "postgres",
    kysely,
    locks,
    // The one transaction helper: a deadlock or serialization failure reruns the whole transaction.
    transaction: (fn) =>
      retryTransaction(() => kysely.transaction().execute(fn), {
        ...(options.transactionAttempts !== undefined ? { attempts: options.transactionAttempts } : {}),
        ...(options.onTransactionRetry ? { onRetry: options.onTransactionRetry } : {}),
      }),
    async withSession(fn) {
      const client = await pool.connect();
      try {
        const session: Session = {
          query: async (sql, params) => (await client.query(sql, params)).rows,
          exec: async (script) => {
            await client.query(script);
          },
        };
        return await fn(session);
      } finally {
        client.release();
      }
    },
    async ping() {
      await pool.query("select 1");
    },
    poolStats: () => ({ total: pool.totalCount, idle: pool.idleCount, waiting: pool.waitingCount }),
    // Kysely ends the pool only when a Kysely query ran; `gatehouse migrate` uses sessions only,
    // and the pool's idle clients would keep the process alive, so the pool is ended here too.
    async close() {
      await locks.close();
      await kysely.destroy();
      if (!pool.ended) await pool.end();
    },
  };
}

async function openEmbedded(options: OpenDbOptions): Promise<Db> {
  let where = "memory://";
  // One process per data folder (data-dir-lock.ts): refused here, before PGlite reads a byte.
  let dirLock: DataDirLock | undefined;
  if (options.dataDir) {
    const dir = resolve(options.dataDir);
    mkdirSync(dir, { recursive: true });
    dirLock = lockDataDir(dir, options.onStaleLock ? { onTakeover: options.onStaleLock } : {});
    where = join(dir, "pgdata");
  }
  let pglite: PGlite;
  try {
    pglite = await PGlite.create(where === "memory://" ? undefined : where, {
      ...(options.embeddedTemplate && where === "memory://" ? { loadDataDir: options.embeddedTemplate } : {}),
      // migration 0020's user search index
      extensions: { pg_trgm },
      parsers: { [INT8_OID]: (value: string) => Number(value), [NUMERIC_OID]: (value: string) => Number(value) },
    });
  } catch (err) {
    dirLock?.release();
    throw err;
  }
  options.onEmbedded?.(where);
  const lock = new ExclusiveLock();
  const kysely = new Kysely<Database>({ dialect: new PGliteDialect(pglite, lock) });
  let busy = 0;
  return {
    kind: "embedded",
    kysely,
    locks: inProcessLocks(),
    transaction: (fn) => kysely.transaction().execute(fn),
    async withSession(fn) {
      const release = await lock.acquire();
      busy++;
      try {
        return await fn({
          query: async (sql, params) => (await pglite.query(sql, params)).rows as never[],
          exec: async (script) => {
            await pglite.exec(script);
          },
        });
      } finally {
        busy--;
        release();
      }
    },
    async ping() {
      await pglite.query("select 1");
    },
    poolStats: () => ({ total: 1, idle: busy === 0 ? 1 : 0, waiting: 0 }),
    embeddedMemoryBytes: () => pglite.Module.HEAPU8.buffer.byteLength,
    dumpDataDir: () => pglite.dumpDataDir("none"),
    // Kysely closes PGlite only when a Kysely query ran; a database opened, migrated with
    // sessions and closed (`gatehouse migrate` on a current database) would never exit.
    async close() {
      try {
        await kysely.destroy();
        if (!pglite.closed) await pglite.close();
      } finally {
        dirLock?.release();
      }
    },
  };
}
