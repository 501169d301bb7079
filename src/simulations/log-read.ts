import { randomBytes } from "node:crypto";
import { type Kysely, sql } from "kysely";
import type { Queryable } from "../storage/db.ts";

/** Where a read of the decision log starts: the last request a previous read gave (its order key). */
export interface LogKey {
  u: string;
  r: string;
  a: string;
  t: number;
}

/** A distinct logged request as read: the latest groups, roles and action it was decided with. */
export interface LogRow {
  user: string;
  /** the log's canonical `name=value/name=value` */
  resource: string;
  accessType: string;
  policyType: number;
  groups: string[];
  roles: string[];
  action: string | null;
}

/** What to read: the service's distinct requests logged since `from`, after `after` in key order. */
export interface LogQuery {
  service: string;
  from: Date;
  after: LogKey | null;
  /**
   * The embedded PGlite database: one session shared by every query, so the cursor is declared
   * `with hold` (computed once, then fetched between other queries) instead of holding the session
   * in a transaction while the requests are decided.
   */
  embedded: boolean;
}

/** Requests aggregated into one JSON row, at most (a row per user and chunk; see `cursorQuery`). */
const CHUNK = 1000;
/** Requests a fetch aims at (rows asked for are adapted to the chunk sizes seen). */
const FETCH_REQUESTS = 10_000;

/**
 * The distinct (user, resource, access type, policy type) requests of the window in one pass, in
 * key order, each with the columns of its latest logged row. PostgreSQL sorts once (`distinct on`);
 * the requests travel as JSON, a row per user and chunk of `CHUNK` requests, because decoding one
 * protocol row per request cost the client more CPU than deciding it twice. The chunks are numbered
 * within each user so the grouping keeps the sort's order (an incremental sort by user), and the
 * first row arrives as soon as the sort is done.
 */
function cursorQuery(q: LogQuery) {
  const after = q.after;
  return sql`
    select user_name, json_agg(json_build_array(resource, access_type, policy_type, groups, roles, action) order by n)::text as requests
    from (
      select d.*, row_number() over (partition by user_name order by resource, access_type, policy_type) as n
      from (
        select distinct on (user_name, resource, access_type, policy_type)
          user_name, resource, access_type, policy_type, groups, roles, action
        from decision_log
        where service = ${q.service} and occurred_at >= ${q.from}
          ${after ? sql`and (user_name, resource, access_type, policy_type) > (${after.u}, ${after.r}, ${after.a}, ${after.t})` : sql``}
        order by user_name, resource, access_type, policy_type, id desc
      ) d
    ) x
    group by user_name, (n - 1) / ${sql.lit(CHUNK)}
    order by user_name, (n - 1) / ${sql.lit(CHUNK)}`;
}

type Json = [string, string, number, string[], string[], string | null];

/**
 * Reads the window's distinct requests with ONE server-side cursor and hands `fn` a `next()` that
 * returns the next batch (about `FETCH_REQUESTS` requests; an empty batch at the end). The batch
 * after the one returned is already being fetched while `fn` decides it, so reading and deciding
 * overlap on PostgreSQL. `fn` may stop early; the cursor is closed either way.
 */
export async function readLog<T>(
  db: Queryable,
  q: LogQuery,
  fn: (next: () => Promise<LogRow[]>) => Promise<T>,
): Promise<T> {
  const name = `gh_sim_${randomBytes(8).toString("hex")}`;
  const run = async (conn: Kysely<unknown>) => {
    let rowsAsked = 10;
    let ended = false;
    const fetchOnce = async (): Promise<LogRow[]> => {
      if (ended) return [];
      const asked = rowsAsked;
      const res = await sql<{
        user_name: string;
        requests: string;
      }>`fetch ${sql.raw(String(asked))} from ${sql.id(name)}`.execute(conn);
      if (res.rows.length < asked) ended = true;
      const out: LogRow[] = [];
      for (const row of res.rows)
        for (const [resource, accessType, policyType, groups, roles, action] of JSON.parse(row.requests) as Json[])
          out.push({ user: row.user_name, resource, accessType, policyType, groups, roles, action });
      if (res.rows.length > 0)
        rowsAsked = Math.min(5000, Math.max(1, Math.ceil(FETCH_REQUESTS / (out.length / res.rows.length))));
      return out;
    };
    let pending: Promise<LogRow[]> | null = fetchOnce();
    const next = async () => {
      const current = await (pending ?? Promise.resolve([]));
      pending = current.length > 0 && !ended ? fetchOnce() : null;
      return current;
    };
    try {
      return await fn(next);
    } finally {
      // a fetch still in flight finishes before the cursor closes (its error, if any, is moot)
      await pending?.catch(() => undefined);
    }
  };
  if (q.embedded) {
    await sql`declare ${sql.id(name)} no scroll cursor with hold for ${cursorQuery(q)}`.execute(db);
    try {
      return await run(db as unknown as Kysely<unknown>);
    } finally {
      await sql`close ${sql.id(name)}`.execute(db);
    }
  }
  return db.transaction().execute(async (tx) => {
    await sql`declare ${sql.id(name)} no scroll cursor for ${cursorQuery(q)}`.execute(tx);
    return run(tx as unknown as Kysely<unknown>);
  });
}
