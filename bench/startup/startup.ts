// Start-up time and idle memory of `gatehouse serve` on each database: spawns the real server,
// times process start → first 200 from /healthz, then reads the idle resident set size after 5 s.
// Usage: npm run bench:startup [-- --json]   (GATEHOUSE_BENCH_DATABASE_URL selects an existing
// PostgreSQL; otherwise the PostgreSQL case is skipped unless scripts/with-postgres.sh provides one.)
import { spawn } from "node:child_process";
import { mkdtempSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

const MAIN = new URL("../../src/main.ts", import.meta.url).pathname;
const json = process.argv.includes("--json");

interface Result {
  database: string;
  run: string;
  startupMs: number;
  idleRssMB: number;
}

async function measure(database: string, run: string, env: Record<string, string>): Promise<Result> {
  const port = 20_000 + Math.floor(Math.random() * 20_000);
  const started = performance.now();
  const child = spawn(process.execPath, [MAIN, "serve"], {
    env: {
      ...process.env,
      GATEHOUSE_PORT: String(port),
      GATEHOUSE_LOG_LEVEL: "warn",
      GATEHOUSE_PSK: "bench-startup-psk-0123456789",
      ...env,
    },
    stdio: "ignore",
  });
  try {
    let startupMs = 0;
    for (;;) {
      try {
        const res = await fetch(`http://127.0.0.1:${port}/healthz`);
        if (res.ok) {
          startupMs = performance.now() - started;
          break;
        }
      } catch {
        // not listening yet
      }
      if (performance.now() - started > 60_000) throw new Error(`${database}: no /healthz within 60 s`);
      await new Promise((r) => setTimeout(r, 20));
    }
    await new Promise((r) => setTimeout(r, 5000));
    const status = readFileSync(`/proc/${child.pid}/status`, "utf8");
    const rssKb = Number(/VmRSS:\s+(\d+)/.exec(status)?.[1] ?? 0);
    return { database, run, startupMs: Math.round(startupMs), idleRssMB: Math.round(rssKb / 1024) };
  } finally {
    child.kill("SIGTERM");
    await new Promise((r) => child.once("exit", r));
  }
}

const results: Result[] = [];
const dataDir = mkdtempSync(join(tmpdir(), "gh-bench-startup-"));
results.push(await measure("embedded", "first start (creates and migrates)", { GATEHOUSE_DATA_DIR: dataDir }));
results.push(await measure("embedded", "restart", { GATEHOUSE_DATA_DIR: dataDir }));
const pgUrl = process.env.GATEHOUSE_BENCH_DATABASE_URL;
if (pgUrl) {
  results.push(await measure("postgres", "first start (migrates)", { GATEHOUSE_DATABASE_URL: pgUrl }));
  results.push(await measure("postgres", "restart", { GATEHOUSE_DATABASE_URL: pgUrl }));
}
if (json) {
  process.stdout.write(`${JSON.stringify({ node: process.versions.node, results })}\n`);
} else {
  process.stdout.write("database  run                                  startup ms  idle RSS MB\n");
  for (const r of results) {
    process.stdout.write(
      `${r.database.padEnd(9)} ${r.run.padEnd(36)} ${String(r.startupMs).padStart(10)}  ${String(r.idleRssMB).padStart(11)}\n`,
    );
  }
  if (!pgUrl)
    process.stdout.write("(set GATEHOUSE_BENCH_DATABASE_URL to an empty PostgreSQL database to measure it too)\n");
}
