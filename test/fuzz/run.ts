/**
 * `npm run fuzz:http [-- --requests 2000 --seed 13 --family nx1]`: the HTTP fuzz of
 * `http-fuzz.test.ts` with thousands of requests per route family, against the app listening on a
 * real port (embedded database, or PostgreSQL when GATEHOUSE_TEST_DATABASE_URL is set). Prints per
 * family: requests, 5xx count (target 0), resets, the slowest response, the slowest `/healthz`
 * probe and RSS before and after. Exits 1 on any 5xx, reset, failed probe, or probe slower than
 * 100 ms.
 */
import type { AddressInfo } from "node:net";
import { parseArgs } from "node:util";
import { TEST_PSK, testApp } from "../support/test-app.ts";
import { describe, FAMILIES, type Family, type FamilyReport, fuzzFamily } from "./http-fuzz.ts";

const HEALTH_LIMIT_MS = 100;

const { values } = parseArgs({
  options: {
    requests: { type: "string", default: "2000" },
    seed: { type: "string", default: "13" },
    family: { type: "string", multiple: true },
  },
});

const mb = (bytes: number) => `${Math.round(bytes / 1024 / 1024)} MB`;

const t = await testApp();
await t.app.listen({ port: 0, host: "127.0.0.1" });
const port = (t.app.server.address() as AddressInfo).port;
const doc = (await t.app.inject({ url: "/openapi.json" })).json();
const families = (values.family ?? Object.keys(FAMILIES)) as Family[];
const reports: FamilyReport[] = [];
console.log(
  `fuzz:http seed ${values.seed}, ${values.requests} requests per family, ${process.env.GATEHOUSE_TEST_DATABASE_URL ? "PostgreSQL" : "PGlite"}`,
);
console.log("family    requests  5xx  resets  slowest(ms)  healthz probes  healthz slowest(ms)  RSS before → after");
for (const family of families) {
  const report = await fuzzFamily({
    port,
    doc,
    family,
    count: Number(values.requests),
    seed: Number(values.seed) + family.length,
    bodyLimit: t.config.bodyLimitBytes,
    auth: { "authorization-psk": TEST_PSK, "x-authentication": TEST_PSK },
  });
  reports.push(report);
  console.log(
    [
      family.padEnd(9),
      String(report.requests).padStart(8),
      String(report.serverErrors.length).padStart(4),
      String(report.resets.length).padStart(7),
      (report.slowest?.ms ?? 0).toFixed(0).padStart(12),
      String(report.healthProbes).padStart(15),
      report.healthSlowestMs.toFixed(1).padStart(20),
      `  ${mb(report.rssBefore)} → ${mb(report.rssAfter)}`,
    ].join(" "),
  );
  if (report.slowest) console.log(`          slowest: ${describe(report.slowest)}`);
  for (const o of [...report.serverErrors, ...report.resets].slice(0, 20)) console.log(`          FAIL ${describe(o)}`);
}
await t.app.close();
const failed = reports.filter(
  (r) =>
    r.serverErrors.length > 0 || r.resets.length > 0 || r.healthFailures > 0 || r.healthSlowestMs > HEALTH_LIMIT_MS,
);
if (failed.length > 0) {
  console.log(`FAILED: ${failed.map((r) => r.family).join(", ")}`);
  process.exit(1);
}
console.log("OK: no 5xx, no resets, /healthz within 100 ms throughout");
process.exit(0);
