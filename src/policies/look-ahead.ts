import type { Db } from "../storage/db.ts";

/**
 * Starts a read on another pooled connection while the write transaction opens, saving a round
 * trip on the hot create path. PostgreSQL only: PGlite has one connection, which the transaction
 * holds, so the read would wait for it forever. Returns undefined when the caller must read inside.
 */
export function lookAhead<T>(db: Db, read: () => Promise<T>): Promise<T> | undefined {
  if (db.kind !== "postgres") return undefined;
  const pending = read();
  pending.catch(() => {}); // awaited by the caller; this only avoids an unhandled rejection if it never is
  return pending;
}
