import { sql } from "kysely";
import { rebuildClosure } from "../../src/directory/hierarchy.ts";
import type { Db } from "../../src/storage/db.ts";

/** Sizes of the loaded directory. */
export interface LoadSize {
  users: number;
  groups: number;
  membershipsPerUser: number;
}

/** What the loader did and how long each step took. */
export interface LoadResult {
  orgId: string;
  seconds: Record<string, number>;
  totalSeconds: number;
  rows: Record<string, number>;
}

const TREE = 10;

/** Deterministic ids so memberships and parents can be computed set-wise in SQL. */
export const groupIdSql = (org: string, tree: string, k: string) => `md5('${org}-g-' || ${tree} || '-' || ${k})::uuid`;
export const userIdSql = (org: string, i: string) => `md5('${org}-u-' || ${i})::uuid`;

/**
 * Loads a directory through the bulk paths: multi-row `insert … select` in chunks for users,
 * groups and memberships, then the closure table derived once with `rebuildClosure`.
 * Groups come in trees of 10: even trees are chains (10 levels deep), odd trees are bushy
 * (3 levels). Each user joins `membershipsPerUser` distinct groups spread over all trees.
 */
export async function loadDirectory(
  db: Db,
  size: LoadSize,
  log: (line: string) => void,
  scale = 1,
): Promise<LoadResult> {
  const seconds: Record<string, number> = {};
  const rows: Record<string, number> = {};
  const started = performance.now();
  const step = async (name: string, fn: () => Promise<number>) => {
    const t0 = performance.now();
    rows[name] = await fn();
    seconds[name] = (performance.now() - t0) / 1000;
    log(`  ${name}: ${rows[name].toLocaleString("en")} rows in ${seconds[name].toFixed(1)} s`);
  };
  const org = await db.kysely
    .insertInto("orgs")
    .values({ name: `bench-${Date.now()}`, title: `Directory benchmark ${scale}` })
    .returning("id")
    .executeTakeFirstOrThrow();
  const orgId = org.id;
  const o = orgId;
  const chunk = 100_000;

  await step("users", async () => {
    let n = 0;
    for (let from = 1; from <= size.users; from += chunk) {
      const to = Math.min(size.users, from + chunk - 1);
      const r = await sql`
        insert into users (id, org_id, username, email, display_name, attributes)
        select ${sql.raw(userIdSql(o, "i"))}, ${orgId}::uuid, 'user' || lpad(i::text, 7, '0'),
               'user' || i || '@example.org', 'User ' || i, jsonb_build_object('dept', 'd' || (i % 50))
        from generate_series(${from}::int, ${to}::int) as i`.execute(db.kysely);
      n += Number(r.numAffectedRows ?? 0);
    }
    return n;
  });

  await step("groups", async () => {
    const trees = Math.ceil(size.groups / TREE);
    let n = 0;
    for (let from = 0; from < trees; from += chunk / TREE) {
      const to = Math.min(trees - 1, from + chunk / TREE - 1);
      const r = await sql`
        insert into groups (id, org_id, name, title, parent_id, metadata)
        select ${sql.raw(groupIdSql(o, "t", "k"))}, ${orgId}::uuid, 'team-' || lpad(t::text, 6, '0') || '-' || k,
               'Team ' || t || '.' || k,
               case when k = 0 then null
                    when t % 2 = 0 then ${sql.raw(groupIdSql(o, "t", "(k - 1)"))}
                    else ${sql.raw(groupIdSql(o, "t", "((k - 1) / 3)"))} end,
               jsonb_build_object('labels', jsonb_build_object('tier', case when t % 10 = 0 then 'gold' else 'std' end))
        from generate_series(${from}::int, ${to}::int) as t, generate_series(0, ${TREE - 1}) as k
        order by t, k`.execute(db.kysely);
      n += Number(r.numAffectedRows ?? 0);
    }
    return n;
  });

  await step("closure", () => db.transaction((tx) => rebuildClosure(tx, orgId)));

  await step("memberships", async () => {
    let n = 0;
    const groups = Math.ceil(size.groups / TREE) * TREE;
    for (let from = 1; from <= size.users; from += chunk) {
      const to = Math.min(size.users, from + chunk - 1);
      const r = await sql`
        insert into group_members (group_id, user_id, role)
        select ${sql.raw(groupIdSql(o, "(g / 10)", "(g % 10)"))}, ${sql.raw(userIdSql(o, "i"))},
               case when j = 1 and i % 97 = 0 then 'owner' else 'member' end
        from generate_series(${from}::int, ${to}::int) as i, generate_series(1, ${size.membershipsPerUser}) as j,
             lateral (select ((i::bigint * 7919 + j * 104729) % ${groups}) as g) pick
        order by 1, 2`.execute(db.kysely);
      n += Number(r.numAffectedRows ?? 0);
    }
    return n;
  });

  await step("analyze", async () => {
    await sql`vacuum analyze users`.execute(db.kysely);
    await sql`vacuum analyze groups`.execute(db.kysely);
    await sql`vacuum analyze group_closure`.execute(db.kysely);
    await sql`vacuum analyze group_members`.execute(db.kysely);
    return 0;
  });

  return { orgId, seconds, totalSeconds: (performance.now() - started) / 1000, rows };
}
