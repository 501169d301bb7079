// Per-request cost of SCIM next to other routes (issue #16), for profiling on a shared machine where
// throughput is noise: CPU milliseconds per request of the server, its PostgreSQL backends and this
// client, read from /proc around a fixed amount of work at 16 concurrent clients.
//
//   GATEHOUSE_BENCH_DATABASE_URL=postgres://... node bench/identity/scim-profile.ts MODE [N]
//   MODE: scim (POST /scim/v2/Users), native (POST /v1/users), list (userName eq), spc
//   (GET /scim/v2/ServiceProviderConfig), health (GET /healthz). PROF=1 adds --cpu-prof
//   (profiles in /tmp/scimbench/prof).
import { randomUUID } from "node:crypto";
import { openDb } from "../../src/storage/open.ts";
import { startServer } from "../support/serve.ts";

const url = process.env.GATEHOUSE_BENCH_DATABASE_URL as string;
const PSK = "bench-identity-psk-0123456789";
const mode = process.argv[2] ?? "scim";
const n = Number(process.argv[3] ?? 2000);
const server = await startServer(new URL("../..", import.meta.url).pathname, PSK, {
  databaseUrl: url,
  nodeArgs: process.env.PROF ? ["--cpu-prof", "--cpu-prof-dir=/tmp/scimbench/prof"] : [],
});
const db = await openDb({ databaseUrl: url });
const org = await db.kysely
  .insertInto("orgs")
  .values({ name: `prof-${randomUUID().slice(0, 8)}`, title: "p" })
  .returning("id")
  .executeTakeFirstOrThrow();
const admin = { "authorization-psk": PSK, "content-type": "application/json" };
const client = (await (
  await fetch(`${server.url}/v1/scim-clients`, {
    method: "POST",
    headers: admin,
    body: JSON.stringify({ name: "b", orgId: org.id }),
  })
).json()) as { token: string };
const h = { authorization: `Bearer ${client.token}`, "content-type": "application/scim+json" };
const run = randomUUID().slice(0, 6);
const one = async (i: number) => {
  const res =
    mode === "spc"
      ? await fetch(`${server.url}/scim/v2/ServiceProviderConfig`, { headers: h })
      : mode === "health"
        ? await fetch(`${server.url}/healthz`)
        : mode === "list"
          ? await fetch(
              `${server.url}/scim/v2/Users?filter=${encodeURIComponent(`userName eq "p-${run}-${i}@example.com"`)}`,
              { headers: h },
            )
          : mode === "scim"
            ? await fetch(`${server.url}/scim/v2/Users`, {
                method: "POST",
                headers: h,
                body: JSON.stringify({
                  schemas: ["urn:ietf:params:scim:schemas:core:2.0:User"],
                  userName: `p-${run}-${i}@example.com`,
                  externalId: `e-${run}-${i}`,
                  name: { givenName: "B", familyName: `U ${i}` },
                  emails: [{ value: `p-${run}-${i}@example.com`, type: "work", primary: true }],
                  active: true,
                }),
              })
            : await fetch(`${server.url}/v1/users`, {
                method: "POST",
                headers: admin,
                body: JSON.stringify({ orgId: org.id, username: `n-${run}-${i}`, email: `n-${run}-${i}@example.com` }),
              });
  const t = await res.text();
  if (res.status >= 300) throw new Error(t);
};

import { readFileSync } from "node:fs";

const ticks = (pid: number) => {
  try {
    const f = readFileSync(`/proc/${pid}/stat`, "utf8").split(") ")[1]?.split(" ") ?? [];
    return (Number(f[11]) + Number(f[12])) * 10;
  } catch {
    return 0;
  }
};
const pgPids = async () =>
  (
    await (
      await import("kysely")
    ).sql<{
      pid: number;
    }>`select pid from pg_stat_activity where datname = current_database() and pid <> pg_backend_pid()`.execute(
      db.kysely,
    )
  ).rows.map((r) => r.pid);
for (let i = 0; i < 100; i++) await one(-1 - i); // warm-up
const pids = await pgPids();
const pg0 = pids.map(ticks);
const s0 = ticks(server.child.pid as number);
const c0 = process.cpuUsage();
let next = 0;
const t0 = performance.now();
await Promise.all(
  Array.from({ length: 16 }, async () => {
    for (let i = next++; i < n; i = next++) await one(i);
  }),
);
const wall = (performance.now() - t0) / 1000;
const pgMs = pids.map(ticks).reduce((a, b, i) => a + b - (pg0[i] ?? 0), 0);
const sMs = ticks(server.child.pid as number) - s0;
const c = process.cpuUsage(c0);
console.log(
  `${mode}: ${(n / wall).toFixed(0)}/s; CPU ms per request: server ${(sMs / n).toFixed(2)}, postgres ${(pgMs / n).toFixed(2)}, client ${((c.user + c.system) / 1000 / n).toFixed(2)}`,
);
await db.close();
await server.stop();
