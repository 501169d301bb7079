// Connector sync benchmark (docs/connectors.md): the Ranger connector carries a fresh organisation
// of 10,000 groups and 100,000 memberships (10,000 users) to a Ranger stand-in (a second Gatehouse
// server process serving Ranger's user API over HTTP), then holds a steady 50 directory changes a
// second for 30 s, then runs a dry-run reconcile of the 10,000 groups. Targets (PostgreSQL):
// initial sync ≤ 60 s, steady lag p99 ≤ 2 s, dry-run reconcile ≤ 30 s.
//
// Usage: npm run bench:sync [-- --json] [-- --scale 0.1] [-- --seconds 30]
//   GATEHOUSE_BENCH_DATABASE_URL: the source's PostgreSQL database (else an in-memory PGlite).
//   GATEHOUSE_BENCH_TARGET_DATABASE_URL: the Ranger stand-in's database (else PGlite in a temp folder).
// Lag is measured per change: its commit time to the moment its outbox rows are gone (the group's
// state reached the target), sampled every 20 ms.
import { mkdtempSync, rmSync } from "node:fs";
import { availableParallelism, loadavg, tmpdir } from "node:os";
import { join } from "node:path";
import { sql } from "kysely";
import { buildApp } from "../../src/app.ts";
import { SYSTEM_CONTEXT } from "../../src/audit/audit.service.ts";
import { hashSecret } from "../../src/auth/secrets.ts";
import { loadConfig } from "../../src/config/load.ts";
import { createGroups } from "../../src/directory/groups.service.ts";
import { batchMembersMany, putMember, removeMember } from "../../src/directory/members.service.ts";
import { createUsers } from "../../src/directory/users.service.ts";
import { migrate } from "../../src/storage/migrate.ts";
import { openDb } from "../../src/storage/open.ts";
import { startServerProcess } from "../../test/support/server-process.ts";

const args = process.argv.slice(2);
const json = args.includes("--json");
const argOf = (name: string, fallback: number) => {
  const at = args.indexOf(name);
  return at >= 0 ? Number(args[at + 1]) : fallback;
};
const scale = argOf("--scale", 1);
const steadySeconds = argOf("--seconds", 30);
const SIZE = {
  groups: Math.round(10_000 * scale),
  users: Math.round(10_000 * scale),
  memberships: Math.round(100_000 * scale),
};
const TARGETS = { initialSeconds: 60, lagP99Seconds: 2, reconcileSeconds: 30 };
const RATE = 50;
const PSK = "bench-sync-psk-0123456789";
const log = (line: string) => (json ? process.stderr : process.stdout).write(`${line}\n`);
const load = () => loadavg().map((l) => Number(l.toFixed(1)));

const url = process.env.GATEHOUSE_BENCH_DATABASE_URL;
const targetUrl = process.env.GATEHOUSE_BENCH_TARGET_DATABASE_URL;
const targetDir = mkdtempSync(join(tmpdir(), "gh-bench-sync-target-"));
log(`load average at start: ${load().join(" ")} on ${availableParallelism()} cpus`);
const target = await startServerProcess({
  GATEHOUSE_PSK: PSK,
  GATEHOUSE_LOG_LEVEL: "info",
  GATEHOUSE_AUTH_FAILURE_LIMIT: "1000000",
  GATEHOUSE_CONNECTOR_WORKERS: "false",
  GATEHOUSE_DATA_DIR: targetDir,
  ...(targetUrl ? { GATEHOUSE_DATABASE_URL: targetUrl } : {}),
});
try {
  const account = (await fetch(`${target.url}/v1/service-accounts`, {
    method: "POST",
    headers: { "authorization-psk": PSK, "content-type": "application/json" },
    body: JSON.stringify({ name: `bench-sync-${Date.now()}`, roles: ["directory-admin"] }),
  }).then((r) => r.json())) as { clientId: string; clientSecret: string };

  const db = await openDb({ databaseUrl: url, poolSize: 10 });
  await migrate(db);
  const config = loadConfig({
    env: {
      GATEHOUSE_PSK: PSK,
      GATEHOUSE_LOG_LEVEL: "silent",
      GATEHOUSE_CONNECTOR_RECONCILE_SECONDS: "0",
      GATEHOUSE_CONNECTOR_RETRY_MAX_MS: "2000",
    },
  });
  const app = await buildApp({ config, db, generalPskHash: hashSecret(PSK) });
  await app.ready();
  const api = async (method: "GET" | "POST", path: string, payload?: object) => {
    const res = await app.inject({
      method,
      url: path,
      headers: { "authorization-psk": PSK },
      ...(payload ? { payload } : {}),
    });
    if (res.statusCode >= 300) throw new Error(`${method} ${path}: ${res.statusCode} ${res.body}`);
    return res.json();
  };
  const backend = db.kind === "postgres" ? "postgres" : "pglite";
  const prefix = `bs${Date.now().toString(36)}`;
  const org = (await api("POST", "/v1/orgs", { name: prefix })).id as string;
  const connector = (
    await api("POST", "/v1/connectors", {
      name: prefix,
      kind: "ranger",
      orgIds: [org],
      enabled: false,
      config: { baseUrl: target.url, username: account.clientId },
      password: account.clientSecret,
    })
  ).id as string;

  log(
    `${backend}: writing ${SIZE.groups} groups, ${SIZE.users} users, ${SIZE.memberships} memberships (connector disabled)`,
  );
  const users: string[] = [];
  for (let at = 0; at < SIZE.users; at += 1000) {
    const made = await db.transaction((tx) =>
      createUsers(
        tx,
        SYSTEM_CONTEXT,
        org,
        Array.from({ length: Math.min(1000, SIZE.users - at) }, (_, i) => ({ username: `${prefix}-u${at + i}` })),
      ),
    );
    users.push(...made.map((u) => u.id));
  }
  const groups: string[] = [];
  for (let at = 0; at < SIZE.groups; at += 1000) {
    const made = await db.transaction((tx) =>
      createGroups(
        tx,
        SYSTEM_CONTEXT,
        org,
        Array.from({ length: Math.min(1000, SIZE.groups - at) }, (_, i) => ({ name: `${prefix}-g${at + i}` })),
      ),
    );
    groups.push(...made.map((g) => g.id));
  }
  const perGroup = Math.max(1, Math.round(SIZE.memberships / SIZE.groups));
  for (let at = 0; at < groups.length; at += 1000) {
    const changes = groups.slice(at, at + 1000).map((groupId, j) => ({
      groupId,
      add: Array.from({ length: perGroup }, (_, k) => users[((at + j) * 7919 + k * 104_729) % users.length] as string),
      remove: [],
    }));
    await db.transaction((tx) => batchMembersMany(tx, SYSTEM_CONTEXT, org, changes));
  }

  const drained = async () => {
    for (;;) {
      const status = await api("GET", `/v1/connectors/${connector}/status`);
      if (status.pending === 0) return status;
      await new Promise((r) => setTimeout(r, 100));
    }
  };

  // 1. initial sync: enable, wait until nothing is queued
  const t0 = performance.now();
  await api("POST", `/v1/connectors/${connector}/enable`);
  const after = await drained();
  const initialSeconds = (performance.now() - t0) / 1000;
  log(
    `initial sync: ${initialSeconds.toFixed(1)} s (target ${TARGETS.initialSeconds} s; failing ${after.failing}, dead ${after.deadLettered}; load ${load().join(" ")})`,
  );

  // 2. steady state: 50 changes a second (a member added to or removed from a random group)
  const lags: number[] = [];
  const waiting = new Map<number, number>(); // outbox seq → commit time
  let stopPolling = false;
  const poller = (async () => {
    while (!stopPolling || waiting.size > 0) {
      if (waiting.size > 0) {
        const seqs = [...waiting.keys()];
        const left = new Set(
          (
            await sql<{ seq: number }>`select seq from connector_outbox where seq = any(${seqs}::bigint[])`.execute(
              db.kysely,
            )
          ).rows.map((r) => Number(r.seq)),
        );
        const now = performance.now();
        for (const s of seqs) {
          if (!left.has(s)) {
            lags.push((now - (waiting.get(s) as number)) / 1000);
            waiting.delete(s);
          }
        }
      }
      await new Promise((r) => setTimeout(r, 20));
    }
  })();
  const total = RATE * steadySeconds;
  const start = performance.now();
  let behind = 0;
  const extra = `${prefix}-steady`;
  const steadyUser = (await db.transaction((tx) => createUsers(tx, SYSTEM_CONTEXT, org, [{ username: extra }])))[0]
    ?.id as string;
  // each change is its own transaction, started on schedule without waiting for the previous one
  // (at most 25 in flight), so a slow commit does not lower the rate; a group is changed by one
  // change at a time (the member is toggled)
  const inGroup = new Set<string>();
  const busy = new Set<string>();
  const inflight = new Set<Promise<void>>();
  const change = async (groupId: string) => {
    const removing = inGroup.has(groupId);
    await db.transaction(async (tx) => {
      if (removing) await removeMember(tx, SYSTEM_CONTEXT, groupId, steadyUser);
      else await putMember(tx, SYSTEM_CONTEXT, groupId, steadyUser);
    });
    if (removing) inGroup.delete(groupId);
    else inGroup.add(groupId);
    const committed = performance.now();
    const row = await sql<{ seq: number | null }>`select max(seq) as seq from connector_outbox
      where connector_id = ${connector}::uuid and group_id = ${groupId}::uuid`.execute(db.kysely);
    const seq = row.rows[0]?.seq;
    if (seq === null || seq === undefined) lags.push((performance.now() - committed) / 1000);
    else waiting.set(Number(seq), committed);
  };
  for (let i = 0; i < total; i++) {
    const due = start + (i * 1000) / RATE;
    const wait = due - performance.now();
    if (wait > 0) await new Promise((r) => setTimeout(r, wait));
    else behind++;
    while (inflight.size >= 25) await Promise.race(inflight);
    let k = i;
    let groupId = groups[(k * 7907) % groups.length] as string;
    while (busy.has(groupId)) groupId = groups[(++k * 7907) % groups.length] as string;
    busy.add(groupId);
    const running: Promise<void> = change(groupId).finally(() => {
      busy.delete(groupId);
      inflight.delete(running);
    });
    inflight.add(running);
  }
  await Promise.all(inflight);
  stopPolling = true;
  await poller;
  const achieved = total / ((performance.now() - start) / 1000);
  lags.sort((a, b) => a - b);
  const pct = (p: number) => lags[Math.min(lags.length - 1, Math.floor((p / 100) * lags.length))] ?? 0;
  const steady = {
    changes: total,
    achievedPerSecond: achieved,
    behind,
    p50: pct(50),
    p99: pct(99),
    max: lags[lags.length - 1] ?? 0,
  };
  log(
    `steady state: ${total} changes at ${achieved.toFixed(1)}/s; lag p50 ${steady.p50.toFixed(3)} s, p99 ${steady.p99.toFixed(3)} s, max ${steady.max.toFixed(3)} s (target p99 ${TARGETS.lagP99Seconds} s; load ${load().join(" ")})`,
  );

  // 3. dry-run reconcile of everything
  const r0 = performance.now();
  const report = await api("POST", `/v1/connectors/${connector}/reconcile?dryRun=true`);
  const reconcileSeconds = (performance.now() - r0) / 1000;
  log(
    `dry-run reconcile: ${reconcileSeconds.toFixed(1)} s over ${report.desired} groups (${report.onTarget} on the target); differences ${JSON.stringify(report.counts)} (target ${TARGETS.reconcileSeconds} s; load ${load().join(" ")})`,
  );

  const result = {
    backend,
    target: targetUrl ? "postgres" : "pglite",
    size: SIZE,
    initialSeconds,
    steady,
    reconcileSeconds,
    differences: report.counts,
    targets: TARGETS,
    met:
      backend === "postgres"
        ? {
            initial: initialSeconds <= TARGETS.initialSeconds,
            lag: steady.p99 <= TARGETS.lagP99Seconds,
            reconcile: reconcileSeconds <= TARGETS.reconcileSeconds,
          }
        : null,
    machine: { cpus: availableParallelism(), loadavg: load() },
  };
  log(
    `result: ${JSON.stringify(result.met)} (${backend}; load average ${result.machine.loadavg.join(" ")} on ${result.machine.cpus} cpus)`,
  );
  if (json) process.stdout.write(`${JSON.stringify(result, null, 2)}\n`);
  await sql`delete from connectors where id = ${connector}::uuid`.execute(db.kysely);
  await app.close();
  await db.close();
} finally {
  target.child.kill("SIGTERM");
  await Promise.race([target.exited, new Promise((r) => setTimeout(r, 10_000))]);
  rmSync(targetDir, { recursive: true, force: true });
}
