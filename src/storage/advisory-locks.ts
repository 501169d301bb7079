import type pg from "pg";

/** A held lock. */
export interface AdvisoryLease {
  /** Rejects once the lock is lost (on PostgreSQL: its connection is gone, so another process may hold it now). */
  alive(): Promise<void>;
  /** Gives the lock up; harmless when already lost or released. */
  release(): Promise<void>;
}

/**
 * Long-held locks that say which process does a job (leads a connector, syncs an identity source).
 * A process holds each key at most once; a second `tryLock` of a held key answers null.
 */
export interface AdvisoryLocks {
  /** The lock of (`lockClass`, `key`) when nobody holds it, else null. Never waits. */
  tryLock(lockClass: number, key: string): Promise<AdvisoryLease | null>;
  close(): Promise<void>;
}

/**
 * The embedded database has one process (its data folder is locked), so its locks live in memory.
 */
export function inProcessLocks(): AdvisoryLocks {
  const held = new Set<string>();
  return {
    async tryLock(lockClass, key) {
      const id = `${lockClass}:${key}`;
      if (held.has(id)) return null;
      held.add(id);
      return {
        alive: async () => {},
        release: async () => {
          held.delete(id);
        },
      };
    },
    async close() {
      held.clear();
    },
  };
}

interface LockConnection {
  client: Promise<pg.Client>;
  lost: boolean;
  /** The last statement sent: a pg client runs one at a time, so statements queue behind it. */
  last: Promise<unknown>;
}

/**
 * PostgreSQL session-level advisory locks, all held on one connection of their own, outside the
 * pool. Holding each lock on a pooled connection, as a first version did, kept one pool
 * connection per held lock for as long as the job ran: a process leading as many connectors as
 * its pool has connections had none left for requests and stalled. When the connection is lost,
 * so is every lock on it (PostgreSQL releases them, and another process may take them): each
 * lease's `alive` then rejects, and the next `tryLock` opens a new connection.
 */
export function connectionLocks(connect: () => Promise<pg.Client>): AdvisoryLocks {
  const held = new Set<string>();
  let current: LockConnection | null = null;

  const connection = (): LockConnection => {
    if (current && !current.lost) return current;
    const entry: LockConnection = {
      lost: false,
      client: Promise.resolve(null as unknown as pg.Client),
      last: Promise.resolve(),
    };
    entry.client = connect().then(
      (client) => {
        const lose = () => {
          entry.lost = true;
        };
        client.on("error", lose);
        client.on("end", lose);
        return client;
      },
      (err) => {
        entry.lost = true;
        throw err;
      },
    );
    current = entry;
    return entry;
  };

  const query = (entry: LockConnection, text: string, params: unknown[]) => {
    const run = entry.last.then(async () => {
      try {
        return (await (await entry.client).query<{ ok: boolean }>(text, params)).rows;
      } catch (err) {
        // these statements cannot fail on a healthy connection: a failure means the connection failed
        entry.lost = true;
        throw err;
      }
    });
    entry.last = run.catch(() => {});
    return run;
  };

  return {
    async tryLock(lockClass, key) {
      const id = `${lockClass}:${key}`;
      if (held.has(id)) return null;
      held.add(id);
      const entry = connection();
      try {
        const [row] = await query(entry, "select pg_try_advisory_lock($1, hashtext($2)) as ok", [lockClass, key]);
        if (!row?.ok) {
          held.delete(id);
          return null;
        }
      } catch (err) {
        held.delete(id);
        throw err;
      }
      let released = false;
      return {
        async alive() {
          if (released || entry.lost) throw new Error(`advisory lock ${id} lost: its connection closed`);
          await query(entry, "select 1", []);
        },
        async release() {
          if (released) return;
          released = true;
          held.delete(id);
          if (entry.lost) return;
          await query(entry, "select pg_advisory_unlock($1, hashtext($2))", [lockClass, key]).catch(() => {});
        },
      };
    },
    async close() {
      const entry = current;
      current = null;
      held.clear();
      if (!entry) return;
      entry.lost = true;
      const client = await entry.client.catch(() => null);
      await client?.end().catch(() => {});
    },
  };
}
