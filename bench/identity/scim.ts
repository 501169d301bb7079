// SCIM part of `npm run bench:identity` (issue #16): user creates through /scim/v2/Users at 16
// concurrent clients, and `userName eq` filtered lists with 100,000 users (loaded by SQL, not SCIM),
// each next to its native baseline measured in the same run (POST /v1/users, GET /v1/users?username=).
//
//   GATEHOUSE_BENCH_DATABASE_URL selects an existing PostgreSQL database (a fresh organisation is
//   made in it); otherwise a throwaway PostgreSQL is started and removed.
import { randomUUID } from "node:crypto";
import { loadavg } from "node:os";
import { sql } from "kysely";
import { openDb } from "../../src/storage/open.ts";
import { type Answer, httpClient } from "../support/http-client.ts";
import { startPostgres } from "../support/postgres.ts";
import { startServer } from "../support/serve.ts";

const PSK = "bench-identity-psk-0123456789";
const ROOT = new URL("../..", import.meta.url).pathname;

/** Targets of issue #16. */
export const SCIM_TARGETS = { createsPerSecond: 500, listP99Ms: 20 };

interface Options {
  users: number;
  creates: number;
  lookups: number;
  log: (line: string) => void;
}

/** What the SCIM benchmark measured. */
export interface ScimFigures {
  createsPerSecond: number;
  nativeCreatesPerSecond: number;
  listP50Ms: number;
  listP99Ms: number;
  nativeListP99Ms: number;
  /** p99 execution time of the lookup's SQL inside PostgreSQL (EXPLAIN ANALYZE). */
  sqlP99Ms: number;
  users: number;
  loadBefore: number[];
  loadAfter: number[];
  pass: boolean;
}

async function fixedWork(concurrency: number, total: number, one: (i: number) => Promise<void>): Promise<number> {
  let next = 0;
  const started = performance.now();
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      for (let i = next++; i < total; i = next++) await one(i);
    }),
  );
  return (performance.now() - started) / 1000;
}

async function latencies(concurrency: number, total: number, one: (i: number) => Promise<void>): Promise<number[]> {
  const out: number[] = [];
  await fixedWork(concurrency, total, async (i) => {
    const t0 = performance.now();
    await one(i);
    out.push(performance.now() - t0);
  });
  return out.sort((a, b) => a - b);
}

const pct = (sorted: number[], p: number) => sorted[Math.min(sorted.length - 1, Math.floor(sorted.length * p))] ?? 0;

async function expectOk(res: Response | Answer, status: number, what: string): Promise<unknown> {
  const body = typeof res.body === "string" ? res.body : await (res as Response).text();
  if (res.status !== status) throw new Error(`${what}: ${res.status} ${body.slice(0, 300)}`);
  return body ? JSON.parse(body) : null;
}

/** CPU seconds this process (the load generator) spent in `work`, beside its result. */
async function withCpu<T>(work: () => Promise<T>): Promise<{ result: T; cpuSeconds: number }> {
  const before = process.cpuUsage();
  const result = await work();
  const used = process.cpuUsage(before);
  return { result, cpuSeconds: (used.user + used.system) / 1e6 };
}

/** Runs the SCIM benchmark and prints its figures. */
export async function benchScim(opts: Options): Promise<ScimFigures> {
  const { log } = opts;
  const given = process.env.GATEHOUSE_BENCH_DATABASE_URL;
  const pg = given ? null : await startPostgres();
  const url = given ?? (pg?.url as string);
  const server = await startServer(ROOT, PSK, { databaseUrl: url });
  const db = await openDb({ databaseUrl: url });
  try {
    const loadBefore = loadavg();
    const org = await db.kysely
      .insertInto("orgs")
      .values({ name: `bench-${randomUUID().slice(0, 8)}`, title: "SCIM bench" })
      .returning("id")
      .executeTakeFirstOrThrow();
    const admin = { "authorization-psk": PSK, "content-type": "application/json" };
    const client = (await expectOk(
      await fetch(`${server.url}/v1/scim-clients`, {
        method: "POST",
        headers: admin,
        body: JSON.stringify({ name: "bench", orgId: org.id }),
      }),
      201,
      "scim client",
    )) as { token: string };
    const scimHeaders = { authorization: `Bearer ${client.token}`, "content-type": "application/scim+json" };
    const run = randomUUID().slice(0, 6);

    // creates: SCIM and the native API, 16 concurrent clients each
    const http = httpClient(server.url, 16);
    const createOne = (i: number) =>
      http
        .post(
          "/scim/v2/Users",
          scimHeaders,
          JSON.stringify({
            schemas: ["urn:ietf:params:scim:schemas:core:2.0:User"],
            userName: `scim-${run}-${i}@example.com`,
            externalId: `ext-${run}-${i}`,
            name: { givenName: "Bench", familyName: `User ${i}` },
            emails: [{ value: `scim-${run}-${i}@example.com`, type: "work", primary: true }],
            active: true,
          }),
        )
        .then((res) => expectOk(res, 201, "scim create").then(() => undefined));
    const nativeOne = (i: number) =>
      http
        .post(
          "/v1/users",
          admin,
          JSON.stringify({ orgId: org.id, username: `native-${run}-${i}`, email: `native-${run}-${i}@example.com` }),
        )
        .then((res) => expectOk(res, 201, "native create").then(() => undefined));
    await fixedWork(16, 200, (i) => createOne(1_000_000 + i)); // warm-up
    const scim = await withCpu(() => fixedWork(16, opts.creates, createOne));
    const native = await withCpu(() => fixedWork(16, opts.creates, nativeOne));
    const createsPerSecond = opts.creates / scim.result;
    const nativeCreatesPerSecond = opts.creates / native.result;
    const clientMs = (cpuSeconds: number) => ((cpuSeconds * 1000) / opts.creates).toFixed(2);
    log(
      `creates (16 concurrent, ${opts.creates}): SCIM ${createsPerSecond.toFixed(0)}/s, native POST /v1/users ${nativeCreatesPerSecond.toFixed(0)}/s (target ≥ ${SCIM_TARGETS.createsPerSecond}/s); load generator CPU per create: SCIM ${clientMs(scim.cpuSeconds)} ms, native ${clientMs(native.cpuSeconds)} ms`,
    );

    // 100,000 users by SQL, as an identity provider's earlier provisioning would have left them
    const t0 = performance.now();
    await sql`
      insert into users (org_id, username, email, display_name, source, external_id, attributes)
      select ${org.id}::uuid, 'bulk-' || ${run} || '-' || i || '@example.com', 'bulk-' || ${run} || '-' || i || '@example.com',
             'Bulk User ' || i, 'scim', 'bulk-ext-' || i,
             jsonb_build_object('scim', jsonb_build_object('name', jsonb_build_object('givenName', 'Bulk', 'familyName', 'User ' || i)))
      from generate_series(1, ${opts.users}) as i`.execute(db.kysely);
    // vacuumed as well as analysed: autovacuum would otherwise start on these 100,000 rows (and
    // the search index's pending list) while the lookups are timed
    await sql`vacuum (analyze) users`.execute(db.kysely);
    log(`loaded ${opts.users} users by SQL in ${((performance.now() - t0) / 1000).toFixed(1)} s`);

    const pick = (i: number) => 1 + ((i * 7919) % opts.users);
    const scimList = await latencies(4, opts.lookups, async (i) => {
      const filter = encodeURIComponent(`userName eq "BULK-${run}-${pick(i)}@example.com"`);
      const body = (await expectOk(
        await http.get(`/scim/v2/Users?filter=${filter}`, scimHeaders),
        200,
        "scim list",
      )) as { totalResults: number };
      if (body.totalResults !== 1) throw new Error(`userName eq found ${body.totalResults} users`);
    });
    const nativeList = await latencies(4, opts.lookups, async (i) => {
      await expectOk(
        await http.get(`/v1/users?orgId=${org.id}&username=bulk-${run}-${pick(i)}@example.com`, admin),
        200,
        "native list",
      );
    });
    const plan = await sql<{ "QUERY PLAN": string }>`explain select * from users u where u.org_id = ${org.id}::uuid
      and (lower(u.username) = lower(${`bulk-${run}-5@example.com`})) order by u.id limit 100`.execute(db.kysely);
    // either unique index on (org_id, lower(username)) answers the equality
    const planText = plan.rows.map((r) => r["QUERY PLAN"]).join("\n");
    const usesIndex = /Index (Only )?Scan using users_(org_username_key|username_prefix)/.test(planText);
    // the database's own share of a lookup: execution time of the compiled filter's query
    const sqlTimes: number[] = [];
    for (let i = 0; i < 300; i++) {
      const analysed = await sql<{ "QUERY PLAN": string }>`explain (analyze, format text)
        select * from users u where u.org_id = ${org.id}::uuid
        and (lower(u.username) = lower(${`BULK-${run}-${pick(i + 17)}@example.com`})) order by u.id limit 100`.execute(
        db.kysely,
      );
      const line = analysed.rows.map((r) => r["QUERY PLAN"]).find((l) => l.startsWith("Execution Time"));
      sqlTimes.push(Number(/([\d.]+) ms/.exec(line ?? "")?.[1] ?? Number.NaN));
    }
    sqlTimes.sort((a, b) => a - b);
    const figures: ScimFigures = {
      createsPerSecond,
      nativeCreatesPerSecond,
      listP50Ms: pct(scimList, 0.5),
      listP99Ms: pct(scimList, 0.99),
      nativeListP99Ms: pct(nativeList, 0.99),
      sqlP99Ms: pct(sqlTimes, 0.99),
      users: opts.users,
      loadBefore,
      loadAfter: loadavg(),
      pass: false,
    };
    figures.pass = createsPerSecond >= SCIM_TARGETS.createsPerSecond && figures.listP99Ms <= SCIM_TARGETS.listP99Ms;
    log(
      `userName eq with ${opts.users} users (4 concurrent, ${opts.lookups}): SCIM p50 ${figures.listP50Ms.toFixed(1)} ms, p99 ${figures.listP99Ms.toFixed(1)} ms; native p99 ${figures.nativeListP99Ms.toFixed(1)} ms; SQL execution p99 ${figures.sqlP99Ms.toFixed(2)} ms (target p99 ≤ ${SCIM_TARGETS.listP99Ms} ms); index lookup: ${usesIndex ? "yes" : `NO\n${planText}`}`,
    );
    log(
      `load average before ${loadBefore.map((l) => l.toFixed(2)).join(" ")}, after ${figures.loadAfter.map((l) => l.toFixed(2)).join(" ")}`,
    );
    log(`SCIM targets: ${figures.pass ? "met" : "NOT met"}`);
    http.close();
    return figures;
  } finally {
    await db.close();
    await server.stop();
    pg?.stop();
  }
}
