/**
 * `npm run bench:console [-- --scale 0.1]`: the admin console's speed targets of issue #17, measured
 * in headless Chromium against a real server process on PostgreSQL loaded with a large directory and
 * many policies:
 *   - first meaningful paint of each main page (navigation start → the page's list total shown) ≤ 1.5 s
 *   - p95 of a search (typing → the new total shown) and of a page change (Next → the next page shown) ≤ 300 ms
 * Sizes: 1,000,000 users, 100,000 groups and 100,000 policies × `--scale` (default 1). The directory is
 * loaded with bench/directory's loader, policies with the Nx1 bulk import bench/policies uses.
 * PostgreSQL is a throwaway server (bench/support/postgres.ts) unless GATEHOUSE_BENCH_DATABASE_URL
 * names an empty database.
 */
import { type ChildProcess, spawn, spawnSync } from "node:child_process";
import { existsSync } from "node:fs";
import { createServer } from "node:net";
import { join } from "node:path";
import type { Page } from "playwright-core";
import { openDb } from "../../src/storage/open.ts";
import { launchChromium } from "../../test/console/browser.ts";
import { loadDirectory } from "../directory/load.ts";
import { startPostgres, type ThrowawayPostgres } from "../support/postgres.ts";

const ROOT = new URL("../../", import.meta.url).pathname;
const PSK = "bench-console-psk-0123456789abcdef";
const argv = process.argv.slice(2);
const scaleAt = argv.indexOf("--scale");
const scale = scaleAt >= 0 ? Number(argv[scaleAt + 1]) : 1;
/** `--no-load`: measure again on the data a previous run loaded into GATEHOUSE_BENCH_DATABASE_URL. */
const noLoad = argv.includes("--no-load");
const SIZE = {
  users: Math.round(1_000_000 * scale),
  groups: Math.round(100_000 * scale),
  policies: Math.round(100_000 * scale),
};
const FMP_TARGET_MS = 1500;
const CHANGE_TARGET_MS = 300;
const log = (line: string) => console.log(line);

async function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const s = createServer().listen(0, "127.0.0.1", () => {
      const port = (s.address() as { port: number }).port;
      s.close(() => resolve(port));
    });
  });
}

async function startServer(databaseUrl: string): Promise<{ base: string; child: ChildProcess }> {
  const port = await freePort();
  const child = spawn(process.execPath, [join(ROOT, "src", "main.ts"), "serve"], {
    env: {
      ...process.env,
      GATEHOUSE_DATABASE_URL: databaseUrl,
      GATEHOUSE_PORT: String(port),
      GATEHOUSE_LOG_LEVEL: "warn",
      GATEHOUSE_PSK: PSK,
      GATEHOUSE_AUTH_FAILURE_LIMIT: "1000000",
    },
    stdio: "inherit",
  });
  const base = `http://127.0.0.1:${port}`;
  for (let i = 0; i < 1200; i++) {
    if (
      await fetch(`${base}/healthz`).then(
        (r) => r.ok,
        () => false,
      )
    )
      return { base, child };
    await new Promise((r) => setTimeout(r, 100));
  }
  child.kill();
  throw new Error("gatehouse serve did not become healthy");
}

/** Nx1 bulk import (the loader bench/policies uses), in chunks of 20,000 rows. */
async function loadPolicies(base: string, count: number): Promise<void> {
  for (let from = 0; from < count; from += 20_000) {
    const rows: string[] = [];
    for (let i = from; i < Math.min(count, from + 20_000); i++) {
      rows.push(
        JSON.stringify({
          name: `bench-${i}`,
          catalog: "hive",
          schemas: `s${i}`,
          tables: i % 3 === 0 ? "orders, items" : "*",
          groups: i % 2 === 0 ? "analysts" : "engineers",
          users: `user${i % 1000}`,
          accesses: "select",
          labels: "bench",
        }),
      );
    }
    const form = new FormData();
    form.append("rows", new Blob([`[${rows.join(",")}]`], { type: "application/json" }), "rows.json");
    const res = await fetch(`${base}/api/govern/data-access/policies/bulk`, {
      method: "POST",
      headers: { "authorization-psk": PSK },
      body: form,
    });
    if (res.status !== 200) throw new Error(`bulk import answered ${res.status}: ${(await res.text()).slice(0, 300)}`);
  }
}

const p95 = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.ceil(xs.length * 0.95) - 1)];

/** Navigation start → the list's total is on screen (the page's meaningful content). */
async function firstPaint(page: Page, url: string, ready: string): Promise<number> {
  const t0 = performance.now();
  await page.goto(url, { waitUntil: "commit" });
  await page.getByText(new RegExp(ready)).first().waitFor({ timeout: 60_000 });
  return performance.now() - t0;
}

/** Types each term into the list's search box and times until the new total is shown. */
async function searches(page: Page, label: string, terms: string[]): Promise<number[]> {
  const box = page.getByLabel(`Search ${label}`);
  const out: number[] = [];
  for (const term of terms) {
    const t0 = performance.now();
    await box.fill(term);
    await page.getByText(`matching “${term}”`).first().waitFor({ timeout: 60_000 });
    out.push(performance.now() - t0);
  }
  return out;
}

/** Clicks Next `n` times and times each until the next page number is shown. */
async function pageChanges(page: Page, n: number): Promise<number[]> {
  const out: number[] = [];
  for (let i = 0; i < n; i++) {
    const t0 = performance.now();
    await page.getByRole("button", { name: "Next" }).click();
    await page.getByText(new RegExp(`^Page ${i + 2} of`)).waitFor({ timeout: 60_000 });
    await page.locator('table[aria-busy="false"]').first().waitFor({ timeout: 60_000 });
    out.push(performance.now() - t0);
  }
  return out;
}

/** The same list requests straight to the API (no browser): the baseline of this machine, this run. */
async function apiTimes(base: string, path: string, queries: Record<string, string>[]): Promise<number[]> {
  const out: number[] = [];
  for (const q of queries) {
    const t0 = performance.now();
    const res = await fetch(`${base}${path}?${new URLSearchParams({ limit: "25", ...q })}`, {
      headers: { "authorization-psk": PSK },
    });
    await res.arrayBuffer();
    out.push(performance.now() - t0);
  }
  return out;
}

let pg: ThrowawayPostgres | undefined;
let server: ChildProcess | undefined;
try {
  if (!existsSync(join(ROOT, "console", "dist", "index.html"))) {
    spawnSync(process.execPath, [join(ROOT, "scripts", "build-console.ts")], { stdio: "inherit" });
  }
  let url = process.env.GATEHOUSE_BENCH_DATABASE_URL;
  if (!url) {
    pg = await startPostgres();
    url = pg.url;
  }
  log(
    `bench:console: ${SIZE.users.toLocaleString("en")} users, ${SIZE.groups.toLocaleString("en")} groups, ${SIZE.policies.toLocaleString("en")} policies (scale ${scale})`,
  );
  if (!noLoad) {
    const db = await openDb({ databaseUrl: url, poolSize: 4 });
    const { migrate } = await import("../../src/storage/migrate.ts");
    await migrate(db);
    const t0 = performance.now();
    await loadDirectory(db, { users: SIZE.users, groups: SIZE.groups, membershipsPerUser: 3 }, log, scale);
    await db.close();
    log(`directory loaded in ${((performance.now() - t0) / 1000).toFixed(1)} s`);
  }
  const started = await startServer(url);
  server = started.child;
  if (!noLoad) {
    const t1 = performance.now();
    await loadPolicies(started.base, SIZE.policies);
    log(`policies loaded in ${((performance.now() - t1) / 1000).toFixed(1)} s`);
  }
  // the loader makes its own organisation: the console's directory pages take it as `?org=`
  const orgs = (await (
    await fetch(`${started.base}/v1/orgs?limit=1000`, { headers: { "authorization-psk": PSK } })
  ).json()) as { items: { id: string; name: string }[] };
  const org = orgs.items.filter((o) => o.name.startsWith("bench-")).at(-1)?.id ?? "";
  const q = `?org=${org}`;

  const base = started.base;
  const browser = await launchChromium();
  const page = await browser.newPage({ viewport: { width: 1280, height: 800 } });
  await page.goto(`${base}/console/`);
  await page.getByLabel("Key").fill(PSK);
  await page.getByRole("button", { name: "Sign in", exact: true }).click();
  await page.getByRole("heading", { name: "Overview" }).waitFor({ timeout: 60_000 });

  const rows: { what: string; ms: number; target: number }[] = [];
  const pages: [string, string, string][] = [
    ["overview", "/console/", "^[0-9,]+$"],
    ["groups", `/console/groups${q}`, "^[0-9,]+ groups$"],
    ["users", `/console/users${q}`, "^[0-9,]+ users$"],
    ["policies (trino)", "/console/policies/trino", "^[0-9,]+ policies$"],
    ["audit", "/console/audit", "^[0-9,]+ admin events$"],
  ];
  for (const [name, path, ready] of pages) {
    await firstPaint(page, base + path, ready); // warm-up: code and caches
    const runs = [];
    for (let i = 0; i < 5; i++) runs.push(await firstPaint(page, base + path, ready));
    rows.push({ what: `first meaningful paint: ${name} (p95 of 5)`, ms: p95(runs), target: FMP_TARGET_MS });
    log(
      `  ${name}: ${p95(runs).toFixed(0)} ms (${(await page.getByText(new RegExp(ready)).first().textContent()) ?? ""})`,
    );
  }
  await firstPaint(page, `${base}/console/users${q}`, "^[0-9,]+ users$");
  const terms = Array.from(
    { length: 20 },
    (_, i) => `user${String((i * 7919) % Math.max(1, SIZE.users)).padStart(7, "0")}`,
  );
  rows.push({
    what: "users: search p95 (20 searches)",
    ms: p95(await searches(page, "users", terms)),
    target: CHANGE_TARGET_MS,
  });
  await firstPaint(page, `${base}/console/users${q}`, "^[0-9,]+ users$");
  rows.push({
    what: "users: page change p95 (20 pages)",
    ms: p95(await pageChanges(page, 20)),
    target: CHANGE_TARGET_MS,
  });
  await firstPaint(page, `${base}/console/groups${q}`, "^[0-9,]+ groups$");
  const gterms = Array.from({ length: 20 }, (_, i) => `team-${String(i * 37).padStart(6, "0")}`);
  rows.push({
    what: "groups: search p95 (20 searches)",
    ms: p95(await searches(page, "groups", gterms)),
    target: CHANGE_TARGET_MS,
  });
  await firstPaint(page, `${base}/console/policies/trino`, "^[0-9,]+ policies$");
  rows.push({
    what: "baseline: API user search p95 (no browser)",
    ms: p95(
      await apiTimes(
        started.base,
        "/v1/users",
        terms.map((t) => ({ orgId: org, q: t })),
      ),
    ),
    target: CHANGE_TARGET_MS,
  });
  const pterms = Array.from({ length: 20 }, (_, i) => `bench-${i * 37}`);
  rows.push({
    what: "policies: search p95 (20 searches)",
    ms: p95(await searches(page, "policies", pterms)),
    target: CHANGE_TARGET_MS,
  });
  await firstPaint(page, `${base}/console/policies/trino`, "^[0-9,]+ policies$");
  rows.push({
    what: "policies: page change p95 (20 pages)",
    ms: p95(await pageChanges(page, 20)),
    target: CHANGE_TARGET_MS,
  });
  rows.push({
    what: "baseline: API policy search p95 (no browser)",
    ms: p95(
      await apiTimes(
        started.base,
        "/v1/services/trino/policies",
        pterms.map((t) => ({ policyNamePartial: t })),
      ),
    ),
    target: CHANGE_TARGET_MS,
  });
  const loadavg = (await import("node:os")).loadavg()[0];
  log(`(load average during the run: ${loadavg.toFixed(1)} on ${(await import("node:os")).cpus().length} cores)`);
  await browser.close();

  log("");
  log(`${"measure".padEnd(48)} ${"ms".padStart(8)} ${"target".padStart(8)}  verdict`);
  for (const r of rows) {
    log(
      `${r.what.padEnd(48)} ${r.ms.toFixed(0).padStart(8)} ${String(r.target).padStart(8)}  ${r.ms <= r.target ? "meets" : "MISSES"}`,
    );
  }
  if (scale < 1) log(`(at scale ${scale}: the full-size targets are not judged by this run)`);
} finally {
  server?.kill();
  await pg?.stop();
}
