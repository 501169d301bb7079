/**
 * `npm run bench:policies [-- --json] [-- --quick]`: the policy-administration targets of issue 5,
 * measured against a real server process on PostgreSQL.
 *
 *   1. bulk import of 10,000 JSON rows (Nx1 multipart upload, rows streamed as a file part) ≤ 5 s
 *   2. bulk import of 100,000 JSON rows ≤ 60 s with flat memory (server RSS growth ≤ 256 MB)
 *   3. single policy create (Nx1 POST), p99 ≤ 20 ms
 *   4. search by resource over ≥ 100,000 policies (`resource:schema=…`), p99 ≤ 50 ms
 *
 * PostgreSQL is started in a temp folder like scripts/test.sh (initdb + pg_ctl on a free port,
 * removed afterwards) unless GATEHOUSE_BENCH_DATABASE_URL names one. The server runs as a child
 * process (`node src/main.ts serve`) so its memory is measured alone, from /proc/<pid>/status.
 * Latencies are measured after autovacuum has finished with the imported rows (steady state), with
 * autocannon over one keep-alive connection (bench/directory/cannon.ts).
 * `--quick` shrinks the sizes tenfold for a smoke run (targets are then not judged).
 */
import { type ChildProcess, spawn } from "node:child_process";
import { randomUUID } from "node:crypto";
import { readFileSync } from "node:fs";
import pg from "pg";
import { type CannonRequest, cannon } from "../directory/cannon.ts";
import { startPostgres } from "../support/postgres.ts";

/** Server settings of the throwaway PostgreSQL (durability off: it is thrown away). */
const PG_SETTINGS = ["fsync=off", "synchronous_commit=off", "shared_buffers=512MB", "max_wal_size=4GB"];

const args = new Set(process.argv.slice(2));
const asJson = args.has("--json");
const quick = args.has("--quick");
const scale = quick ? 10 : 1;
const PSK = `bench-psk-${randomUUID()}`;
const log = (line: string) => {
  if (!asJson) process.stdout.write(`${line}\n`);
};

interface Result {
  name: string;
  value: number;
  unit: string;
  target: number;
  pass: boolean;
  detail?: Record<string, unknown>;
}

function rssMb(pid: number): number {
  const status = readFileSync(`/proc/${pid}/status`, "utf8");
  const match = /VmRSS:\s+(\d+)\s+kB/.exec(status);
  return match ? Number(match[1]) / 1024 : Number.NaN;
}

async function freePort(): Promise<number> {
  const { createServer } = await import("node:net");
  return new Promise((resolve) => {
    const server = createServer();
    server.listen(0, "127.0.0.1", () => {
      const address = server.address();
      server.close(() => resolve(typeof address === "object" && address ? address.port : 0));
    });
  });
}

async function startServer(databaseUrl: string, service: string): Promise<{ base: string; child: ChildProcess }> {
  const port = await freePort();
  const child = spawn(process.execPath, ["src/main.ts", "serve"], {
    env: {
      ...process.env,
      GATEHOUSE_DATABASE_URL: databaseUrl,
      GATEHOUSE_PORT: String(port),
      GATEHOUSE_PSK: PSK,
      GATEHOUSE_LOG_LEVEL: "warn",
      GATEHOUSE_NX1_SERVICE: service,
      GATEHOUSE_DATABASE_POOL_SIZE: "10",
    },
    stdio: ["ignore", "ignore", "inherit"],
  });
  const base = `http://127.0.0.1:${port}`;
  for (let i = 0; i < 200; i++) {
    try {
      if ((await fetch(`${base}/readyz`)).ok) return { base, child };
    } catch {
      // not listening yet
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  child.kill();
  throw new Error("the server did not become ready");
}

function rows(prefix: string, count: number): string {
  const parts: string[] = [];
  for (let i = 0; i < count; i++) {
    parts.push(
      JSON.stringify({
        name: `${prefix}-${i}`,
        catalog: "hive",
        schemas: `${prefix}_s${i}`,
        tables: i % 3 === 0 ? "orders, items" : "*",
        groups: i % 2 === 0 ? "analysts" : "engineers",
        users: `user${i % 1000}`,
        accesses: i % 5 === 0 ? "select, show" : "select",
        labels: "bench",
      }),
    );
  }
  return `[${parts.join(",")}]`;
}

async function bulk(
  base: string,
  pid: number,
  prefix: string,
  count: number,
): Promise<{ seconds: number; peakRssGrowthMb: number; created: number; failed: number }> {
  const body = rows(prefix, count);
  const form = new FormData();
  form.append("rows", new Blob([body], { type: "application/json" }), "rows.json");
  const before = rssMb(pid);
  let peak = before;
  const sampler = setInterval(() => {
    peak = Math.max(peak, rssMb(pid));
  }, 50);
  const started = performance.now();
  const res = await fetch(`${base}/api/govern/data-access/policies/bulk`, {
    method: "POST",
    headers: { "authorization-psk": PSK },
    body: form,
  });
  const json = (await res.json()) as { created: number; failed: number; results: { error: string | null }[] };
  const seconds = (performance.now() - started) / 1000;
  clearInterval(sampler);
  if (res.status !== 200) throw new Error(`bulk answered ${res.status}: ${JSON.stringify(json).slice(0, 300)}`);
  if (json.failed > 0) log(`  first failure: ${json.results.find((r) => r.error)?.error}`);
  return { seconds, peakRssGrowthMb: peak - before, created: json.created, failed: json.failed };
}

/**
 * Waits (up to 60 s) until no autovacuum worker runs: right after 110,000 inserts PostgreSQL
 * vacuums and analyses the new tables, and latency is measured in steady state, not during that.
 */
async function settle(databaseUrl: string): Promise<number> {
  const started = performance.now();
  const client = new pg.Client({ connectionString: databaseUrl });
  await client.connect();
  try {
    for (let quiet = 0; quiet < 3 && performance.now() - started < 60_000; ) {
      const { rows } = await client.query(
        "select count(*)::int as n from pg_stat_activity where backend_type = 'autovacuum worker'",
      );
      quiet = rows[0].n === 0 ? quiet + 1 : 0;
      await new Promise((r) => setTimeout(r, 500));
    }
  } finally {
    await client.end();
  }
  return (performance.now() - started) / 1000;
}

async function main(): Promise<void> {
  const external = process.env.GATEHOUSE_BENCH_DATABASE_URL;
  const pg = external ? null : await startPostgres(PG_SETTINGS);
  const databaseUrl = external ?? (pg?.url as string);
  const service = `bench_${randomUUID().slice(0, 8)}`;
  log(
    `bench:policies on PostgreSQL (${external ? "GATEHOUSE_BENCH_DATABASE_URL" : "throwaway server"}), service ${service}${quick ? ", --quick" : ""}`,
  );
  const { base, child } = await startServer(databaseUrl, service);
  const pid = child.pid as number;
  const results: Result[] = [];
  try {
    const run = randomUUID().slice(0, 6);
    const small = 10_000 / scale;
    const large = 100_000 / scale;

    log(`bulk import of ${small} JSON rows ...`);
    const b1 = await bulk(base, pid, `b${run}a`, small);
    results.push({
      name: `bulk import ${small} rows`,
      value: b1.seconds,
      unit: "s",
      target: 5,
      pass: b1.seconds <= 5 && b1.failed === 0,
      detail: b1,
    });

    log(`bulk import of ${large} JSON rows ...`);
    const b2 = await bulk(base, pid, `b${run}b`, large);
    results.push({
      name: `bulk import ${large} rows`,
      value: b2.seconds,
      unit: "s",
      target: 60,
      pass: b2.seconds <= 60 && b2.failed === 0,
      detail: b2,
    });
    results.push({
      name: `server RSS growth during ${large}-row import`,
      value: b2.peakRssGrowthMb,
      unit: "MB",
      target: 256,
      pass: b2.peakRssGrowthMb <= 256,
      detail: { during10k: b1.peakRssGrowthMb },
    });

    const settled = await settle(databaseUrl);
    log(`waited ${settled.toFixed(1)} s for autovacuum after the imports (steady state)`);
    // Latencies are taken with autocannon over one keep-alive connection (requests one after
    // another): a much lighter client than fetch, so the client takes less of the machine.
    const headers = { "authorization-psk": PSK, "content-type": "application/json" };
    log("single policy create (Nx1 POST), 1000 sequential after 100 warm-up ...");
    const create = (tag: string): CannonRequest => ({
      method: "POST",
      path: () => "/api/govern/data-access/policies",
      body: (i) => ({
        name: `single-${run}-${tag}-${i}`,
        resources: {
          catalog: { values: ["hive"] },
          schema: { values: [`single_${run}_${tag}_${i}`] },
          table: { values: ["*"] },
        },
        policyItems: [{ groups: ["analysts"], accesses: [{ type: "select" }] }],
      }),
    });
    await cannon(base, headers, create("warm"), 100, 1, 201);
    const creates = await cannon(base, headers, create("m"), 1000, 1, 201);
    results.push({
      name: "single policy create p99",
      value: creates.p99Ms,
      unit: "ms",
      target: 20,
      pass: creates.p99Ms <= 20 && creates.errors === 0,
      detail: { p50: creates.p50Ms, p95: creates.p95Ms, max: creates.maxMs, errors: creates.errors },
    });

    const total = b1.created + b2.created + 1100;
    log(`search by resource over ${total} policies, 1000 sequential after 100 warm-up ...`);
    const searchPath = (i: number) =>
      `/v1/services/${service}/policies?resource:catalog=hive&resource:schema=b${run}b_s${(i * 7919) % large}&resource:table=orders&limit=50`;
    const search: CannonRequest = { method: "GET", path: searchPath };
    await cannon(base, headers, search, 100, 1, 200);
    const searches = await cannon(base, headers, search, 1000, 1, 200);
    const check = (await (await fetch(`${base}${searchPath(3)}`, { headers })).json()) as { total: number };
    results.push({
      name: `search by resource over ${total} policies p99`,
      value: searches.p99Ms,
      unit: "ms",
      target: 50,
      pass: searches.p99Ms <= 50 && searches.errors === 0 && check.total >= 1,
      detail: {
        p50: searches.p50Ms,
        p95: searches.p95Ms,
        max: searches.maxMs,
        errors: searches.errors,
        matchesPerQuery: check.total,
      },
    });
  } finally {
    child.kill("SIGTERM");
    await new Promise((r) => child.once("exit", r));
    pg?.stop();
  }

  const judged = !quick;
  const allPass = results.every((r) => r.pass);
  if (asJson) {
    process.stdout.write(`${JSON.stringify({ quick, pass: judged ? allPass : null, results }, null, 2)}\n`);
  } else {
    log("");
    for (const r of results) {
      const verdict = judged ? (r.pass ? "PASS" : "FAIL") : "----";
      log(
        `${verdict}  ${r.name}: ${r.value.toFixed(r.unit === "s" ? 2 : 1)} ${r.unit} (target ≤ ${r.target} ${r.unit})`,
      );
    }
    if (quick) log("(--quick: sizes divided by 10, targets not judged)");
  }
  process.exitCode = judged && !allPass ? 1 : 0;
}

await main();
