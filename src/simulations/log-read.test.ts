import { sql } from "kysely";
import { beforeAll, describe, expect, it } from "vitest";
import { uniqueName } from "../../test/support/factories.ts";
import { TEST_BACKEND, testDb } from "../../test/support/test-db.ts";
import type { Db } from "../storage/db.ts";
import { type LogKey, type LogRow, readLog } from "./log-read.ts";

let db: Db;
let service: string;
/** What the read must give: per distinct request, the columns of its latest row in the window, in key order. */
let expected: LogRow[];

const keyOf = (r: LogRow): LogKey => ({ u: r.user, r: r.resource, a: r.accessType, t: r.policyType });

async function readAll(after: LogKey | null, stopAfter = Number.POSITIVE_INFINITY): Promise<LogRow[]> {
  return readLog(
    db.kysely,
    { service, from: new Date(Date.now() - 30 * 86_400_000), after, embedded: db.kind === "embedded", fetchRows: 700 },
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
