import { ensureBuiltins } from "../../src/service-defs/service-defs.service.ts";
import type { Db } from "../../src/storage/db.ts";
import { migrate, readMigrations } from "../../src/storage/migrate.ts";
import { freshDb } from "../../test/support/fresh-db.ts";

const args = process.argv.slice(2);
const scaleAt = args.indexOf("--scale");
const scale = scaleAt >= 0 ? Number(args[scaleAt + 1]) : 1;
const SIZE = {
  users: Math.round(200_000 * scale),
  groups: Math.round(100_000 * scale),
  policies: Math.round(20_000 * scale),
  // one name in this many is decomposed; one in ten of those collides with a composed twin
  decomposedEvery: 200,
};
const url = process.env.GATEHOUSE_BENCH_DATABASE_URL;

const fresh = () => freshDb("gh_bench_nfc", url);

/** Loads the data set; `decomposed` spells every `decomposedEvery`-th name with a decomposed é. */
async function load(db: Db, decomposed: boolean): Promise<void> {
  const every = decomposed ? SIZE.decomposedEvery : 0;
  // name i: `n<i>é`, decomposed when i % every = 0; every tenth of those also gets a composed twin
  const name = (prefix: string) =>
    `'${prefix}' || i || case when ${every} > 0 and i % ${every} = 0 then E'e\\u0301' else E'\\u00e9' end`;
  const twin = (prefix: string) => `'${prefix}' || i || E'\\u00e9'`;
  const twins = `${every} > 0 and i % ${every * 10} = 0`;
  await db.withSession(async (s) => {
    const org = (await s.query<{ id: string }>("select id from orgs where name = 'default'"))[0]?.id;
    await s.query(
      `insert into groups (org_id, name) select $1::uuid, ${name("g")} from generate_series(1, ${SIZE.groups}) i
       union all select $1::uuid, ${twin("g")} from generate_series(1, ${SIZE.groups}) i where ${twins}`,
      [org],
    );
    await s.query(
      `insert into users (org_id, username) select $1::uuid, ${name("u")} from generate_series(1, ${SIZE.users}) i
       union all select $1::uuid, ${twin("u")} from generate_series(1, ${SIZE.users}) i where ${twins}`,
      [org],
    );
    await s.query(
      `insert into policies (service_id, name, resource_signature, body, users, groups, roles)
       select (select id from services where name = 'trino'), 'p' || i, md5(i::text),
              jsonb_build_object('name', 'p' || i, 'policyItems', jsonb_build_array(jsonb_build_object(
                'users', jsonb_build_array(${name("u")}), 'groups', jsonb_build_array(${name("g")}), 'roles', '[]'::jsonb,
                'accesses', jsonb_build_array(jsonb_build_object('type', 'select', 'isAllowed', true))))),
              array[${name("u")}], array[${name("g")}], '{}'
       from generate_series(1, ${SIZE.policies}) i`,
    );
    await s.exec("analyze");
  });
}

async function run(decomposed: boolean): Promise<{ ms: number; summary: unknown }> {
  const { db, drop } = await fresh();
  try {
    await migrate(
      db,
      readMigrations().filter((m) => m.version < 17),
    );
    await ensureBuiltins(db, "trino");
    await load(db, decomposed);
    const started = performance.now();
    await migrate(db);
    const ms = Math.round(performance.now() - started);
    const rows = await db.withSession((s) =>
      s.query<{ after: unknown }>("select after from audit_events where action = 'names.normalised'"),
    );
    return { ms, summary: rows[0]?.after ?? null };
  } finally {
    await drop();
  }
}

const backend = url ? "postgres" : "pglite";
process.stdout.write(
  `migration 0017 on ${backend}: ${SIZE.users} users, ${SIZE.groups} groups, ${SIZE.policies} policies\n`,
);
const baseline = await run(false);
process.stdout.write(`  all NFC (baseline): ${baseline.ms} ms\n`);
const mixed = await run(true);
process.stdout.write(
  `  1 in ${SIZE.decomposedEvery} decomposed, 1 in ${SIZE.decomposedEvery * 10} colliding: ${mixed.ms} ms ` +
    `(${(mixed.ms / Math.max(1, baseline.ms)).toFixed(2)}x the baseline) ${JSON.stringify(mixed.summary)}\n`,
);
