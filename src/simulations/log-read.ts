import { randomBytes } from "node:crypto";
import { type Kysely, sql } from "kysely";
import pg from "pg";
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
  /** requests a fetch asks for (default `FETCH_ROWS`) */
  fetchRows?: number;
}

/** Requests a fetch asks for, by default. */
const FETCH_ROWS = 10_000;

/**
 * The distinct (user, resource, access type, policy type) requests of the window in one pass, in
 * key order, each with the columns of its latest logged row: PostgreSQL sorts the window once
 * (`distinct on`). Groups and roles travel as array text (`{a,b}`), parsed once per distinct value
 * (`arrayParser`): parsing them per row was about a third of the client's decoding cost.
 */
function cursorQuery(q: LogQuery) {
  const after = q.after;
  return sql`
    select user_name, resource, access_type, policy_type, groups::text as groups, roles::text as roles, action
    from (
      select distinct on (user_name, resource, access_type, policy_type)
        user_name, resource, access_type, policy_type, groups, roles, action
      from decision_log
      where service = ${q.service} and occurred_at >= ${q.from}
        ${after ? sql`and (user_name, resource, access_type, policy_type) > (${after.u}, ${after.r}, ${after.a}, ${after.t})` : sql``}
      order by user_name, resource, access_type, policy_type, id desc
    ) d`;
}

interface Row {
  user_name: string;
  resource: string;
  access_type: string;
  policy_type: number;
  groups: string;
  roles: string;
  action: string | null;
}

/** PostgreSQL's text[] parser, remembering the arrays it parsed (a log repeats few group sets). */
function arrayParser(): (text: string) => string[] {
  const parse = pg.types.getTypeParser(TEXT_ARRAY_OID as Parameters<typeof pg.types.getTypeParser>[0], "text") as (
    text: string,
  ) => string[];
  const seen = new Map<string, string[]>();
  return (text) => {
    let out = seen.get(text);
    if (out === undefined) {
      if (seen.size >= 10_000) seen.clear();
      out = parse(text);
      seen.set(text, out);
    }
    return out;
  };
}
const TEXT_ARRAY_OID = 1009;

/**
 * Reads the window's distinct requests with ONE server-side cursor and hands `fn` a `next()` that
 * returns the next batch (`FETCH_ROWS` requests; an empty batch at the end). The batch
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
    const parseArray = arrayParser();
    const rows = q.fetchRows ?? FETCH_ROWS;
    let ended = false;
    const fetchOnce = async (): Promise<LogRow[]> => {
      if (ended) return [];
      const res = await sql<Row>`fetch ${sql.raw(String(rows))} from ${sql.id(name)}`.execute(conn);
      if (res.rows.length < rows) ended = true;
      return res.rows.map((r) => ({
        user: r.user_name,
        resource: r.resource,
        accessType: r.access_type,
        policyType: r.policy_type,
        groups: parseArray(r.groups),
        roles: parseArray(r.roles),
        action: r.action,
      }));
    };
    // a prefetch failing while `fn` decides is reported by the `next()` that awaits it, not as an
    // unhandled rejection
    const prefetch = () => {
      const p = fetchOnce();
      p.catch(() => undefined);
      return p;
    };
    let pending: Promise<LogRow[]> | null = prefetch();
    const next = async () => {
      const current = await (pending ?? Promise.resolve([]));
      pending = current.length > 0 && !ended ? prefetch() : null;
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
