import { sql } from "kysely";
import type { Queryable } from "../storage/db.ts";

/** How often each process asks the directory change log; directory changes reach it within this. */
export const DIRECTORY_POLL_MS = 100;
/** Rows older than this many ms past every snapshot are pruned (every poller has long seen them). */
export const DIRECTORY_LOG_KEEP_MS = 5 * 60_000;

/** A running watcher of the directory change log. */
export interface DirectoryWatcher {
  stop(): Promise<void>;
}

/**
 * Tells this process when another committed a directory change, by polling the change log of
 * migration 0019 (one row per writing transaction, keyed by its transaction id). Each poll takes
 * a snapshot and asks for rows the previous poll's snapshot could not see: transactions that
 * started after it (`xid >= xmax`) or were in progress then (`xip`). Both are index lookups, so a
 * poll costs the same with a long transaction open. A transaction that commits after a younger
 * one is still seen, which a "highest id seen" reader would miss. After a failed poll the next
 * successful one reports a change (the cache is cleared rather than trusted). The watcher also
 * prunes rows every poller has seen: those older than a snapshot taken `DIRECTORY_LOG_KEEP_MS`
 * before.
 */
export function watchDirectoryChanges(
  db: Queryable,
  onChange: () => void,
  options: { pollMs?: number; keepMs?: number; onError?: (err: unknown) => void } = {},
): DirectoryWatcher {
  const pollMs = options.pollMs ?? DIRECTORY_POLL_MS;
  const keepMs = options.keepMs ?? DIRECTORY_LOG_KEEP_MS;
  let seen: string | null = null;
  let seenAt = 0;
  let pruneFrom: { snapshot: string; at: number } | null = null;
  let stopped = false;
  let running: Promise<void> = Promise.resolve();

  const poll = async () => {
    try {
      const { snapshot, changed } = await newSince(db, seen);
      // a poll late by half the keep time may ask after rows it never saw were pruned
      if (seen === null || changed || Date.now() - seenAt > keepMs / 2) onChange();
      seen = snapshot;
      seenAt = Date.now();
      if (pruneFrom === null) pruneFrom = { snapshot, at: Date.now() };
      else if (Date.now() - pruneFrom.at >= keepMs) {
        await pruneSeen(db, pruneFrom.snapshot);
        pruneFrom = { snapshot, at: Date.now() };
      }
    } catch (err) {
      seen = null;
      options.onError?.(err);
    }
  };
  const timer = setInterval(() => {
    if (stopped) return;
    running = running.then(poll);
  }, pollMs);
  timer.unref();
  return {
    async stop() {
      stopped = true;
      clearInterval(timer);
      await running;
    },
  };
}

/** This statement's snapshot, and whether a row is visible in it that was not in `previous`. */
async function newSince(db: Queryable, previous: string | null): Promise<{ snapshot: string; changed: boolean }> {
  if (previous === null) {
    const { rows } = await sql<{ snapshot: string }>`select pg_current_snapshot()::text as snapshot`.execute(db);
    return { snapshot: (rows[0] as { snapshot: string }).snapshot, changed: false };
  }
  const { rows } = await sql<{ snapshot: string; changed: boolean }>`
    select pg_current_snapshot()::text as snapshot,
      exists (select 1 from directory_changes where xid >= pg_snapshot_xmax(${previous}::pg_snapshot))
      or exists (
        select 1 from directory_changes
        where xid = any (array(select pg_snapshot_xip(${previous}::pg_snapshot)))
      ) as changed`.execute(db);
  const row = rows[0] as { snapshot: string; changed: boolean };
  return { snapshot: row.snapshot, changed: row.changed };
}

/** Deletes rows of transactions that had ended before `snapshot` was taken. */
async function pruneSeen(db: Queryable, snapshot: string): Promise<void> {
  await sql`delete from directory_changes where xid < pg_snapshot_xmin(${snapshot}::pg_snapshot)`.execute(db);
}
