import { sql } from "kysely";
import { beforeAll, describe, expect, it } from "vitest";
import { uniqueName } from "../../test/support/factories.ts";
import { TEST_BACKEND, testDb } from "../../test/support/test-db.ts";
import type { Db } from "../storage/db.ts";
import { openDb } from "../storage/open.ts";
import { evenCuts, type LogKey, type LogRow, type LogSplit, rangeReader, readLog, sampleSplits } from "./log-read.ts";

let db: Db;
let service: string;
/** What the read must give: per distinct request, the columns of its latest row in the window, in key order. */
let expected: LogRow[];

const keyOf = (r: LogRow): LogKey => ({ u: r.user, r: r.resource, a: r.accessType, t: r.policyType });

async function readAll(
  after: LogKey | null,
  stopAfter = Number.POSITIVE_INFINITY,
  splits?: LogSplit[],
): Promise<LogRow[]> {
  return readLog(
    db.kysely,
    {
      service,
      from: new Date(Date.now() - 30 * 86_400_000),
      after,
      embedded: db.kind === "embedded",
      fetchRows: 700,
      splits,
    },
    async (next) => {
      const out: LogRow[] = [];
      for (let batch = await next(); batch.length > 0 && out.length < stopAfter; batch = await next())
        out.push(...batch);
      return out;
    },
  );
}

beforeAll(async () => {
  db = await testDb();
  service = uniqueName("logread");
  // u_a asks 2,300 distinct requests (several fetches of 700), u_b and
  // "u_a/b" (a name that sorts between) a few; every request of u_b is logged twice, the later
  // row with other groups, roles and action; rows of another service and outside the window are noise
  await sql`insert into decision_log (service, occurred_at, user_name, groups, roles, access_type, action, resource, policy_type, allowed, determined)
    select ${service}, now() - interval '1 day', 'u_a', array['g1', 'g "2"'], '{}', case when i % 3 = 0 then 'update' else 'select' end,
      null, 'catalog=c/schema=s' || (i % 7) || '/table=t' || i, (i % 3)::smallint, true, true
    from generate_series(1, 2300) as i`.execute(db.kysely);
  for (const [user, groups, roles, action, ago] of [
    ["u_b", ["old"], [], null, "3 days"],
    ["u_b", ["new", "g,x"], ["r1"], "SELECT", "2 days"],
    ["u_a/b", [], [], null, "1 day"],
  ] as const)
    await sql`insert into decision_log (service, occurred_at, user_name, groups, roles, access_type, action, resource, policy_type, allowed, determined)
      select ${service}, now() - ${ago}::interval, ${user}, ${groups as unknown as string[]}::text[], ${roles as unknown as string[]}::text[],
        'select', ${action}, 'catalog=c/schema=s/table=' || i || '/column=é€', 0, false, true
      from generate_series(1, 3) as i`.execute(db.kysely);
  await sql`insert into decision_log (service, occurred_at, user_name, access_type, resource, allowed, determined) values
    (${service}, now() - interval '45 days', 'u_old', 'select', 'catalog=c', true, true),
    (${`${service}-other`}, now(), 'u_a', 'select', 'catalog=c', true, true)`.execute(db.kysely);

  expected = [];
  for (let i = 1; i <= 2300; i++)
    expected.push({
      user: "u_a",
      resource: `catalog=c/schema=s${i % 7}/table=t${i}`,
      accessType: i % 3 === 0 ? "update" : "select",
      policyType: i % 3,
      groups: ["g1", 'g "2"'],
      roles: [],
      action: null,
    });
  for (let i = 1; i <= 3; i++) {
    const resource = `catalog=c/schema=s/table=${i}/column=é€`;
    expected.push({
      user: "u_a/b",
      resource,
      accessType: "select",
      policyType: 0,
      groups: [],
      roles: [],
      action: null,
    });
    expected.push({
      user: "u_b",
      resource,
      accessType: "select",
      policyType: 0,
      groups: ["new", "g,x"],
      roles: ["r1"],
      action: "SELECT",
    });
  }
  // key order as the database's collation has it
  const order = await sql<{ i: number }>`
    select i from unnest(${expected.map((r) => r.user)}::text[], ${expected.map((r) => r.resource)}::text[],
      ${expected.map((r) => r.accessType)}::text[], ${expected.map((r) => r.policyType)}::int[])
      with ordinality as x(u, r, a, t, i)
    order by u, r, a, t`.execute(db.kysely);
  expected = order.rows.map((o) => expected[Number(o.i) - 1] as LogRow);
});

describe(`reading the decision log for a replay (${TEST_BACKEND})`, () => {
  it("gives each distinct request of the window once, in key order, with its latest row's columns", async () => {
    expect(await readAll(null)).toEqual(expected);
  });

  it("continues after a key exactly where a stopped read left off, and stops early on demand", async () => {
    const head = await readAll(null, 1);
    expect(head.length).toBeGreaterThan(0);
    expect(head).toEqual(expected.slice(0, head.length));
    for (const cut of [0, 999, 1000, 2299, expected.length - 2]) {
      const at = expected[cut] as LogRow;
      expect(await readAll(keyOf(at))).toEqual(expected.slice(cut + 1));
    }
    expect(await readAll(keyOf(expected.at(-1) as LogRow))).toEqual([]);
  });
});

describe(`reading the decision log in key ranges (${TEST_BACKEND})`, () => {
  const at = (i: number): LogSplit => ({ u: (expected[i] as LogRow).user, r: (expected[i] as LogRow).resource });
  /** cut sets: at requests (a request at a cut starts the later range), at users, before and after all, empty ranges */
  const cutSets = (): [string, LogSplit[]][] => [
    ["inside one user's requests, at fetch ends and between", [at(1), at(699), at(700), at(1400), at(2299)]],
    ["at the first and the last request", [at(0), at(expected.length - 1)]],
    [
      "at users only",
      [
        { u: "u_a/b", r: "" },
        { u: "u_b", r: "" },
      ],
    ],
    [
      "before everything and after everything (empty first and last ranges)",
      [
        { u: "", r: "" },
        { u: "zzzz", r: "" },
      ],
    ],
    ["twice at the same key (an empty range between)", [at(1000), at(1000), at(2301)]],
  ];

  it("gives exactly the read of one cursor, whatever the cuts", async () => {
    for (const [, splits] of cutSets()) expect(await readAll(null, Number.POSITIVE_INFINITY, splits)).toEqual(expected);
  });

  it("continues after a key in any range, the ranges before it then empty", async () => {
    const splits = [at(700), at(1400), at(2299)];
    for (const cut of [0, 699, 700, 1399, 1400, 2000, expected.length - 2, expected.length - 1]) {
      const key = keyOf(expected[cut] as LogRow);
      expect(await readAll(key, Number.POSITIVE_INFINITY, splits)).toEqual(expected.slice(cut + 1));
    }
  });

  it("stops early inside a range and closes every cursor", async () => {
    const head = await readAll(null, 800, [at(700), at(1400)]);
    expect(head).toEqual(expected.slice(0, head.length));
    // the read ran in a transaction (PostgreSQL) or closed its held cursors (embedded): none is left
    const open = await sql<{ n: number }>`select count(*)::int as n from pg_cursors where name like 'gh_sim_%'`.execute(
      db.kysely,
    );
    expect(open.rows[0]?.n).toBe(0);
  });

  it("reads every range on one connection when no second one is free (a pool of one does not deadlock)", async () => {
    const url = process.env.GATEHOUSE_TEST_DATABASE_URL;
    const single = url ? await openDb({ databaseUrl: url, poolSize: 1 }) : db;
    try {
      const rows = await readLog(
        single.kysely,
        {
          service,
          from: new Date(Date.now() - 30 * 86_400_000),
          after: null,
          embedded: single.kind === "embedded",
          fetchRows: 700,
          splits: [at(700), at(1400)],
        },
        async (next) => {
          const out: LogRow[] = [];
          for (let batch = await next(); batch.length > 0; batch = await next()) out.push(...batch);
          return out;
        },
      );
      expect(rows).toEqual(expected);
    } finally {
      if (single !== db) await single.close();
    }
  });

  it("cuts nothing when the table is small (a sample could not balance ranges, one sort is quick)", async () => {
    const q = { service, from: new Date(Date.now() - 30 * 86_400_000), after: null, embedded: false };
    expect(await sampleSplits(db.kysely, q)).toEqual([]);
  });
});

describe("cutting a sample into ranges", () => {
  it("cuts at every n-th sampled key, never twice at one key, and not at all for one range", () => {
    const keys = ["a", "b", "c", "d", "e", "f", "g", "h"].map((u) => ({ u, r: "x" }));
    expect(evenCuts(keys, 4).map((k) => k.u)).toEqual(["c", "e", "g"]);
    expect(evenCuts(keys, 1)).toEqual([]);
    expect(evenCuts(keys, 0)).toEqual([]);
    const same = [{ u: "a", r: "x" }, ...Array.from({ length: 6 }, () => ({ u: "b", r: "y" })), { u: "c", r: "x" }];
    expect(evenCuts(same, 4)).toEqual([{ u: "b", r: "y" }]);
  });
});

describe("the range reader", () => {
  /** ranges of rows "r<range>-<i>", `lengths[range]` rows each, fetched `size` at a time */
  function source(lengths: number[], size: number) {
    const fetched = lengths.map(() => 0);
    const log: string[] = [];
    const row = (range: number, i: number): LogRow => ({
      user: `r${range}-${i}`,
      resource: "",
      accessType: "select",
      policyType: 0,
      groups: [],
      roles: [],
      action: null,
    });
    const fetch = async (range: number) => {
      await new Promise((resolve) => setTimeout(resolve, 1));
      const from = fetched[range] as number;
      const to = Math.min(lengths[range] as number, from + size);
      fetched[range] = to;
      log.push(`${range}:${from}`);
      return Array.from({ length: to - from }, (_, i) => row(range, from + i));
    };
    const all = lengths.flatMap((n, range) => Array.from({ length: n }, (_, i) => row(range, i).user));
    return { fetch, log, all };
  }
  async function drain(next: () => Promise<LogRow[]>, limit = Number.POSITIVE_INFINITY): Promise<string[]> {
    const out: string[] = [];
    for (let b = await next(); b.length > 0 && out.length < limit; b = await next()) out.push(...b.map((r) => r.user));
    return out;
  }

  it("gives the ranges in order, with empty ranges and ranges that end on a full fetch, over one or two lanes", async () => {
    for (const lanes of [1, 2, 3])
      for (const lengths of [[25, 0, 7, 30, 0], [0], [10, 10], [3, 50, 1]]) {
        const s = source(lengths, 10);
        const reader = rangeReader(lengths.length, lanes, 10, s.fetch);
        expect(await drain(reader.next)).toEqual(s.all);
        await reader.stop();
      }
  });

  it("fetches a lane's next range (its sort) while the consumer is still on an earlier one, and no further ahead than four batches", async () => {
    const s = source([100, 100, 100], 10);
    const reader = rangeReader(3, 2, 10, s.fetch);
    await reader.next();
    await new Promise((resolve) => setTimeout(resolve, 50));
    // the consumer took one batch of range 0: lane 0 holds four more of it, lane 1 four of range 1
    expect(s.log.filter((f) => f.startsWith("0:"))).toHaveLength(5);
    expect(s.log.filter((f) => f.startsWith("1:"))).toHaveLength(4);
    expect(s.log.filter((f) => f.startsWith("2:"))).toHaveLength(0);
    await reader.stop();
  });

  it("reports a failed fetch to the next() that needs its rows, and stops early without waiting for the rest", async () => {
    const s = source([30, 30], 10);
    const failing = async (range: number) => {
      if (range === 1) throw new Error("connection lost");
      return s.fetch(range);
    };
    const reader = rangeReader(2, 2, 10, failing);
    await expect(drain(reader.next)).rejects.toThrow("connection lost");
    await reader.stop();

    const t = source([1000, 1000], 10);
    const early = rangeReader(2, 2, 10, t.fetch);
    expect(await drain(early.next, 15)).toHaveLength(20);
    await early.stop();
    expect(t.log.length).toBeLessThan(15);
  });
});
