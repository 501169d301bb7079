// Ranger usersync benchmark: a full first sync cycle of 10,000 users, 1,000 groups and 50,000
// memberships pushed through Ranger's `ugsync` endpoints in usersync's batches of 1,000 (the
// test/support/usersync.ts stand-in for PolicyMgrUserGroupBuilder, over HTTP), then a delta cycle
// (500 memberships moved, 100 users added, 100 gone) and a cycle with nothing to push. Target:
// the first cycle within 30 s on PostgreSQL.
//
// Usage: npm run bench:usersync [-- --json] [-- --scale 0.1] [-- --pglite]
//   GATEHOUSE_BENCH_DATABASE_URL selects an existing PostgreSQL database; otherwise a throwaway
//   PostgreSQL is started (and removed), or an in-memory PGlite with --pglite.
import type { AddressInfo } from "node:net";
import { availableParallelism, loadavg } from "node:os";
import { buildApp } from "../../src/app.ts";
import { hashSecret } from "../../src/auth/secrets.ts";
import { loadConfig } from "../../src/config/load.ts";
import { migrate } from "../../src/storage/migrate.ts";
import { openDb } from "../../src/storage/open.ts";
import { runUsersyncCycle, type Send, syntheticSource } from "../../test/support/usersync.ts";
import { PG_SETTINGS, startPostgres, type ThrowawayPostgres } from "../support/postgres.ts";

const args = process.argv.slice(2);
const json = args.includes("--json");
const pglite = args.includes("--pglite");
const scaleAt = args.indexOf("--scale");
const scale = scaleAt >= 0 ? Number(args[scaleAt + 1]) : 1;
const log = (line: string) => (json ? process.stderr : process.stdout).write(`${line}\n`);

const SIZE = {
  users: Math.round(10_000 * scale),
  groups: Math.round(1_000 * scale),
  memberships: Math.round(50_000 * scale),
};
const BATCH = 1000;
const TARGET_SECONDS = 30;
const PSK = "bench-usersync-psk-0123456789";

let pg: ThrowawayPostgres | undefined;
try {
  let url = pglite ? undefined : process.env.GATEHOUSE_BENCH_DATABASE_URL;
  if (!pglite && !url) {
    log("starting a throwaway PostgreSQL");
    pg = await startPostgres();
    url = pg.url;
  }
  const backend = url ? "postgres" : "pglite";
  const db = await openDb({ databaseUrl: url, poolSize: 10 });
  await migrate(db);
  const config = loadConfig({
    env: { GATEHOUSE_PSK: PSK, GATEHOUSE_LOG_LEVEL: "silent", GATEHOUSE_AUTH_FAILURE_LIMIT: "1000000" },
  });
  const app = await buildApp({ config, db, generalPskHash: hashSecret(PSK) });
  await app.listen({ host: "127.0.0.1", port: 0 });
  const base = `http://127.0.0.1:${(app.server.address() as AddressInfo).port}`;
  const account = await fetch(`${base}/v1/service-accounts`, {
    method: "POST",
    headers: { "authorization-psk": PSK, "content-type": "application/json" },
    body: JSON.stringify({ name: `usersync-${Date.now()}`, roles: ["directory-admin"] }),
  }).then((r) => r.json() as Promise<{ clientId: string; clientSecret: string }>);
  const authorization = `Basic ${Buffer.from(`${account.clientId}:${account.clientSecret}`).toString("base64")}`;
  const send: Send = async (method, path, body) => {
    const t0 = performance.now();
    const res = await fetch(`${base}${path}`, {
      method,
      headers: { authorization, ...(body === undefined ? {} : { "content-type": "application/json" }) },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    });
    const text = await res.text();
    if (args.includes("--verbose"))
      log(`  ${method} ${path.split("?")[0]} ${res.status} ${(performance.now() - t0).toFixed(0)} ms`);
    return { status: res.status, body: text ? JSON.parse(text) : null };
  };

  const prefix = `bench${Date.now().toString(36)}`;
  const source = syntheticSource(prefix, SIZE.users, SIZE.groups, SIZE.memberships);
  log(
    `${backend}: ${SIZE.users.toLocaleString("en")} users, ${SIZE.groups.toLocaleString("en")} groups, ` +
      `${SIZE.memberships.toLocaleString("en")} memberships, batches of ${BATCH}`,
  );
  const timed = async (label: string) => {
    const started = performance.now();
    const report = await runUsersyncCycle(send, source, { batch: BATCH, syncSource: prefix });
    const seconds = (performance.now() - started) / 1000;
    log(
      `${label}: ${seconds.toFixed(1)} s (${report.requests} requests; new groups ${report.newGroups}, ` +
        `new users ${report.newUsers}, membership changes ${report.changedMemberships}, hidden users ${report.hiddenUsers})`,
    );
    return { seconds, report };
  };
  const first = await timed("first cycle");

  // the source changes: 500 memberships move to another group, 100 users join, 100 leave
  const groups = source.groups;
  for (let i = 0; i < Math.min(500, SIZE.memberships); i++) {
    const from = source.members.get(groups[i % groups.length] as string) as Set<string>;
    const [user] = from;
    if (!user) continue;
    from.delete(user);
    (source.members.get(groups[(i + 1) % groups.length] as string) as Set<string>).add(user);
  }
  const leaving = new Set(source.users.slice(-100));
  source.users = [
    ...source.users.filter((u) => !leaving.has(u)),
    ...Array.from({ length: 100 }, (_, i) => `${prefix}-n${i}`),
  ];
  for (const set of source.members.values()) for (const u of leaving) set.delete(u);
  const delta = await timed("delta cycle");
  const idle = await timed("no-change cycle");

  const result = {
    backend,
    size: SIZE,
    batch: BATCH,
    firstCycleSeconds: first.seconds,
    deltaCycleSeconds: delta.seconds,
    idleCycleSeconds: idle.seconds,
    targetSeconds: TARGET_SECONDS,
    // the target is PostgreSQL's; the embedded database is measured for comparison
    targetMet: backend === "postgres" ? first.seconds <= TARGET_SECONDS : null,
    machine: { cpus: availableParallelism(), loadavg: loadavg().map((l) => Number(l.toFixed(1))) },
    ...(pg ? { postgresSettings: PG_SETTINGS } : {}),
  };
  log(
    `first cycle ${first.seconds.toFixed(1)} s against a target of ${TARGET_SECONDS} s on PostgreSQL: ` +
      `${result.targetMet === null ? "not applicable" : result.targetMet ? "met" : "missed"} (${backend}; load average ${result.machine.loadavg.join(" ")} on ${result.machine.cpus} cpus)`,
  );
  if (json) process.stdout.write(`${JSON.stringify(result, null, 2)}\n`);
  await app.close();
  await db.close();
} finally {
  pg?.stop();
}
