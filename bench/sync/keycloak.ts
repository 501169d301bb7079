// Keycloak target benchmark: an initial sync of 10,000 groups (10 roots, 90 departments, 9,900 teams: three levels)
// with 100,000 direct memberships (10 per group, 10,000 users) through KeycloakTarget and the vendor's admin client
// into the Keycloak contract double (test/support/keycloak-double.ts, run in its own process), then a full paged
// listGroups of the 10,000 groups with their members, as a dry-run reconcile reads the target.
//
// A real Keycloak is slower than the double: its own tracker reports `GET /admin/realms/{realm}/groups` taking about
// a minute for 15,000 groups (keycloak/keycloak#40242, 26.2.4; also #25731), and group-by-path and member writes go
// through its database. The figures below measure the connector's own cost and its request count, not Keycloak's.
//
// Usage: npm run bench:sync:keycloak [-- --scale 0.1] [-- --concurrency 8] [-- --json]
import { spawn } from "node:child_process";
import { availableParallelism, loadavg } from "node:os";
import { createInterface } from "node:readline";
import { KeycloakTarget } from "../../src/connectors/keycloak/keycloak-target.ts";
import type { GroupState } from "../../src/connectors/target.ts";

const args = process.argv.slice(2);
const json = args.includes("--json");
const opt = (name: string, dflt: number) => {
  const at = args.indexOf(name);
  return at >= 0 ? Number(args[at + 1]) : dflt;
};
const scale = opt("--scale", 1);
const concurrency = opt("--concurrency", 8);
const log = (line: string) => (json ? process.stderr : process.stdout).write(`${line}\n`);

const ROOTS = 10;
const DEPTS = 9;
const TEAMS = Math.max(1, Math.round(110 * scale));
const USERS = Math.max(10, Math.round(10_000 * scale));
const PER_GROUP = 10;

// Parents before children, as the outbox delivers them (commit order).
const groups: GroupState[] = [];
let n = 0;
const add = (path: string[]) => {
  const members = Array.from({ length: PER_GROUP }, (_, j) => userName((n * 7919 + j * 131) % USERS));
  groups.push({ gatehouseId: `g${n}`, path, attributes: { "gatehouse.label.tier": [String(path.length)] }, members });
  n++;
};
for (let r = 0; r < ROOTS; r++) add([`org${r}`]);
for (let r = 0; r < ROOTS; r++) for (let d = 0; d < DEPTS; d++) add([`org${r}`, `dept${d}`]);
for (let r = 0; r < ROOTS; r++)
  for (let d = 0; d < DEPTS; d++) for (let t = 0; t < TEAMS; t++) add([`org${r}`, `dept${d}`, `team${t}`]);
const memberships = groups.length * PER_GROUP;

const child = spawn(
  process.execPath,
  [new URL("./keycloak-double-server.ts", import.meta.url).pathname, String(USERS)],
  {
    stdio: ["pipe", "pipe", "inherit"],
  },
);
const lines = createInterface({ input: child.stdout! })[Symbol.asyncIterator]();
/** The double's counters since the last call (requests, writes, tokens, per route). */
async function stats(): Promise<{ requests: number; writes: number }> {
  child.stdin!.write("stats\n");
  return JSON.parse((await lines.next()).value as string);
}
try {
  const { baseUrl } = JSON.parse((await lines.next()).value as string) as { baseUrl: string };
  const target = new KeycloakTarget({
    baseUrl,
    realm: "gatehouse",
    clientId: "gatehouse-sync",
    clientSecret: "s3cret",
    timeoutMs: 30_000,
  });
  const load0 = loadavg();
  log(
    `keycloak bench: ${groups.length} groups, ${memberships} memberships, ${USERS} users, ${concurrency} groups in flight`,
  );

  // Baseline in the same run: the raw rate of authenticated GETs this machine manages against the same double
  // right now (no client library, no connector logic), so the figures below can be read against the machine's load.
  const token = (await (
    await fetch(`${baseUrl}/realms/gatehouse/protocol/openid-connect/token`, {
      method: "POST",
      body: new URLSearchParams({
        grant_type: "client_credentials",
        client_id: "gatehouse-sync",
        client_secret: "s3cret",
      }),
    })
  ).json()) as { access_token: string };
  const BASELINE = 2000;
  const tb = performance.now();
  let sent = 0;
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (sent++ < BASELINE) {
        const res = await fetch(`${baseUrl}/admin/realms/gatehouse/groups?first=0&max=1`, {
          headers: { authorization: `Bearer ${token.access_token}` },
        });
        await res.arrayBuffer();
      }
    }),
  );
  const baselineRps = BASELINE / ((performance.now() - tb) / 1000);
  await stats();

  // Initial sync: levels in order (a child needs its parent), groups of one level concurrently.
  const t0 = performance.now();
  let missing = 0;
  for (let depth = 1; depth <= 3; depth++) {
    const level = groups.filter((g) => g.path.length === depth);
    let next = 0;
    await Promise.all(
      Array.from({ length: concurrency }, async () => {
        while (next < level.length) {
          const report = await target.upsertGroup(level[next++]);
          missing += report.missingUsers.length;
        }
      }),
    );
  }
  const syncS = (performance.now() - t0) / 1000;
  const syncStats = await stats();

  // Full listing, paged, as a dry-run reconcile reads the target.
  const t1 = performance.now();
  let listed = 0;
  let listedMembers = 0;
  let cursor: string | undefined;
  do {
    const page = await target.listGroups(cursor);
    listed += page.groups.length;
    for (const g of page.groups) listedMembers += g.members.length;
    cursor = page.next;
  } while (cursor);
  const listS = (performance.now() - t1) / 1000;
  const listStats = await stats();

  // A replay of the whole sync: no write may be sent (verified by listing again being unchanged is implied).
  const t2 = performance.now();
  for (let depth = 1; depth <= 3; depth++) {
    const level = groups.filter((g) => g.path.length === depth);
    let next = 0;
    await Promise.all(
      Array.from({ length: concurrency }, async () => {
        while (next < level.length) await target.upsertGroup(level[next++]);
      }),
    );
  }
  const replayS = (performance.now() - t2) / 1000;
  const replayStats = await stats();
  const load1 = loadavg();

  const result = {
    groups: groups.length,
    memberships,
    baselineRequestsPerSecond: Math.round(baselineRps),
    initialSyncSeconds: round(syncS),
    initialSyncRequests: syncStats.requests,
    initialSyncWrites: syncStats.writes,
    initialSyncRequestsPerSecond: Math.round(syncStats.requests / syncS),
    groupsPerSecond: Math.round(groups.length / syncS),
    membershipsPerSecond: Math.round(memberships / syncS),
    missingUsers: missing,
    listGroupsSeconds: round(listS),
    listGroupsRequests: listStats.requests,
    listedGroups: listed,
    listedMemberships: listedMembers,
    replaySeconds: round(replayS),
    replayRequests: replayStats.requests,
    replayWrites: replayStats.writes,
    loadAverageBefore: load0.map(round),
    loadAverageAfter: load1.map(round),
    cpus: availableParallelism(),
  };
  log(`baseline: ${result.baselineRequestsPerSecond} raw authenticated GETs/s against the double on this machine now`);
  log(
    `initial sync: ${result.initialSyncSeconds} s (${result.groupsPerSecond} groups/s, ${result.membershipsPerSecond} memberships/s; ${syncStats.requests} requests, ${syncStats.writes} writes, ${result.initialSyncRequestsPerSecond} requests/s), missing users ${missing}`,
  );
  log(
    `listGroups (dry-run read) of ${listed} groups / ${listedMembers} memberships: ${result.listGroupsSeconds} s (${listStats.requests} requests)`,
  );
  log(
    `replay of the same ${groups.length} groups: ${result.replaySeconds} s (${replayStats.requests} requests, ${replayStats.writes} writes)`,
  );
  log(`load average ${load0.map(round).join(" ")} -> ${load1.map(round).join(" ")} on ${result.cpus} CPUs`);
  log(
    "note: measured against the contract double; a real Keycloak is slower (its group list alone takes about 60 s at 15,000 groups, keycloak/keycloak#40242)",
  );
  if (listed !== groups.length || listedMembers !== memberships || missing !== 0 || replayStats.writes !== 0) {
    log("MISMATCH: the target does not hold what was sent");
    process.exitCode = 1;
  }
  if (json) process.stdout.write(`${JSON.stringify(result)}\n`);
} finally {
  child.kill("SIGTERM");
}

/** The bench's username for user number `i` (the same as in keycloak-double-server.ts). */
function userName(i: number): string {
  return `u${String(i).padStart(5, "0")}`;
}

function round(x: number): number {
  return Math.round(x * 100) / 100;
}
