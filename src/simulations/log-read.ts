import { randomBytes } from "node:crypto";
import { sql } from "kysely";
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
  /**
   * Where the read is cut into key ranges, each read by its own cursor (ascending in the database's
   * order; `undefined`: `sampleSplits` chooses them on PostgreSQL, none on the embedded database).
   */
  splits?: readonly LogSplit[] | undefined;
}

/**
 * The first (user, resource) of a key range. A range holds whole distinct requests: every logged
 * row of a request has the same user and resource.
 */
export interface LogSplit {
  u: string;
  r: string;
}

/** Requests a fetch asks for, by default. */
const FETCH_ROWS = 10_000;
/** Fetched batches of a range a lane keeps ahead of the consumer. */
const AHEAD_BATCHES = 4;
/** Distinct requests per key range, about: a range's sort is what the replay waits for first. */
const ROWS_PER_RANGE = 125_000;
/** Key ranges at most (each is one more query; PostgreSQL finds a range's rows by `decision_log_user`). */
const MAX_RANGES = 8;
/** Logged rows of the whole table that the split sample reads, about. */
const SAMPLE_ROWS = 20_000;

/**
 * The distinct (user, resource, access type, policy type) requests of the window in key range
 * [`lo`, `hi`), in key order, each with the columns of its latest logged row: PostgreSQL sorts the
 * range once (`distinct on`). Groups and roles travel as array text (`{a,b}`), parsed once per
 * distinct value (`arrayParser`): parsing them per row was about a third of the client's decoding cost.
 */
function cursorQuery(q: LogQuery, lo: LogSplit | undefined, hi: LogSplit | undefined) {
  const after = q.after;
  return sql`
    select user_name, resource, access_type, policy_type, groups::text as groups, roles::text as roles, action
    from (
      select distinct on (user_name, resource, access_type, policy_type)
        user_name, resource, access_type, policy_type, groups, roles, action
      from decision_log
      where service = ${q.service} and occurred_at >= ${q.from}
        ${after ? sql`and (user_name, resource, access_type, policy_type) > (${after.u}, ${after.r}, ${after.a}, ${after.t})` : sql``}
        ${lo ? sql`and (user_name, resource) >= (${lo.u}, ${lo.r})` : sql``}
        ${hi ? sql`and (user_name, resource) < (${hi.u}, ${hi.r})` : sql``}
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
 * Where to cut the window's read into key ranges of about `ROWS_PER_RANGE` requests: a sample of
 * the table's pages (`tablesample system`, about `SAMPLE_ROWS` rows of all services), its rows of
 * this window after `q.after` sorted by the database and cut into equal parts. None for a small
 * window or an empty sample. The cuts only balance the ranges; any cuts give the same read.
 */
export async function sampleSplits(db: Queryable, q: LogQuery): Promise<LogSplit[]> {
  const size = await sql<{ n: number }>`
    select greatest(reltuples, 0)::float8 as n from pg_class where oid = 'decision_log'::regclass`.execute(db);
  const tableRows = size.rows[0]?.n ?? 0;
  if (tableRows < ROWS_PER_RANGE * 2) return [];
  const percent = Math.min(100, (100 * SAMPLE_ROWS) / tableRows);
  const after = q.after;
  const sample = await sql<LogSplit>`
    select user_name as u, resource as r
    from decision_log tablesample system (${sql.lit(percent)})
    where service = ${q.service} and occurred_at >= ${q.from}
      ${after ? sql`and (user_name, resource) > (${after.u}, ${after.r})` : sql``}
    order by user_name, resource`.execute(db);
  const estimate = (sample.rows.length * tableRows) / SAMPLE_ROWS;
  return evenCuts(sample.rows, Math.min(MAX_RANGES, Math.floor(estimate / ROWS_PER_RANGE)));
}

/** The cuts that part a sorted sample into `ranges` ranges of about equal size (none repeated). */
export function evenCuts(sample: readonly LogSplit[], ranges: number): LogSplit[] {
  const cuts: LogSplit[] = [];
  for (let i = 1; i < ranges; i++) {
    const at = sample[Math.floor((i * sample.length) / ranges)] as LogSplit;
    const last = cuts.at(-1);
    if (!last || last.u !== at.u || last.r !== at.r) cuts.push(at);
  }
  return cuts;
}

/**
 * Reads the window's distinct requests, one server-side cursor per key range (`q.splits`), and
 * hands `fn` a `next()` that returns the next batch in key order (`FETCH_ROWS` requests or fewer;
 * an empty batch at the end).
 *
 * On PostgreSQL two connections read the ranges in turn (`rangeReader`), both in one snapshot
 * (the first transaction exports it, the second imports it), so the read is the one a single
 * cursor would give; without a second connection free at once (`secondLane`), the first reads them all. While `fn` decides one range, the other connection's server process sorts the
 * next: only the first range's sort is waited for. The embedded database has one session; its
 * cursors are declared `with hold` (computed at once, then fetched between other queries) and read
 * on it in turn. `fn` may stop early; the cursors are closed either way.
 */
export async function readLog<T>(
  db: Queryable,
  q: LogQuery,
  fn: (next: () => Promise<LogRow[]>) => Promise<T>,
): Promise<T> {
  const splits = q.splits ?? (q.embedded ? [] : await sampleSplits(db, q));
  const bounds = [undefined, ...splits];
  const names = bounds.map(() => `gh_sim_${randomBytes(8).toString("hex")}`);
  const declare = async (conn: Queryable, range: number, hold: boolean) => {
    const query = cursorQuery(q, bounds[range], bounds[range + 1]);
    const name = sql.id(names[range] as string);
    await sql`declare ${name} no scroll cursor ${hold ? sql`with hold` : sql``} for ${query}`.execute(conn);
  };
  const run = async (lanes: readonly Queryable[]) => {
    const parseArray = arrayParser();
    const size = q.fetchRows ?? FETCH_ROWS;
    const fetch = async (range: number): Promise<LogRow[]> => {
      const conn = lanes[range % lanes.length] as Queryable;
      const res = await sql<Row>`fetch ${sql.raw(String(size))} from ${sql.id(names[range] as string)}`.execute(conn);
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
    const reader = rangeReader(names.length, lanes.length, size, fetch);
    try {
      return await fn(reader.next);
    } finally {
      // fetches still in flight finish before the cursors close (their errors, if any, are moot)
      await reader.stop();
    }
  };
  if (q.embedded) {
    for (const range of names.keys()) await declare(db, range, true);
    try {
      return await run([db]);
    } finally {
      for (const name of names) await sql`close ${sql.id(name)}`.execute(db);
    }
  }
  if (names.length === 1)
    return db.transaction().execute(async (tx) => {
      await declare(tx, 0, false);
      return run([tx]);
    });
  return db
    .transaction()
    .setIsolationLevel("repeatable read")
    .execute(async (first) => {
      const snapshot = await sql<{ id: string }>`select pg_export_snapshot() as id`.execute(first);
      const second = await secondLane(db, snapshot.rows[0]?.id as string);
      try {
        const lanes = second ? [first, second.tx] : [first];
        for (const range of names.keys()) await declare(lanes[range % lanes.length] as Queryable, range, false);
        return await run(lanes);
      } finally {
        await second?.end();
      }
    });
}

/** How long a read waits for its second connection before it reads every range on its first. */
const SECOND_LANE_WAIT_MS = 200;

/**
 * A second transaction in the snapshot `snapshot` (exported by the caller's open transaction), or
 * null when the pool has no connection free within `SECOND_LANE_WAIT_MS`: a read never waits on a
 * second connection while it holds one, so busy pools (or a pool of one) cannot deadlock replays.
 * A connection that comes after the wait is given back at once. `end()` commits the transaction.
 */
async function secondLane(
  db: Queryable,
  snapshot: string,
): Promise<{ tx: Queryable; end: () => Promise<void> } | null> {
  let abandoned = false;
  let finish: () => void = () => undefined;
  const finished = new Promise<void>((resolve) => {
    finish = resolve;
  });
  let ready: (tx: Queryable | null) => void = () => undefined;
  const started = new Promise<Queryable | null>((resolve) => {
    ready = resolve;
  });
  const done = db
    .transaction()
    .setIsolationLevel("repeatable read")
    .execute(async (tx) => {
      if (abandoned) return;
      await sql`set transaction snapshot ${sql.lit(snapshot)}`.execute(tx);
      ready(tx);
      await finished;
    })
    .catch(() => ready(null));
  const timer = setTimeout(() => ready(null), SECOND_LANE_WAIT_MS);
  const tx = await started;
  clearTimeout(timer);
  if (tx === null) {
    // a connection that arrived meanwhile commits at once (or is never used)
    abandoned = true;
    finish();
    return null;
  }
  return {
    tx,
    end: async () => {
      finish();
      await done;
    },
  };
}

/**
 * The reader behind `readLog`'s `next()`: `ranges` cursors consumed in order, fetched by `lanes`
 * connections, lane l reading ranges l, l + lanes, … one after another, one fetch at a time. Each
 * lane keeps up to `AHEAD_BATCHES` batches of its range ahead of the consumer, so a lane starts its
 * next range (its first fetch, PostgreSQL's sort) as soon as it has fetched its current one, while
 * the consumer is still on an earlier range. A fetch shorter than `size` ends its range. A failed
 * fetch is reported by the `next()` that waits for its lane.
 */
export function rangeReader(
  ranges: number,
  lanes: number,
  size: number,
  fetch: (range: number) => Promise<LogRow[]>,
): { next: () => Promise<LogRow[]>; stop: () => Promise<void> } {
  const queues: LogRow[][][] = Array.from({ length: ranges }, () => []);
  const ended: boolean[] = new Array(ranges).fill(false);
  let reading = 0; // the range the consumer is on
  let stopped = false;
  let failure: { error: unknown } | null = null;
  const wakeLane: ((() => void) | null)[] = new Array(lanes).fill(null);
  let wakeConsumer: (() => void) | null = null;
  const wake = () => {
    wakeConsumer?.();
    wakeConsumer = null;
  };
  const lane = async (l: number) => {
    for (let range = l; range < ranges; range += lanes) {
      while (!ended[range]) {
        if (stopped) return;
        if ((queues[range]?.length ?? 0) >= AHEAD_BATCHES) {
          await new Promise<void>((resolve) => {
            wakeLane[l] = resolve;
          });
          continue;
        }
        const rows = await fetch(range);
        if (rows.length < size) ended[range] = true;
        if (rows.length > 0) queues[range]?.push(rows);
        wake();
      }
    }
  };
  const done = Promise.all(
    Array.from({ length: Math.min(lanes, ranges) }, (_, l) =>
      lane(l).catch((error: unknown) => {
        failure ??= { error };
        wake();
      }),
    ),
  );
  const next = async (): Promise<LogRow[]> => {
    for (;;) {
      const queue = queues[reading];
      if (queue === undefined) return [];
      const batch = queue.shift();
      if (batch !== undefined) {
        const l = reading % lanes;
        wakeLane[l]?.();
        wakeLane[l] = null;
        return batch;
      }
      if (ended[reading]) {
        reading++;
        continue;
      }
      if (failure) throw (failure as { error: unknown }).error;
      await new Promise<void>((resolve) => {
        wakeConsumer = resolve;
      });
    }
  };
  const stop = async () => {
    stopped = true;
    for (const [l, resolve] of wakeLane.entries()) {
      resolve?.();
      wakeLane[l] = null;
    }
    await done;
  };
  return { next, stop };
}
