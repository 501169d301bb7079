// Directory benchmark on PostgreSQL: bulk-loads users, groups (trees up to 10 deep) and
// memberships, then measures the directory's HTTP API against a real `gatehouse serve`.
//
// Usage: npm run bench:directory [-- --json] [-- --scale 0.1]
//   GATEHOUSE_BENCH_DATABASE_URL selects an existing, empty PostgreSQL database; otherwise the
//   benchmark starts (and removes) a throwaway PostgreSQL like scripts/test.sh does.
import { type ChildProcess, spawn } from "node:child_process";
import { createHash } from "node:crypto";
import { createServer } from "node:net";
import { availableParallelism, loadavg } from "node:os";
import { sql } from "kysely";
import { encodeCursor } from "../../src/http/cursor.ts";
import { migrate } from "../../src/storage/migrate.ts";
import { openDb } from "../../src/storage/open.ts";
import { PG_SETTINGS, startPostgres, type ThrowawayPostgres } from "../support/postgres.ts";
import { type CannonRequest, cannon } from "./cannon.ts";
import { loadDirectory, userIdSql } from "./load.ts";
import { type Figures, measure } from "./measure.ts";

const args = process.argv.slice(2);
const json = args.includes("--json");
const scaleAt = args.indexOf("--scale");
const scale = scaleAt >= 0 ? Number(args[scaleAt + 1]) : 1;
const log = (line: string) => {
  if (!json) process.stdout.write(`${line}\n`);
  else process.stderr.write(`${line}\n`);
};

const SIZE = {
  users: Math.round(1_000_000 * scale),
  groups: Math.round(100_000 * scale),
  membershipsPerUser: 5,
};
const PSK = "bench-directory-psk-0123456789";
const MAIN = new URL("../../src/main.ts", import.meta.url).pathname;

async function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const server = createServer();
    server.listen(0, "127.0.0.1", () => {
      const address = server.address();
      server.close(() => resolve(typeof address === "object" && address ? address.port : 0));
    });
  });
}

async function startServer(url: string): Promise<{ base: string; child: ChildProcess }> {
  const port = await freePort();
  const child = spawn(process.execPath, [MAIN, "serve"], {
    env: {
      ...process.env,
      GATEHOUSE_DATABASE_URL: url,
      GATEHOUSE_PORT: String(port),
      GATEHOUSE_LOG_LEVEL: "warn",
      GATEHOUSE_PSK: PSK,
      GATEHOUSE_DATABASE_POOL_SIZE: "24",
      GATEHOUSE_AUTH_FAILURE_LIMIT: "1000000",
    },
    stdio: ["ignore", "ignore", "inherit"],
  });
  const base = `http://127.0.0.1:${port}`;
  for (let i = 0; i < 300; i++) {
    const ok = await fetch(`${base}/healthz`).then(
      (r) => r.ok,
      () => false,
    );
    if (ok) return { base, child };
    await new Promise((r) => setTimeout(r, 100));
  }
  child.kill();
  throw new Error("gatehouse serve did not become healthy");
}

const rand = (n: number) => Math.floor(Math.random() * n);

let pg: ThrowawayPostgres | undefined;
let server: ChildProcess | undefined;
try {
  let url = process.env.GATEHOUSE_BENCH_DATABASE_URL;
  if (!url) {
    log("starting a throwaway PostgreSQL");
    pg = await startPostgres();
    url = pg.url;
  }
  const db = await openDb({ databaseUrl: url, poolSize: 4 });
  await migrate(db);
  log(
    `loading ${SIZE.users.toLocaleString("en")} users, ${SIZE.groups.toLocaleString("en")} groups, ${(SIZE.users * SIZE.membershipsPerUser).toLocaleString("en")} memberships`,
  );
  // --reuse (with GATEHOUSE_BENCH_DATABASE_URL): measure again on the last directory loaded at this
  // scale instead of loading another one; the load figures are then absent.
  const reused = args.includes("--reuse")
    ? await db.kysely
        .selectFrom("orgs")
        .where("name", "like", "bench-%")
        .where("title", "=", `Directory benchmark ${scale}`)
        .orderBy("created_at", "desc")
        .select("id")
        .executeTakeFirst()
    : undefined;
  const load = reused
    ? {
        orgId: reused.id,
        seconds: {},
        totalSeconds: Number.NaN,
        rows: { memberships: Number.NaN, closure: Number.NaN },
      }
    : await loadDirectory(db, SIZE, log, scale);
  const org = load.orgId;

  // Effective groups of a user: closure table (what the API runs) against a recursive walk up parent_id.
  const sample = Array.from({ length: 500 }, () => 1 + rand(SIZE.users));
  const strategy = async (query: (userId: string) => Promise<unknown>) => {
    let i = 0;
    return measure(
      sample.length,
      1,
      async () => {
        const n = sample[i++] as number;
        const id = (
          await sql<{
            id: string;
          }>`select ${sql.raw(userIdSql(org, "n"))} as id from (select ${n}::int as n) x`.execute(db.kysely)
        ).rows[0]?.id as string;
        await query(id);
        return 200;
      },
      200,
    );
  };
  const closure = await strategy((id) =>
    sql`select distinct c.ancestor_id from group_members m join group_closure c on c.descendant_id = m.group_id where m.user_id = ${id}::uuid`.execute(
      db.kysely,
    ),
  );
  const recursive = await strategy((id) =>
    sql`with recursive up(id) as (select group_id from group_members where user_id = ${id}::uuid
        union select g.parent_id from up join groups g on g.id = up.id where g.parent_id is not null)
        select id from up`.execute(db.kysely),
  );
  // Effective members of a tree root (count of distinct users below it), both ways.
  const rootOf = (t: number) => sql.raw(`md5('${org}-g-' || ${t} || '-0')::uuid`);
  const trees0 = Math.ceil(SIZE.groups / 10);
  const roots = Array.from({ length: 300 }, () => rand(trees0));
  const members = async (query: (t: number) => Promise<unknown>) => {
    let i = 0;
    return measure(
      roots.length,
      1,
      async () => {
        await query(roots[i++] as number);
        return 200;
      },
      200,
    );
  };
  const closureMembers = await members((t) =>
    sql`select count(distinct m.user_id) from group_closure c join group_members m on m.group_id = c.descendant_id
        where c.ancestor_id = ${rootOf(t)}`.execute(db.kysely),
  );
  const recursiveMembers = await members((t) =>
    sql`with recursive down(id) as (select ${rootOf(t)} union all select g.id from down join groups g on g.parent_id = down.id)
        select count(distinct m.user_id) from down join group_members m on m.group_id = down.id`.execute(db.kysely),
  );
  await db.close();

  log("starting gatehouse serve");
  const started = await startServer(url);
  server = started.child;
  const base = started.base;
  const headers = { "authorization-psk": PSK, "content-type": "application/json" };
  const post = (path: string, body: unknown) =>
    fetch(`${base}${path}`, { method: "POST", headers, body: JSON.stringify(body) }).then(async (r) => {
      await r.arrayBuffer();
      return r.status;
    });
  // The same md5 ids the loader used, computed client-side.
  const uuidOf = (text: string) => {
    const hex = createHash("md5").update(text).digest("hex");
    return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
  };
  const userId = (n: number) => uuidOf(`${org}-u-${n}`);
  const groupId = (t: number, k: number) => uuidOf(`${org}-g-${t}-${k}`);
  const trees = Math.ceil(SIZE.groups / 10);
  const run = Date.now().toString(36);
  const page = () =>
    `/v1/groups?orgId=${org}&limit=100&cursor=${encodeCursor({ k: `team-${String(rand(trees)).padStart(6, "0")}` })}`;

  log("warming up");
  await cannon(
    base,
    headers,
    { method: "GET", path: () => `/v1/users/${userId(1 + rand(SIZE.users))}/groups` },
    500,
    4,
    200,
  );
  await cannon(base, headers, { method: "GET", path: page }, 200, 4, 200);

  const results: Record<string, Figures> = {};
  log("measuring");
  const create = (prefix: string, parent = false): CannonRequest => ({
    method: "POST",
    path: () => "/v1/groups",
    body: (i) => ({
      orgId: org,
      name: `${prefix}-${run}-${i}`,
      ...(parent ? { parentId: groupId(rand(trees), rand(9)) } : {}),
    }),
  });
  results["create group, 1 client"] = await cannon(base, headers, create("seq"), 1000, 1, 201);
  results["create group, 16 clients"] = await cannon(base, headers, create("par"), 8000, 16, 201);
  results["create child group, 16 clients"] = await cannon(base, headers, create("child", true), 4000, 16, 201);
  results["page of 100 groups"] = await cannon(base, headers, { method: "GET", path: page }, 2000, 1, 200);
  results["effective groups of a user"] = await cannon(
    base,
    headers,
    { method: "GET", path: () => `/v1/users/${userId(1 + rand(SIZE.users))}/groups?effective=true` },
    3000,
    1,
    200,
  );
  results["effective members page (tree root)"] = await cannon(
    base,
    headers,
    { method: "GET", path: () => `/v1/groups/${groupId(rand(trees), 0)}/members?effective=true&limit=100` },
    1000,
    1,
    200,
  );
  const batchGroups: string[] = [];
  for (let i = 0; i < 5; i++) {
    const res = await fetch(`${base}/v1/groups`, {
      method: "POST",
      headers,
      body: JSON.stringify({ orgId: org, name: `batch-${run}-${i}` }),
    });
    batchGroups.push(((await res.json()) as { id: string }).id);
  }
  results["batch of 10,000 members"] = await measure(
    5,
    1,
    async (i) => {
      const start = 1 + rand(SIZE.users - 10_000);
      const add = Array.from({ length: 10_000 }, (_, j) => userId(start + j));
      return post(`/v1/groups/${batchGroups[i]}/members:batch`, { add });
    },
    200,
  );

  const targets = [
    ...(reused
      ? []
      : [{ name: "loading", value: load.totalSeconds, limit: 600, unit: "s", pass: load.totalSeconds <= 600 }]),
    {
      name: "page of 100 groups p99",
      value: results["page of 100 groups"]!.p99Ms,
      limit: 20,
      unit: "ms",
      pass: results["page of 100 groups"]!.p99Ms <= 20,
    },
    {
      name: "effective groups of a user p99",
      value: results["effective groups of a user"]!.p99Ms,
      limit: 5,
      unit: "ms",
      pass: results["effective groups of a user"]!.p99Ms <= 5,
    },
    {
      name: "group creations/s, 16 clients",
      value: results["create group, 16 clients"]!.perSecond,
      limit: 1000,
      unit: "/s",
      pass: results["create group, 16 clients"]!.perSecond >= 1000,
    },
  ];
  const allErrors = Object.values(results).reduce((n, f) => n + f.errors, 0);
  const machine = { cpus: availableParallelism(), loadAverage1m: Math.round(loadavg()[0] * 100) / 100 };
  const output = {
    scale,
    machine,
    size: { ...SIZE, memberships: load.rows.memberships, closureRows: load.rows.closure },
    postgres: pg ? PG_SETTINGS : "GATEHOUSE_BENCH_DATABASE_URL",
    load: { totalSeconds: Math.round(load.totalSeconds * 10) / 10, steps: load.seconds },
    effectiveGroupsQuery: { closureTable: closure, recursiveWalk: recursive },
    effectiveMembersQuery: { closureTable: closureMembers, recursiveWalk: recursiveMembers },
    http: results,
    targets,
    errors: allErrors,
  };
  if (json) {
    process.stdout.write(`${JSON.stringify(output, null, 2)}\n`);
  } else {
    const pad = (s: string | number, n: number) => String(s).padStart(n);
    log("");
    log(
      `scale ${scale}: ${SIZE.users.toLocaleString("en")} users, ${SIZE.groups.toLocaleString("en")} groups, ${load.rows.memberships?.toLocaleString("en")} memberships, ${load.rows.closure?.toLocaleString("en")} closure rows`,
    );
    log(
      `machine: ${machine.cpus} cpus, load average ${machine.loadAverage1m} at the end (other work on the machine inflates tails)`,
    );
    log(
      `load: ${load.totalSeconds.toFixed(1)} s (${Object.entries(load.seconds)
        .map(([k, v]) => `${k} ${v.toFixed(1)} s`)
        .join(", ")})`,
    );
    log("");
    log(
      `${"operation".padEnd(38)}${pad("requests", 9)}${pad("errors", 7)}${pad("req/s", 8)}${pad("p50 ms", 9)}${pad("p95 ms", 9)}${pad("p99 ms", 9)}${pad("max ms", 9)}`,
    );
    const row = (name: string, f: Figures) =>
      log(
        `${name.padEnd(38)}${pad(f.requests, 9)}${pad(f.errors, 7)}${pad(f.perSecond, 8)}${pad(f.p50Ms, 9)}${pad(f.p95Ms, 9)}${pad(f.p99Ms, 9)}${pad(f.maxMs, 9)}`,
      );
    for (const [name, f] of Object.entries(results)) row(name, f);
    log("");
    log("effective groups of a user, SQL only (500 random users):");
    row("  closure table join", closure);
    row("  recursive walk up parent_id", recursive);
    log("effective members of a tree root, SQL only (300 random trees):");
    row("  closure table join", closureMembers);
    row("  recursive walk down parent_id", recursiveMembers);
    log("");
    for (const t of targets) {
      log(
        `${t.pass ? "PASS" : "FAIL"}  ${t.name}: ${Math.round(t.value * 100) / 100} ${t.unit} (target ${t.unit === "/s" ? "≥" : "≤"} ${t.limit} ${t.unit})`,
      );
    }
    if (allErrors > 0) log(`ERRORS: ${allErrors} requests did not answer the expected status`);
  }
  process.exitCode = targets.every((t) => t.pass) && allErrors === 0 ? 0 : 1;
} finally {
  server?.kill("SIGTERM");
  if (server) await new Promise((r) => setTimeout(r, 500));
  pg?.stop();
}
